"""``holdwatch alerts tail`` prints alert fields a producer controls; a terminal must show them,
never obey them. Fails on the starting main, which wrote ``booking_id`` raw."""

from __future__ import annotations

import io

import orjson

from streams.cli.alerts import print_json, print_pretty, printable

HOSTILE = "bk-\x1b[2J\x1b]0;owned\x07\rline\u202eevil\u2028x\x9b31m"


def _alert(**changes: object) -> dict[str, object]:
    alert: dict[str, object] = {
        "alert_id": "a1",
        "state": "firing",
        "severity": "critical",
        "rule": "hold_limit_exceeded",
        "jurisdiction": "NY-NewYorkCity",
        "booking_id": "bk-1",
        "occurred_at": "2011-10-06T10:00:00-04:00",
        "details": {"hours_over": 10.0},
    }
    return alert | changes


def test_control_characters_in_any_field_are_escaped() -> None:
    out = io.StringIO()
    print_pretty(
        _alert(booking_id=HOSTILE, jurisdiction="\x1b[31mX", details={"note\x1b": "\x07y"}), out
    )
    line = out.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    assert all(ch.isprintable() for ch in line[:-1]), repr(line)
    assert "bk-\\x1b[2J\\x1b]0;owned\\x07\\x0dline\\u202eevil\\u2028x\\x9b31m" in line
    assert "\\x1b[31mX" in line and "note\\x1b=\\x07y" in line


def test_ordinary_text_is_printed_as_is() -> None:
    assert printable("bk-1 São Paulo 日本") == "bk-1 São Paulo 日本"
    out = io.StringIO()
    print_pretty(_alert(), out)
    assert "booking bk-1" in out.getvalue() and "hours_over=10.0" in out.getvalue()


def test_json_output_is_escaped_by_json_itself() -> None:
    out = io.StringIO()
    print_json(_alert(booking_id=HOSTILE), out)
    line = out.getvalue()
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line
    assert orjson.loads(line)["booking_id"] == HOSTILE  # nothing lost
