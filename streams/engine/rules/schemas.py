"""The rule lists of the JSON Schemas, generated from the declarations.

``schemas/`` is the contract consumers read, so it names every rule; this module writes those
names from ``RULES`` instead of a person keeping three lists in step:

* alert.schema.json: ``properties.rule.enum``;
* policy.schema.json: ``$defs.rule.enum`` (``disabled_rules``), the ``[rules]`` table's
  ``properties`` (one ``{severity, basis}`` table per rule) and ``required`` (the rules declared
  ``required``).

``python -m streams.engine.rules --write-schemas`` rewrites them; a unit test fails while they are
not up to date (``tests/unit/engine/rules/test_registry.py``). Only those lists change: the rest of
each file stays byte for byte (alert.schema.json is hand-formatted, so its enum is replaced as text).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from streams.engine.rules.registry import RULES

ALERT = "alert.schema.json"
POLICY = "policy.schema.json"

_ALERT_RULE_ENUM = re.compile(r'("rule": \{\s*"enum": \[)([^\]]*)(\])')


def _wrapped(names: list[str], indent: str, width: int = 104) -> str:
    """``"a", "b", ...`` over lines of fewer than ``width`` characters (the layout of the file)."""
    lines: list[str] = []
    line = ""
    for text in (json.dumps(name) for name in names):
        candidate = f"{line}, {text}" if line else text
        if line and len(indent) + len(candidate) + 1 > width:
            lines.append(line + ",")
            line = text
        else:
            line = candidate
    lines.append(line)
    return "".join(f"\n{indent}{entry}" for entry in lines)


def alert_schema_text(text: str) -> str:
    """alert.schema.json's text with ``rule``'s enum listing every declared rule."""
    names = list(RULES)
    match = _ALERT_RULE_ENUM.search(text)
    if match is None:
        raise ValueError(f'{ALERT}: no "rule": {{"enum": [...]}} to rewrite')
    closing = match.group(2).rsplit("\n", 1)[-1] if "\n" in match.group(2) else ""
    body = _wrapped(names, " " * 8) + "\n" + closing
    return text[: match.start(2)] + body + text[match.end(2) :]


def policy_schema(document: dict[str, Any]) -> dict[str, Any]:
    """policy.schema.json with the rule lists of the declarations."""
    out = copy.deepcopy(document)
    names = list(RULES)
    out["$defs"]["rule"]["enum"] = names
    table = out["properties"]["rules"]
    shape = next(iter(table["properties"].values()))  # every rule's table has this one shape
    table["properties"] = {name: copy.deepcopy(shape) for name in names}
    table["required"] = [name for name, rule in RULES.items() if rule.required]
    return out


def policy_schema_text(text: str) -> str:
    return json.dumps(policy_schema(json.loads(text)), indent=2, ensure_ascii=False) + "\n"


def generated(directory: Path) -> dict[Path, str]:
    """Each schema file holding a rule list, with the text it should have."""
    alert = directory / ALERT
    policy = directory / POLICY
    return {
        alert: alert_schema_text(alert.read_text(encoding="utf-8")),
        policy: policy_schema_text(policy.read_text(encoding="utf-8")),
    }


def stale(directory: Path) -> list[Path]:
    """The schema files whose rule lists differ from the declarations."""
    return [
        path
        for path, text in generated(directory).items()
        if path.read_text(encoding="utf-8") != text
    ]


def write(directory: Path) -> list[Path]:
    """Rewrite the stale schema files; returns them."""
    changed = stale(directory)
    texts = generated(directory)
    for path in changed:
        path.write_text(texts[path], encoding="utf-8")
    return changed
