"""Run the soak session (``tests/soak/session.py``) as its own process on a real X display and judge
it: it fails on a crash (an exit by signal or a non-zero status), on any Python exception or Qt
warning on stderr, on a window larger than the screen, or if it ends sooner than asked.

    python tests/soak/run.py --minutes 2 --out shots/

Without a DISPLAY it starts Xvfb itself (1600x1000, 24 bit) and xdotool must be installed; `.ci/run`
installs both. The session's screenshots land in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCREEN = "1600x1000x24"


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(90, 130):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, f":{number}"
            time.sleep(0.1)
        server.kill()
    raise SystemExit("soak: could not start Xvfb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("shots"))
    args = parser.parse_args()
    for tool in ("xdotool", "import") + (() if os.environ.get("DISPLAY") else ("Xvfb",)):
        if shutil.which(tool) is None:
            print(f"soak: {tool} is not installed (apt-get install xvfb xdotool imagemagick)", file=sys.stderr)
            return 2
    server = None
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # the real xcb window, not offscreen
    if not env.get("DISPLAY"):
        server, env["DISPLAY"] = start_xvfb()
    env["XDG_CONFIG_HOME"] = str(args.out.resolve() / "config")  # a first start, nothing remembered
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "session.py"), "--out", str(args.out), "--minutes", str(args.minutes)],
            env=env, stderr=subprocess.PIPE, text=True, timeout=60 * args.minutes + 900,
        )
    finally:
        if server is not None:
            server.terminate()
    elapsed = time.monotonic() - started
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    failed = False
    if proc.returncode < 0:
        print(f"soak: FAILED: the app was killed by signal {-proc.returncode} (a crash)", file=sys.stderr)
        failed = True
    elif proc.returncode != 0:
        print(f"soak: FAILED: the session exited with status {proc.returncode}", file=sys.stderr)
        failed = True
    if errors:
        print("soak: FAILED: stderr was not empty:\n" + "\n".join(errors[-60:]), file=sys.stderr)
        failed = True
    if elapsed < 60 * args.minutes:
        print(f"soak: FAILED: ended after {elapsed:.0f} s, before its {args.minutes:g} minutes", file=sys.stderr)
        failed = True
    print(f"soak: {'FAILED' if failed else 'passed'} after {elapsed:.0f} s; screenshots in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
