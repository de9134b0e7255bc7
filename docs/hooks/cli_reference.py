"""The command-line reference page, written at build time from the program's own argparse parser
(``explorer.cli.build_parser``), so the site cannot drift from ``resnet-explorer --help``.

An MkDocs hook (``hooks:`` in mkdocs.yml): ``on_files`` adds the generated page ``cli.md``.
:func:`reference_markdown` needs no MkDocs and is what tests/test_docs.py checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = "cli.md"  # the generated page's path inside docs/
WIDTH = 100  # usage lines are wrapped at this width, whatever the terminal that builds the site


def _parser() -> argparse.ArgumentParser:
    # The checkout's parser, not an installed copy's: the site documents the code beside it.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from explorer.cli import build_parser

    return build_parser()


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code_cell(text: str) -> str:
    """Code for one Markdown table cell: one line in backticks. A pipe inside a code span does not
    split the row, and an escaped one would show its backslash (``noise|IMAGE``)."""
    return "`" + " ".join(text.split()) + "`"


def _invocation(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._format_action_invocation(action)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._expand_help(action) if action.help else ""


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _command_section(name: str, summary: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f"## `resnet-explorer {name}`", "", summary[:1].upper() + summary[1:] + ".", ""]
    if parser.description and parser.description != summary:
        lines += [parser.description, ""]
    lines += ["```text", _usage(parser), "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
        if not actions:
            continue
        title = group.title[:1].upper() + group.title[1:]
        lines += [f"**{title}**", "", "| argument | meaning |", "|---|---|"]
        lines += [f"| {_code_cell(_invocation(parser, a))} | {_cell(_help(parser, a))} |" for a in actions]
        lines.append("")
    return lines


def reference_markdown() -> str:
    """The whole reference page: every subcommand of ``resnet-explorer --help``, in its order, with
    its usage and every argument's help."""
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    summaries = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    lines = [
        "# Command-line reference",
        "",
        "Generated from the program's own argument parser each time the site is built, so it says exactly",
        "what `resnet-explorer COMMAND --help` says. Examples, the JSON each command prints and the exit",
        "status are on [Commands](commands.md).",
        "",
        "```text",
        _usage(parser),
        "```",
        "",
        parser.description or "",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{name}`](#resnet-explorer-{name}) | {_cell(summaries.get(name, ''))} |" for name in sub.choices]
    lines.append("")
    for name, command_parser in sub.choices.items():
        lines += _command_section(name, summaries.get(name, ""), command_parser)
    return "\n".join(lines) + "\n"


def on_files(files, config):  # MkDocs' hook signature
    """MkDocs event: add the generated reference to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=reference_markdown()))
    return files
