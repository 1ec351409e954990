"""person_id is replaced at ingest by a keyed HMAC; production refuses to start without a key;
the raw id reaches neither the event the engine sees, nor a case, nor an alert."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import orjson
import pytest

from streams import privacy
from streams.contract.decode import Decoder
from streams.engine.case import Case
from streams.engine.record import to_primitive
from streams.errors import UsageError
from streams.policy.load import load_policy
from streams.replay.runner import InProcessReplay
from tests.support import Events

RAW = "PERSON-RAW-123456"
KEY = "k" * 32


def booking(person: str = RAW) -> bytes:
    return orjson.dumps(Events("bk-p1").booking("2011-10-04 10:00") | {"person_id": person})


def test_the_decoder_replaces_person_id_with_a_keyed_hmac() -> None:
    one = Decoder(pseudonymizer=privacy.from_env({privacy.ENV_KEY: KEY})).decode(booking())
    again = Decoder(pseudonymizer=privacy.from_env({privacy.ENV_KEY: KEY})).decode(booking())
    other_key = Decoder(pseudonymizer=privacy.from_env({privacy.ENV_KEY: "z" * 32})).decode(
        booking()
    )
    person = one.body.person_id  # type: ignore[union-attr]  # a booking's body
    assert person.startswith(privacy.PREFIX) and RAW not in person
    assert person == again.body.person_id  # type: ignore[union-attr]  # stable: one person
    assert person != other_key.body.person_id  # type: ignore[union-attr]  # keyed: no key, no link
    assert len(person) <= 128  # still valid against the schema's id


def test_key_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text(KEY + "\n")
    from_file = privacy.from_env(
        {privacy.ENV_KEY_FILE: str(secret), privacy.ENV_MODE: "production"}
    )
    from_var = privacy.from_env({privacy.ENV_KEY: KEY})
    assert from_file.pseudonym(RAW) == from_var.pseudonym(RAW)
    assert not from_file.development
    assert KEY not in repr(from_file)


@pytest.mark.parametrize(
    "env",
    [
        {privacy.ENV_MODE: "production"},
        {privacy.ENV_MODE: "production", privacy.ENV_KEY: "short"},
        {privacy.ENV_MODE: "production", privacy.ENV_KEY_FILE: "/nonexistent/key"},
        {privacy.ENV_KEY: "short"},
        {privacy.ENV_KEY: KEY, privacy.ENV_KEY_FILE: "/x"},
    ],
)
def test_production_refuses_to_start_without_a_usable_key(env: dict[str, str]) -> None:
    with pytest.raises(privacy.MissingPseudonymKey) as caught:
        privacy.from_env(env)
    assert isinstance(caught.value, UsageError)  # the CLI prints one line and exits 2


def test_production_refuses_at_decoder_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(privacy.ENV_MODE, "production")
    monkeypatch.delenv(privacy.ENV_KEY, raising=False)
    monkeypatch.delenv(privacy.ENV_KEY_FILE, raising=False)
    with pytest.raises(privacy.MissingPseudonymKey, match="production"):
        Decoder()  # what a worker and a replay build first


def test_development_uses_a_public_key_and_says_so() -> None:
    dev = privacy.from_env({})
    assert dev.development
    assert dev.pseudonym(RAW) == privacy.Pseudonymizer(privacy.DEV_KEY).pseudonym(RAW)


def test_module_level_pseudonymize(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(privacy.ENV_KEY, KEY)
    privacy.reset()
    try:
        body = {"person_id": RAW, "booking_id": "bk"}
        privacy.pseudonymize(body)
        assert body["person_id"] == privacy.from_env({privacy.ENV_KEY: KEY}).pseudonym(RAW)
        assert body["booking_id"] == "bk"
    finally:
        privacy.reset()


def test_a_case_has_no_person_field() -> None:
    names = {f.name for f in dataclasses.fields(Case)}
    assert not any("person" in name for name in names), names


def test_no_raw_person_id_in_state_alerts_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    ev = Events("bk-priv", "America/Chicago")
    events = [
        ev.booking("2018-03-05 08:00", jurisdiction="IL-Cook") | {"person_id": RAW},
        ev.hit("2018-03-05 09:00"),
        ev.detainer("2018-03-05 10:00", form="I-247A-2017"),
        ev.release("2018-03-06 10:00", "eligible"),
    ]
    alerts: list[dict[str, object]] = []
    runner = InProcessReplay(load_policy(), alerts.append)
    with caplog.at_level(logging.DEBUG):
        runner.feed(orjson.dumps(e) for e in events)
        runner.finish(1_600_000_000_000_000)  # one booking: its events wait for the end
        cases = list(runner.engine.cases.values())
    assert alerts
    assert all(RAW.encode() not in orjson.dumps(a) for a in alerts)
    assert cases
    for case in cases:
        assert RAW.encode() not in orjson.dumps(to_primitive(case))
    assert RAW not in caplog.text and "bk-priv" not in caplog.text
