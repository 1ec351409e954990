"""``replay --kafka`` signs its ticks and barriers: in production it needs the control key, and
says so in one line before it starts a broker or reads the log. Fails on the starting main
(there was no control key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.main import main
from streams.streaming import control


def test_production_replay_without_a_control_key_stops_before_any_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("")
    monkeypatch.setenv("HOLDWATCH_ENV", "production")
    monkeypatch.setenv("HOLDWATCH_PSEUDONYM_KEY", "p" * 32)
    monkeypatch.delenv(control.ENV_KEY, raising=False)
    monkeypatch.delenv(control.ENV_KEY_FILE, raising=False)
    assert main(["replay", str(log), "--kafka"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "holdwatch replay: error: HOLDWATCH_ENV=production needs a control key: set "
        "HOLDWATCH_CONTROL_KEY_FILE to a secret file (or HOLDWATCH_CONTROL_KEY) holding at least "
        "16 random bytes"
    ]
