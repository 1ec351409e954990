"""Read and check a TOML policy file; every mistake is one clear :class:`PolicyError` line."""

from __future__ import annotations

import tomllib
import zoneinfo
from collections.abc import Set as AbstractSet
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import holidays

from streams.contract.schemas import policy_validator
from streams.contract.vocabulary import (
    ALERT_SEVERITIES,
    CHARGE_CATEGORIES,
    CHARGE_SEVERITIES,
    CONVICTION_LEVELS,
    COUNTINGS,
    FORMS,
)
from streams.engine.rules import RULES
from streams.policy.durations import parse_duration
from streams.policy.model import (
    Calendar,
    HoldLimit,
    HonorClause,
    Jurisdiction,
    LocalPolicy,
    NonPriority,
    Policy,
    RuleInfo,
    ShareMonitorSettings,
)

LEVELS = frozenset(CONVICTION_LEVELS)
CATEGORIES = frozenset(CHARGE_CATEGORIES)
SEVERITIES = frozenset(CHARGE_SEVERITIES)
DAY = 86_400_000_000


def default_rule_info() -> dict[str, RuleInfo]:
    """Severity and basis of each rule a policy file may leave out of [rules] (a rule added
    after the first policy files were written), from the rule's declaration."""
    return {name: rule.info for name, rule in RULES.items() if not rule.required}


#: A policy is a few KiB (a table of every US county would be well under a MiB).
MAX_POLICY_BYTES = 16 << 20


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
        with file.open("rb") as stream:
            data = stream.read(MAX_POLICY_BYTES + 1)  # /dev/zero or a log given by mistake
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {file}: {exc.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"{file}: larger than {MAX_POLICY_BYTES >> 20} MiB: not a policy file (the shipped "
            "default is 10 KiB)"
        )
    try:
        # TOML is UTF-8; a byte-order mark (some Windows editors write one) is tolerated.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{file}: not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}): "
            "save the policy file as UTF-8"
        ) from None
    return parse_policy(text, source=str(file))


def parse_policy(text: str, source: str = "<string>") -> Policy:
    """Check ``text`` completely (TOML, then the schema, then what a schema cannot state).

    Everything is checked here, before any event is read: a policy that loads never fails
    later (a holiday calendar that cannot be built, a limit that overflows a date), and a bad
    one is one line naming the setting.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        policy_validator()(_as_json(raw))
    except fastjsonschema.JsonSchemaValueException as exc:
        raise PolicyError(f"{source}: {schema_message(exc)}") from None
    try:
        return _build(raw, source)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(exc, KeyError):
            message = f"missing setting {message}"
        raise PolicyError(f"{source}: {message}") from None


def _as_json(value: Any) -> Any:
    """The TOML document as the schema sees it: dates and times as ISO 8601 strings."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    return value


