"""The layering docs/architecture.md promises, read from the code's own imports."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "streams"
KAFKA_CLIENTS = ("faust", "aiokafka", "kafka", "mode")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(*parts: str) -> list[Path]:
    """The package's Python files under ``parts`` (all of them without)."""
    target = PACKAGE.joinpath(*parts)
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def offenders(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in paths
        for name in sorted(imports_of(path))
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    ]


@pytest.mark.parametrize("package", ["engine", "contract", "policy"])
def test_the_core_imports_no_kafka_client_and_no_driver(package: str) -> None:
    forbidden = (*KAFKA_CLIENTS, "streams.streaming", "streams.kafka", "streams.cli")
    assert offenders(files(package), forbidden) == []


def test_the_contract_knows_nothing_of_the_engine() -> None:
    assert offenders(files("contract"), ("streams.engine",)) == []


@pytest.mark.parametrize(
    "module", ["headers.py", "partition.py", "stamp.py", "control.py", "merge.py", "sequence.py"]
)
def test_the_streaming_protocol_core_is_pure(module: str) -> None:
    assert offenders(files("streaming", module), KAFKA_CLIENTS) == []


def test_the_policy_model_is_plain_data_the_engine_builds_on() -> None:
    """The rules are declared in the engine and the policy loader reads them from there, so the
    direction is model <- engine <- loader: the model (and the engine) must never import the
    loader's side, or the packages would import each other in a cycle."""
    assert offenders(files("policy", "model.py"), ("streams.engine",)) == []
    assert offenders(files("engine"), ("streams.policy.load",)) == []


def test_the_case_is_data_that_knows_nothing_of_rules_or_alerts() -> None:
    """On the starting main case.py imported the rules (for the cached findings' type)."""
    assert offenders(files("engine", "case.py"), ("streams.engine",)) == []


def test_only_the_cli_imports_the_cli() -> None:
    """The CLI sits on top: no lower layer may import it (on main, privacy, keys and the
    streaming driver imported ``streams.cli.errors`` for ``UsageError``, now ``streams.errors``;
    through privacy the pure contract reached the CLI)."""
    lower = [path for path in sorted(PACKAGE.rglob("*.py")) if path.parent.name != "cli"]
    lower.remove(PACKAGE / "__main__.py")  # ``python -m streams`` is the CLI's entry point
    assert offenders(lower, ("streams.cli",)) == []


def shadowed_builtins(path: Path) -> list[str]:
    """Names that hide a builtin where code reads them bare: module-level functions and classes,
    parameters and imports (a method such as ``logging.Filter.filter`` is an attribute: fine)."""
    hidden = set(dir(builtins))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: list[tuple[int, str]] = [
        (node.lineno, node.name)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            every = [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]
            bound.extend((arg.lineno, arg.arg) for arg in every if arg is not None)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.extend(
                (node.lineno, alias.asname or alias.name.split(".")[0]) for alias in node.names
            )
    where = path.relative_to(PACKAGE.parent)
    return [f"{where}:{line} {name}" for line, name in bound if name in hidden]


def test_no_module_hides_a_builtin() -> None:
    """``timestamps.format`` (imported bare as ``format`` by the engine) hid the builtin on
    main, and ``make_event(type, ...)`` did; ruff's A rules (pyproject) keep it so, this says why."""
    assert [hit for path in files() for hit in shadowed_builtins(path)] == []


#: Names vulture cannot see used: set for or called by a framework, or a signature's parameter.
USED_FROM_OUTSIDE = {
    "frame": "signal handler and __exit__ signatures",
    "exc_type": "__exit__ signature",
    "tb": "__exit__ signature",
    "sender": "Faust signal receivers' signature",
    "exc_text": "logging.LogRecord attribute, read by the formatter",
    "caption": "rich.Table attribute, read when rendering",
    "caption_justify": "rich.Table attribute, read when rendering",
    "spinner": "Faust worker attribute",
    "quiet_outage_logs": "a Faust task, registered by its decorator",
    "_new_consumer_thread": "Faust's factory method, overridden (streaming/transport.py)",
    "_new_transport": "Faust's factory method, overridden (streaming/transport.py)",
    "_seek": "called by Faust's Consumer.seek, overridden (streaming/transport.py)",
}


def test_nothing_in_the_package_is_unused() -> None:
    """Dead code is removed, not kept "just in case": vulture over the package, its tests and
    the benchmarks finds nothing in ``streams`` that nothing uses. (On main: ``rule_names``,
    ``EmitFactory``, ``PartitionWatermarks``, ``format_duration``, ``CUSTODY_END_PHASES``, the
    event TypedDicts, counters nothing read, a kept copy of the pseudonym key, ...)"""
    import vulture

    scan = vulture.Vulture(ignore_names=sorted(USED_FROM_OUTSIDE))
    root = PACKAGE.parent
    scan.scavenge([str(root / "streams"), str(root / "tests"), str(root / "bench")])
    unused = [
        f"{Path(item.filename).relative_to(root)}:{item.first_lineno} {item.message}"
        for item in scan.get_unused_code(min_confidence=60)
        if Path(item.filename).is_relative_to(PACKAGE)
    ]
    assert unused == []
