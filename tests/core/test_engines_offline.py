"""OpenVINO sends nothing anywhere. A fresh interpreter, without the variables that keep OpenVINO's
telemetry quiet in CI (so that CI alone would prove nothing) and with a home folder of its own,
forbids sockets and records every socket and fork event from an audit hook (a forked child writes
to the same file) while it imports OpenVINO through the project, builds an engine and runs it: no
event, the telemetry package never imported, the home folder left empty. The same script with a
plain ``import openvino`` first shows that the check sees what the project blocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.core.inference import engines
from explorer.core.inference.classifier import fold_batchnorm
from explorer.core.inference.engines import onnx_graph
from explorer.core.network.model import ResNet

pytestmark = pytest.mark.skipif(not engines.installed("openvino"), reason="openvino is not installed")

_SCRIPT = r"""
import json, os, socket, sys

log = open(sys.argv[1], "a", buffering=1)
WATCHED = ("socket.", "os.fork", "os.posix_spawn", "os.exec", "subprocess.Popen")

def audit(event, args):
    if event.startswith(WATCHED):
        log.write(f"{os.getpid()} {event} {args!r}\n")
        if event.startswith("socket."):
            raise OSError("sockets are forbidden in this test")

sys.addaudithook(audit)

class Forbidden(socket.socket):
    def __init__(self, *args, **kwargs):
        raise OSError("sockets are forbidden in this test")

socket.socket = Forbidden
if sys.argv[3] == "plain":
    import openvino
import time
import numpy as np
from explorer.core.inference.runtimes import OpenVinoEngine

logits = OpenVinoEngine(open(sys.argv[2], "rb").read(), "fp32").run(np.zeros((1, 3, 32, 32), np.float32))
time.sleep(1.5)  # a sender in a forked process has had time to start
print(json.dumps({"shape": list(logits.shape), "telemetry": sys.modules.get("openvino_telemetry") is not None}))
"""


def _run(tmp_path: Path, graph: Path, mode: str) -> tuple[dict, list[str], list[Path]]:
    home, log = tmp_path / f"home-{mode}", tmp_path / f"events-{mode}.log"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(log), str(graph), mode], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    events = log.read_text().splitlines() if log.exists() else []
    return json.loads(done.stdout.strip().splitlines()[-1]), events, list(home.rglob("*"))


def test_openvino_loads_and_runs_an_engine_without_a_socket_or_a_telemetry_file(tmp_path):
    graph = tmp_path / "resnet18.onnx"
    graph.write_bytes(b"".join(onnx_graph.onnx_model(fold_batchnorm(ResNet("resnet18", seed=0).eval()))))
    result, events, written = _run(tmp_path, graph, "project")
    assert result == {"shape": [1, 1000], "telemetry": False}
    assert events == [] and written == []
    # The check sees the upstream behaviour: a plain `import openvino` sends an event (here stopped
    # by the hook) unless the telemetry package is blocked as the project blocks it.
    _, plain_events, _ = _run(tmp_path, graph, "plain")
    assert any("socket.getaddrinfo" in e for e in plain_events)
