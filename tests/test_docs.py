"""The README and the documentation site stay true to the program: the README is short and opens
with the two set-up commands CI runs, the generated CLI reference has every command and option of the
parser, every picture and link a page shows exists, every page is in the navigation, the site's
address is the same fact everywhere, and (where MkDocs is installed) the site builds with warnings
as errors."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import explorer
from explorer.cli import build_parser, command_parsers

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
FIRST_COMMAND = "pip install -e . && resnet-explorer"
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -q"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")  # ![alt](path "title")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+)(?:#[^)\s]*)?\)")  # [text](path#anchor)


def reference_markdown() -> str:
    """The CLI reference exactly as the site's build hook writes it."""
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "hooks" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference_markdown()


def pages() -> list[Path]:
    """Every Markdown page of the site (the hook and the screenshot scripts are not pages)."""
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)


def mkdocs_setting(name: str) -> str:
    match = re.search(rf"^{name}:\s*(\S+)\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"mkdocs.yml has no {name}"
    return match.group(1)


def nav_pages() -> list[str]:
    """The pages named in mkdocs.yml's nav, in order (read without YAML: the test extra has none)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:\n"):]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.MULTILINE)


def test_the_readme_is_short_and_opens_with_the_two_commands_ci_runs():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines"
    blocks = re.findall(r"^```\w*\n(.*?)\n```", "\n".join(lines), re.MULTILINE | re.DOTALL)
    assert blocks[:2] == [FIRST_COMMAND, TEST_COMMAND]
    assert lines.index(TEST_COMMAND) < 20  # on the first screen
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pattern = re.search(r'grep -m1 -E "([^"]+)" README\.md', ci).group(1)
    assert next(line for line in lines if re.match(pattern, line)) == TEST_COMMAND  # what CI runs


def test_the_readme_names_every_command_and_links_only_to_what_exists():
    readme = README.read_text(encoding="utf-8")
    for name in command_parsers(build_parser()):
        assert f"resnet-explorer {name}`" in readme, name
    links = LINK.findall(readme)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    for link in local:
        assert (ROOT / link).exists(), f"README.md links to {link}, which does not exist"
    assert explorer.DOCS_URL in readme


def test_the_cli_reference_has_every_command_with_every_option():
    reference = reference_markdown()
    parsers = command_parsers(build_parser())
    assert len(parsers) >= 12
    sections = re.split(r"^## ", reference, flags=re.MULTILINE)[1:]
    by_command = {re.match(r"`resnet-explorer (\w+)`", s).group(1): s for s in sections}
    assert list(by_command) == list(parsers)  # every command, in --help's order, and nothing else
    for name, parser in parsers.items():
        section = by_command[name]
        shown = [a for a in parser._actions if a.help != argparse.SUPPRESS and "-h" not in a.option_strings]
        assert shown, name
        for action in shown:
            for word in action.option_strings or [action.metavar or action.dest]:
                assert f"`{word}" in section or f" {word}" in section, f"{name}: {word} is not in its reference"


def test_every_picture_a_page_shows_exists_and_every_picture_is_shown():
    shown = set()
    for page in [*pages(), README]:
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.relative_to(ROOT)} shows {target}, which does not exist"
            shown.add(path)
    pictures = {p.resolve() for p in (DOCS / "images").iterdir() if p.suffix == ".png"}
    assert pictures and pictures <= shown, f"not shown on any page: {sorted(p.name for p in pictures - shown)}"


def test_every_page_is_in_the_navigation_and_every_entry_is_a_page():
    nav = nav_pages()
    files = {str(p.relative_to(DOCS)) for p in pages()}
    generated = {"cli.md"}  # written by docs/hooks/cli_reference.py at build time
    assert len(nav) == len(set(nav))
    assert set(nav) == files | generated, f"only in docs/: {files - set(nav)}; only in nav: {set(nav) - files - generated}"


def test_the_site_address_is_one_fact():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    documentation = re.search(r'^Documentation = "([^"]+)"$', pyproject, re.MULTILINE).group(1)
    assert explorer.DOCS_URL.startswith("https://")
    assert mkdocs_setting("site_url") == documentation == explorer.DOCS_URL


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING -" not in proc.stderr  # strict mode fails on warnings; this says which
    reference = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for name in command_parsers(build_parser()):
        assert f"resnet-explorer {name}" in reference, name
    for page in nav_pages():
        assert (site / page.removesuffix(".md").replace("index", "") / "index.html").is_file(), page
