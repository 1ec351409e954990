"""Read and check a TOML policy file; every mistake is one clear :class:`PolicyError` line."""

from __future__ import annotations

import tomllib
import zoneinfo
from importlib import resources
from pathlib import Path
from typing import Any

import holidays

from streams.policy.durations import parse_duration
from streams.policy.model import (
    RULES,
    Calendar,
    HoldLimit,
    Jurisdiction,
    NonPriority,
    Policy,
    RuleInfo,
)

FORMS = ("I-247-2011", "I-247A-2017")
LEVELS = {"L1", "L2", "L3", "none"}
CATEGORIES = {"violent", "drug", "property", "traffic", "immigration", "other"}


class PolicyError(ValueError):
    """The policy file cannot be used."""


def default_policy_text() -> str:
    return (resources.files("streams.policy") / "default.toml").read_text(encoding="utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The shipped default, or ``path`` replacing it as a whole."""
    if path is None:
        return parse_policy(default_policy_text(), source="<default>")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {file}: {exc.strerror}") from None
    return parse_policy(text, source=str(file))


def parse_policy(text: str, source: str = "<string>") -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _build(raw, source)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(exc, KeyError):
            message = f"missing setting {message}"
        raise PolicyError(f"{source}: {message}") from None


def _build(raw: dict[str, Any], source: str) -> Policy:
    _only(raw, "top level", {"engine", "calendar", "hold_limit", "copy_service", "non_priority",
                             "rules", "jurisdictions"})
    engine = _table(raw, "engine")
    _only(engine, "[engine]", {"allowed_lateness", "closed_case_retention", "default_timezone"})
    calendar_raw = raw.get("calendar", {})
    _only(calendar_raw, "[calendar]", {"country", "subdivision"})
    calendar = Calendar(str(calendar_raw.get("country", "US")), str(calendar_raw.get("subdivision", "")))
    _check_calendar(calendar)

    hold = _table(raw, "hold_limit")
    _only(hold, "[hold_limit]", {"forms", "approaching_warning"})
    forms: dict[str, HoldLimit] = {}
    for name, spec in _table(hold, "forms").items():
        if name not in FORMS:
            raise ValueError(f"unknown detainer form {name!r} (known: {', '.join(FORMS)})")
        _only(spec, f"[hold_limit.forms.{name!r}]", {"hours", "counting"})
        counting = spec.get("counting", "elapsed")
        if counting not in ("business", "elapsed"):
            raise ValueError(f"form {name}: counting must be 'business' or 'elapsed'")
        hours = int(spec["hours"])
        if hours <= 0:
            raise ValueError(f"form {name}: hours must be positive")
        forms[name] = HoldLimit(hours, counting)
    missing = set(FORMS) - forms.keys()
    if missing:
        raise ValueError(f"hold_limit.forms lacks {', '.join(sorted(missing))}")

    rules: dict[str, RuleInfo] = {}
    for name, spec in _table(raw, "rules").items():
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r} in [rules]")
        _only(spec, f"[rules.{name}]", {"severity", "basis"})
        if spec["severity"] not in ("critical", "warning"):
            raise ValueError(f"rule {name}: severity must be critical or warning")
        rules[name] = RuleInfo(spec["severity"], str(spec["basis"]))
    missing = set(RULES) - rules.keys()
    if missing:
        raise ValueError(f"[rules] lacks {', '.join(sorted(missing))}")

    non_priority = _table(raw, "non_priority")
    _only(non_priority, "[non_priority]", {"conviction_levels", "charge_categories"})
    levels = frozenset(non_priority["conviction_levels"])
    categories = frozenset(non_priority["charge_categories"])
    if not levels <= LEVELS or not categories <= CATEGORIES:
        raise ValueError("non_priority: unknown conviction level or charge category")

    jurisdictions: dict[str, Jurisdiction] = {}
    for name, spec in raw.get("jurisdictions", {}).items():
        _only(spec, f"[jurisdictions.{name!r}]", {"timezone", "state", "disabled_rules"})
        _check_zone(spec["timezone"], f"jurisdiction {name}")
        disabled = frozenset(spec.get("disabled_rules", ()))
        if not disabled <= set(RULES):
            raise ValueError(f"jurisdiction {name}: unknown rule in disabled_rules")
        jurisdictions[name] = Jurisdiction(spec["timezone"], str(spec["state"]), disabled)

    default_zone = str(engine.get("default_timezone", "America/New_York"))
    _check_zone(default_zone, "engine.default_timezone")
    copy = _table(raw, "copy_service")
    _only(copy, "[copy_service]", {"deadline"})
    return Policy(
        allowed_lateness=parse_duration(engine.get("allowed_lateness", "10m")),
        closed_case_retention=parse_duration(engine.get("closed_case_retention", "7d")),
        default_timezone=default_zone,
        calendar=calendar,
        forms=forms,
        approaching_warning=parse_duration(hold.get("approaching_warning", "0s")),
        copy_service_deadline=parse_duration(copy["deadline"]),
        non_priority=NonPriority(levels, categories),
        rules=rules,
        jurisdictions=jurisdictions,
        source=source,
    )


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw[name]
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a table")
    return value


def _only(table: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))} in {where}")


def _check_zone(name: str, where: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}: unknown IANA time zone {name!r}") from None


def _check_calendar(calendar: Calendar) -> None:
    if calendar.country not in holidays.list_supported_countries():
        raise ValueError(f"calendar.country {calendar.country!r} is not a holidays calendar")
    if calendar.subdivision not in ("", "jurisdiction"):
        subdivisions = holidays.list_supported_countries()[calendar.country]
        if calendar.subdivision not in subdivisions:
            raise ValueError(f"calendar.subdivision {calendar.subdivision!r} unknown for {calendar.country}")
