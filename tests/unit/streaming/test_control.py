"""Control headers (ticks, barriers, event watermarks) are signed for their topic-partition, and
anything else is refused: a producer on an input topic cannot move a worker's clock.

Every test here fails on the starting main, which had no ``streams.streaming.control``."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from streams.errors import UsageError
from streams.streaming import control
from streams.streaming import headers as hdr
from streams.streaming.control import ControlKey, ForgedControl

KEY = ControlKey(b"k" * 32)
OTHER_KEY = ControlKey(b"o" * 32)
TICK_2199 = 7_258_118_400_000_000  # 2200-01-01T00:00Z in µs: far beyond any pending deadline


def signed(at: int = 1_000, barrier: str | None = "end:run1") -> list[tuple[str, bytes]]:
    return KEY.sign("hw.bookings", 3, hdr.tick_headers(at, barrier))


def test_a_signed_tick_verifies_on_its_own_topic_partition() -> None:
    assert KEY.check("hw.bookings", 3, signed()) is True


def test_a_message_without_control_headers_needs_no_signature() -> None:
    """A live event carries no control header: nothing to verify, nothing it could move."""
    assert KEY.check("hw.bookings", 3, None) is False
    assert KEY.check("hw.bookings", 3, [("traceparent", b"00-ab")]) is False


@pytest.mark.parametrize(
    ("topic", "partition", "key"),
    [
        ("hw.releases", 3, KEY),  # replayed onto another topic
        ("hw.bookings", 2, KEY),  # onto another partition
        ("hw.bookings", 3, OTHER_KEY),  # verified under another key
    ],
)
def test_a_signature_is_worthless_elsewhere(topic: str, partition: int, key: ControlKey) -> None:
    with pytest.raises(ForgedControl, match="bad hw-sig"):
        key.check(topic, partition, signed())


@pytest.mark.parametrize(
    ("name", "value"),
    [(hdr.TICK, str(TICK_2199).encode()), (hdr.BARRIER, b"end:other-run")],
)
def test_a_changed_control_value_is_rejected(name: str, value: bytes) -> None:
    headers = [(n, value if n == name else v) for n, v in signed()]
    with pytest.raises(ForgedControl, match="bad hw-sig"):
        KEY.check("hw.bookings", 3, headers)


def test_dropping_or_adding_a_control_header_is_rejected() -> None:
    without_barrier = [(n, v) for n, v in signed() if n != hdr.BARRIER]
    with pytest.raises(ForgedControl):
        KEY.check("hw.bookings", 3, without_barrier)
    with_stamp = [*signed(), (hdr.WATERMARK, b"5")]
    with pytest.raises(ForgedControl):
        KEY.check("hw.bookings", 3, with_stamp)


@pytest.mark.parametrize(
    "headers",
    [
        hdr.tick_headers(TICK_2199),  # unsigned
        [(hdr.WATERMARK, str(TICK_2199).encode())],  # an unsigned event watermark
        [*hdr.tick_headers(TICK_2199), (control.SIGNATURE, b"0" * 64)],  # a made-up signature
        [*hdr.tick_headers(TICK_2199), (control.SIGNATURE, b"")],
    ],
)
def test_unsigned_or_badly_signed_control_headers_are_forged(
    headers: list[tuple[str, bytes]],
) -> None:
    with pytest.raises(ForgedControl):
        KEY.check("hw.bookings", 3, headers)


def test_repeated_control_headers_are_forged() -> None:
    """``headers.header`` reads the first of two ticks: a second one must not ride along."""
    twice = KEY.sign("hw.bookings", 3, hdr.tick_headers(1_000))
    with pytest.raises(ForgedControl, match="repeated"):
        KEY.check("hw.bookings", 3, [(hdr.TICK, str(TICK_2199).encode()), *twice])
    with pytest.raises(ForgedControl, match="repeated"):
        KEY.check("hw.bookings", 3, [*twice, (control.SIGNATURE, b"x")])


def test_headers_as_a_mapping_verify_too() -> None:
    assert KEY.check("hw.bookings", 3, dict(signed())) is True


def test_the_signature_is_the_documented_hmac_of_topic_partition_and_headers() -> None:
    """The wire format the module docstring states, computed independently: producers and
    workers of different versions must agree on it (the one-shot ``hmac.digest`` path replaced
    an ``hmac.HMAC`` object; this pins that both give the same bytes)."""

    def part(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    headers = [(hdr.WATERMARK, b"1700"), (hdr.SEQUENCE, b"9")]
    expected = hmac.new(
        b"k" * 32,
        b"hw-ctl-1"
        + part(b"hw.bookings")
        + part(b"3")
        + part(hdr.SEQUENCE.encode())
        + part(b"9")
        + part(hdr.WATERMARK.encode())
        + part(b"1700"),
        hashlib.sha256,
    ).hexdigest()
    assert KEY.sign("hw.bookings", 3, headers)[-1] == (control.SIGNATURE, expected.encode())


def test_a_refusal_names_the_control_headers_it_saw() -> None:
    forged = [*hdr.tick_headers(TICK_2199, "end:r"), (control.SIGNATURE, b"0" * 64)]
    with pytest.raises(ForgedControl, match=f"bad hw-sig .*{hdr.TICK}={TICK_2199}"):
        KEY.check("hw.bookings", 3, forged)


def test_the_key_never_shows_in_its_repr() -> None:
    assert "kkkk" not in repr(KEY)


@pytest.mark.parametrize(
    "env",
    [
        {"HOLDWATCH_ENV": "production"},
        {"HOLDWATCH_ENV": "production", control.ENV_KEY: control.DEV_KEY.decode()},
        {"HOLDWATCH_ENV": "production", control.ENV_KEY: "short"},
        {"HOLDWATCH_ENV": "production", control.ENV_KEY_FILE: "/nonexistent/key"},
        {control.ENV_KEY: "k" * 20, control.ENV_KEY_FILE: "/x"},
    ],
)
def test_production_refuses_a_missing_or_public_control_key(env: dict[str, str]) -> None:
    with pytest.raises(control.MissingControlKey) as caught:
        control.from_env(env)
    assert isinstance(caught.value, UsageError)  # the CLI prints one line and exits 2
    assert "\n" not in str(caught.value)


def test_the_key_comes_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "control_key"
    secret.write_bytes(b"s" * 32 + b"\n")  # one trailing newline ignored
    key = control.from_env({"HOLDWATCH_ENV": "production", control.ENV_KEY_FILE: str(secret)})
    assert not key.development
    assert key.check("t", 0, ControlKey(b"s" * 32).sign("t", 0, hdr.tick_headers(1))) is True


def test_development_uses_a_public_key_distinct_from_the_pseudonym_key() -> None:
    from streams import privacy

    dev = control.from_env({})
    assert dev.development
    assert control.DEV_KEY != privacy.DEV_KEY


def test_a_body_signature_covers_topic_partition_and_value() -> None:
    """The jurisdiction repartition carries its watermarks in the body: the whole value is signed."""
    body = control.BodySigner(KEY)
    value = b'{"k":"w","p":0,"w":5}'
    headers = body.sign("hw.jurisdiction-facts", 2, value)
    body.check("hw.jurisdiction-facts", 2, value, headers)
    for topic, partition, changed, signer in [
        ("hw.other", 2, value, body),
        ("hw.jurisdiction-facts", 1, value, body),
        ("hw.jurisdiction-facts", 2, b'{"k":"w","p":0,"w":7258118400000000}', body),
        ("hw.jurisdiction-facts", 2, value, control.BodySigner(OTHER_KEY)),
    ]:
        with pytest.raises(ForgedControl):
            signer.check(topic, partition, changed, headers)
    with pytest.raises(ForgedControl, match="unsigned"):
        body.check("hw.jurisdiction-facts", 2, value, None)
    with pytest.raises(ForgedControl, match="repeated"):
        body.check("hw.jurisdiction-facts", 2, value, [*headers, *headers])


def test_a_header_signature_is_no_body_signature() -> None:
    """Two domains: a signed tick's ``hw-sig`` cannot pass for a signed facts message."""
    tick = KEY.sign("t", 0, hdr.tick_headers(5))
    with pytest.raises(ForgedControl):
        control.BodySigner(KEY).check("t", 0, b"", tick)
