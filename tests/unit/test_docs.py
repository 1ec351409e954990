"""The README and docs/ say only true things about the code: every test they cite exists, every
`holdwatch` command line they show parses, and every subcommand is in the README's table.

Why: the docs name tests as the evidence of each claim ("each shown by a test") and show command
lines for people to paste; a renamed test or flag silently turns a claim into an unsupported
one. Fails on the starting main: its README's command table lacks `health`, `report-bounds` and
`overlay-check`.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

from streams.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]

#: `tests/x/test_y.py`, optionally `::Name` or `::Class::name` (a `[param]` id is ignored), and the
#: bare `::name` that continues the last file named before it ("all in tests/.../test_x.py").
REFERENCE = re.compile(
    r"(?P<file>tests/[\w/]+\.py)(?P<names>(?:::\w+)*)|(?<![\w/.])(?P<bare>(?:::\w+)+)"
)


def _references(text: str) -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []
    last: str | None = None
    for m in REFERENCE.finditer(text):
        if m["file"]:
            last = m["file"]
            found.append((last, tuple(m["names"].split("::")[1:])))
        elif last is not None:
            found.append((last, tuple(m["bare"].split("::")[1:])))
    return found


@cache
def _definitions(path: Path) -> dict[str, set[str]]:
    """Top-level functions and classes of a test module, each class with its members."""
    tree = ast.parse(path.read_text())
    defs: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            defs[node.name] = {
                n.name
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            }
    return defs


def _problems(file: str, names: tuple[str, ...]) -> str | None:
    path = ROOT / file
    if not path.is_file():
        return f"{file}: no such file"
    if not names:
        return None
    defs = _definitions(path)
    if names[0] not in defs:
        return f"{file}::{names[0]}: no such test or class"
    if len(names) > 1 and names[1] not in defs[names[0]]:
        return f"{file}::{'::'.join(names[:2])}: no such test in the class"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_test_the_docs_cite_exists(doc: Path) -> None:
    problems = {p for file, names in _references(doc.read_text()) if (p := _problems(file, names))}
    assert not problems, "\n".join(sorted(problems))


def test_the_reference_reader_catches_a_missing_test() -> None:
    """The check above is not vacuous: a wrong name, class member or file is reported."""
    text = (
        "`tests/unit/test_docs.py::test_every_test_the_docs_cite_exists`, "
        "`::test_nothing_of_the_kind`, `tests/unit/nowhere.py`"
    )
    problems = [p for file, names in _references(text) if (p := _problems(file, names))]
    assert problems == [
        "tests/unit/test_docs.py::test_nothing_of_the_kind: no such test or class",
        "tests/unit/nowhere.py: no such file",
    ]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _command_table() -> list[str]:
    """First cells of the README's command table: `holdwatch ...` usage lines."""
    return re.findall(r"^\| `(holdwatch [^`]+)` \|", README.read_text(), re.M)


def test_every_subcommand_is_in_the_readme_command_table() -> None:
    listed = {row.split()[1] for row in _command_table()}
    assert set(_subcommands(build_parser())) - listed == set()


@pytest.mark.parametrize("row", _command_table())
def test_every_flag_in_the_command_table_exists(row: str) -> None:
    words = row.replace("\\|", "|").split()[1:]
    parser = _subcommands(build_parser())[words[0]]
    if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]):  # topics create, alerts tail
        parser = _subcommands(parser)[words[1]]
    known = {s for a in parser._actions for s in a.option_strings}
    flags = set(re.findall(r"--[a-z][a-z-]*", row))
    assert flags - known == set(), f"{row}: not flags of this command"


def _shown_command_lines() -> list[str]:
    lines: list[str] = []
    for doc in DOCS:
        for block in re.findall(r"^```sh\n(.*?)^```", doc.read_text(), re.M | re.S):
            for line in block.splitlines():
                line = line.split("  #", 1)[0].strip()
                if line.startswith("holdwatch "):
                    lines.append(line)
    return lines


@pytest.mark.parametrize("line", _shown_command_lines())
def test_every_holdwatch_command_line_shown_parses(line: str) -> None:
    """Parsed, not run: the flags and arguments as written are accepted."""
    build_parser().parse_args(shlex.split(line)[1:])


def test_the_readme_opens_with_the_demo_and_the_tests() -> None:
    """The first two commands a reader meets: install and demo, install and tests."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.M | re.S)
    assert blocks[0].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/holdwatch demo"
    )
    assert blocks[1].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    )


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_section_lands_on_a_heading(doc: Path) -> None:
    """A renamed heading breaks every `[...](file.md#section)` that points at it, silently."""
    problems = []
    for target, anchor in re.findall(r"\]\(([\w./-]*\.md|)#([\w-]+)\)", doc.read_text()):
        path = (doc.parent / target) if target else doc
        if not path.is_file():
            problems.append(f"{target}: no such file")
            continue
        headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
        if anchor not in {_anchor(h) for h in headings}:
            problems.append(f"{target or doc.name}#{anchor}: no such heading")
    assert not problems, "\n".join(problems)