def schema_message(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """One line naming the setting, in the words of the schema's ``errorMessage`` if it has one."""
    where = (exc.name or "data").removeprefix("data").lstrip(".")
    definition: dict[str, Any] = exc.definition if isinstance(exc.definition, dict) else {}
    value = exc.value
    if exc.rule in ("additionalProperties", "required") and isinstance(value, dict):
        # A misspelt key is both unknown and missing: say both, the unknown one first.
        unknown = []
        if "properties" in definition:
            unknown = sorted(set(value) - set(definition["properties"]))
        missing = [key for key in definition.get("required", ()) if key not in value]
        table = f"[{where}]" if where else "top level"
        if unknown:
            also = f" (missing: {', '.join(missing)})" if missing else ""
            return f"unknown setting(s) {', '.join(unknown)} in {table}{also}"
        return f"missing setting {'.'.join(filter(None, (where, *missing[:1])))}"
    if exc.rule == "enum":
        known = ", ".join(str(option) for option in definition.get("enum", ()))
        if where.endswith("]"):  # an item of a list: name the list
            return f"{where.rsplit('[', 1)[0]}: unknown value(s) {value} (known: {known})"
        return f"{where} must be one of {known}, got {_show(value)}"
    if "errorMessage" in definition:
        return f"{where} {definition['errorMessage']}, got {_show(value)}"
    return str(exc.message).replace("data.", "", 1).replace("data ", "the policy ", 1)


def _show(value: Any) -> str:
    """A value as it was written in TOML (true, not True), cut short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: [engine] keys bounding the event clock and the per-case state (Policy's fields of those names).
ENGINE_LIMITS = (
    "clock_quorum",
    "max_clock_skew",
    "max_held_events",
    "max_events_per_case",
    "max_hits_per_case",
    "max_detainers_per_case",
)


#: The keys of every table the loader reads, by table (``*``: any name). The schema states the
#: same (tests/unit/policy/test_policy_schema.py keeps them equal); ``_only`` is the loader's own
#: guard, so a key the schema allows but the loader ignores cannot slip through unnoticed.
KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "engine",
            "calendar",
            "hold_limit",
            "copy_service",
            "non_priority",
            "rules",
            "jurisdictions",
            "jurisdiction_monitor",
        }
    ),
    "engine": frozenset(
        {"allowed_lateness", "closed_case_retention", "default_timezone", *ENGINE_LIMITS}
    ),
    "calendar": frozenset({"country", "subdivision"}),
    "hold_limit": frozenset({"forms", "approaching_warning"}),
    "hold_limit.forms.*": frozenset({"hours", "counting"}),
    "copy_service": frozenset({"deadline"}),
    "non_priority": frozenset({"conviction_levels", "charge_categories"}),
    "rules.*": frozenset({"severity", "basis"}),
    "jurisdiction_monitor": frozenset(
        {"window", "baseline", "margin", "min_detainers", "low_priority_levels"}
    ),
    "jurisdictions.*": frozenset({"timezone", "state", "disabled_rules", "local_policy"}),
    "jurisdictions.*.local_policy": frozenset(
        {
            "name",
            "adopted",
            "effective_from",
            "illustration",
            "summary",
            "decline_all",
            "honor_when",
            "max_hold",
            "grace",
        }
    ),
    "jurisdictions.*.local_policy.honor_when[]": frozenset(
        {"conviction_levels", "charge_severities", "charge_categories"}
    ),
}
#: Upper bounds of the whole-number settings (the schema states the same; a test compares).
MAX_HOURS = 8760


def _whole(value: Any, where: str, low: int, high: int) -> int:
    """A TOML integer in [low, high]: never a boolean (``true`` is not 1) or a float (48.9)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{where} must be a whole number from {low} to {high}, got {_show(value)}")
    return value


def _build(raw: dict[str, Any], source: str) -> Policy:
    _only(raw, "top level", KEYS[""])
    engine = _table(raw, "engine")
    _only(engine, "[engine]", KEYS["engine"])
    calendar_raw = raw.get("calendar", {})
    _only(calendar_raw, "[calendar]", KEYS["calendar"])
    calendar = Calendar(
        str(calendar_raw.get("country", "US")), str(calendar_raw.get("subdivision", ""))
    )
    _check_calendar(calendar)

    hold = _table(raw, "hold_limit")
    _only(hold, "[hold_limit]", KEYS["hold_limit"])
    forms: dict[str, HoldLimit] = {}
    for name, spec in _table(hold, "forms").items():
        if name not in FORMS:
            raise ValueError(f"unknown detainer form {name!r} (known: {', '.join(FORMS)})")
        _only(spec, f"[hold_limit.forms.{name!r}]", KEYS["hold_limit.forms.*"])
        counting = spec.get("counting", "elapsed")
        if counting not in COUNTINGS:
            raise ValueError(f"form {name}: counting must be {' or '.join(map(repr, COUNTINGS))}")
        hours = _whole(spec["hours"], f"form {name}: hours", 1, MAX_HOURS)
        forms[name] = HoldLimit(hours, counting)
    missing = set[str](FORMS) - forms.keys()
    if missing:
        raise ValueError(f"hold_limit.forms lacks {', '.join(sorted(missing))}")

    rules: dict[str, RuleInfo] = {}
    for name, spec in _table(raw, "rules").items():
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r} in [rules]")
        _only(spec, f"[rules.{name}]", KEYS["rules.*"])
        if spec["severity"] not in ALERT_SEVERITIES:
            raise ValueError(f"rule {name}: severity must be {' or '.join(ALERT_SEVERITIES)}")
        rules[name] = RuleInfo(spec["severity"], str(spec["basis"]))
    for name, info in default_rule_info().items():
        rules.setdefault(name, info)
    missing = set(RULES) - rules.keys()
    if missing:
        raise ValueError(f"[rules] lacks {', '.join(sorted(missing))}")

    non_priority = _table(raw, "non_priority")
    _only(non_priority, "[non_priority]", KEYS["non_priority"])
    levels = frozenset(non_priority["conviction_levels"])
    categories = frozenset(non_priority["charge_categories"])
    if not levels <= LEVELS or not categories <= CATEGORIES:
        raise ValueError("non_priority: unknown conviction level or charge category")

    jurisdictions: dict[str, Jurisdiction] = {}
    for name, spec in raw.get("jurisdictions", {}).items():
        _only(spec, f"[jurisdictions.{name!r}]", KEYS["jurisdictions.*"])
        _check_zone(spec["timezone"], f"jurisdiction {name}")
        disabled = frozenset(spec.get("disabled_rules", ()))
        unknown_rules = disabled - set(RULES)
        if unknown_rules:
            raise ValueError(
                f"jurisdiction {name}: unknown rule(s) {', '.join(sorted(unknown_rules))} in disabled_rules"
            )
        overlay = None
        if "local_policy" in spec:
            overlay = _local_policy(spec["local_policy"], name, spec["timezone"])
        jurisdictions[name] = Jurisdiction(spec["timezone"], str(spec["state"]), disabled, overlay)

    _check_holidays(calendar, jurisdictions)
    default_zone = str(engine.get("default_timezone", "America/New_York"))
    _check_zone(default_zone, "engine.default_timezone")
    copy = _table(raw, "copy_service")
    _only(copy, "[copy_service]", KEYS["copy_service"])
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
        monitor=_monitor(raw.get("jurisdiction_monitor", {})),
        clock_quorum=_whole(engine.get("clock_quorum", 3), "engine.clock_quorum", 1, 1000),
        max_clock_skew=parse_duration(engine.get("max_clock_skew", "1h")),
        max_held_events=_whole(
            engine.get("max_held_events", 100_000), "engine.max_held_events", 0, 10_000_000
        ),
        max_events_per_case=_whole(
            engine.get("max_events_per_case", 256), "engine.max_events_per_case", 1, 1_000_000
        ),
        max_hits_per_case=_whole(
            engine.get("max_hits_per_case", 32), "engine.max_hits_per_case", 1, 100_000
        ),
        max_detainers_per_case=_whole(
            engine.get("max_detainers_per_case", 16), "engine.max_detainers_per_case", 1, 10_000
        ),
    )


def _monitor(raw: Any) -> ShareMonitorSettings:
    if not isinstance(raw, dict):
        raise TypeError("jurisdiction_monitor must be a table")
    where = "[jurisdiction_monitor]"
    _only(raw, where, KEYS["jurisdiction_monitor"])
    defaults = ShareMonitorSettings()
    window = parse_duration(raw.get("window", "90d"))
    if window <= 0 or window % DAY:
        raise ValueError(f'{where} window must be a positive whole number of days, e.g. "90d"')
    baseline = _fraction(raw.get("baseline", defaults.baseline), f"{where} baseline")
    margin = _fraction(raw.get("margin", defaults.margin), f"{where} margin")
    minimum = raw.get("min_detainers", defaults.min_detainers)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise ValueError(f"{where} min_detainers must be a whole number >= 1")
    levels = frozenset(raw.get("low_priority_levels", sorted(defaults.low_priority_levels)))
    if not levels or not levels <= LEVELS:
        raise ValueError(
            f"{where} low_priority_levels must be a non-empty subset of {sorted(LEVELS)}"
        )
    return ShareMonitorSettings(window // DAY, baseline, margin, minimum, levels)


def _fraction(value: Any, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise ValueError(
            f"{where} must be a fraction between 0 and 1 (0.55 means 55%), got {value!r}"
        )
    return float(value)


def _subset(value: Any, allowed: AbstractSet[str], where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a non-empty list of strings")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(
            f"{where}: unknown value(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(allowed))})"
        )
    return frozenset(value)


def _local_policy(raw: Any, jurisdiction: str, zone_name: str) -> LocalPolicy:
    where = f"[jurisdictions.{jurisdiction!r}.local_policy]"
    if not isinstance(raw, dict):
        raise TypeError(f"{where} must be a table")
    _only(raw, where, KEYS["jurisdictions.*.local_policy"])
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise ValueError(f"{where} needs a name (the policy's title)")
    effective = None
    if "effective_from" in raw:
        effective = _local_midnight(raw["effective_from"], zone_name, f"{where} effective_from")
    adopted = raw.get("adopted", "")
    adopted_text = adopted.isoformat() if isinstance(adopted, date) else str(adopted)
    decline_all = raw.get("decline_all", False)
    if not isinstance(decline_all, bool):
        raise ValueError(f"{where} decline_all must be true or false")
    clauses: list[HonorClause] = []
    honor = raw.get("honor_when", [])
    if not isinstance(honor, list) or not all(isinstance(c, dict) for c in honor):
        raise ValueError(f"{where} honor_when must be an array of tables ([[...honor_when]])")
    for number, clause in enumerate(honor, 1):
        at = f"{where} honor_when #{number}"
        _only(clause, at, KEYS["jurisdictions.*.local_policy.honor_when[]"])
        if not clause:
            raise ValueError(
                f"{at} is empty: give conviction_levels and/or charge_severities/charge_categories"
            )
        clauses.append(
            HonorClause(
                _subset(clause["conviction_levels"], LEVELS, f"{at} conviction_levels")
                if "conviction_levels" in clause
                else None,
                _subset(clause["charge_severities"], SEVERITIES, f"{at} charge_severities")
                if "charge_severities" in clause
                else None,
                _subset(clause["charge_categories"], CATEGORIES, f"{at} charge_categories")
                if "charge_categories" in clause
                else None,
            )
        )
    max_hold = None
    if "max_hold" in raw:
        max_hold = parse_duration(raw["max_hold"])
        if max_hold <= 0:
            raise ValueError(f"{where} max_hold must be positive")
    grace = parse_duration(raw.get("grace", "0s"))
    if not (decline_all or clauses or max_hold is not None):
        raise ValueError(f"{where} says nothing: give decline_all, honor_when or max_hold")
    return LocalPolicy(
        name=raw["name"].strip(),
        adopted=adopted_text,
        effective_from=effective,
        illustration=bool(raw.get("illustration", False)),
        summary=str(raw.get("summary", "")),
        decline_all=decline_all,
        honor_when=tuple(clauses),
        max_hold=max_hold,
        grace=grace,
    )


def _local_midnight(value: Any, zone_name: str, where: str) -> int:
    if isinstance(value, datetime):
        raise ValueError(f"{where} must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where} must be a date (YYYY-MM-DD), got {value!r}") from None
    if not isinstance(value, date):
        raise ValueError(f"{where} must be a date (YYYY-MM-DD)")
    moment = datetime(value.year, value.month, value.day, tzinfo=zoneinfo.ZoneInfo(zone_name))
    return round(moment.timestamp() * 1_000_000)


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw[name]
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a table")
    return value


def _only(table: dict[str, Any], where: str, allowed: AbstractSet[str]) -> None:
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
            raise ValueError(
                f"calendar.subdivision {calendar.subdivision!r} unknown for {calendar.country}"
            )


def _check_holidays(calendar: Calendar, jurisdictions: dict[str, Jurisdiction]) -> None:
    """Build every holiday calendar the engine can ask for, now rather than mid-run.

    With ``subdivision = "jurisdiction"`` each jurisdiction's ``state`` picks its calendar; a
    state the holidays package does not know used to load and then stop the engine at the
    first business-hours deadline in that jurisdiction.
    """
    wanted = {calendar.subdivision: "calendar.subdivision"}
    if calendar.subdivision == "jurisdiction":
        wanted = {
            entry.state: f"jurisdiction {name}: state" for name, entry in jurisdictions.items()
        }
    for subdivision, where in wanted.items():
        try:
            built = holidays.country_holidays(
                calendar.country, subdiv=subdivision or None, observed=True
            )
            _ = date(2011, 1, 1) in built  # the first lookup builds the year's dates
        except (NotImplementedError, KeyError, ValueError):
            known = ", ".join(holidays.list_supported_countries().get(calendar.country, ()))
            raise ValueError(
                f"{where} {subdivision!r} is not a {calendar.country} holidays subdivision "
                f"(known: {known})"
            ) from None
