"""Authentic in-band control headers: an HMAC-SHA256 signature in ``hw-sig``.

Ticks, barriers and event watermarks (``headers``) decide when deadlines fire. Without a
signature anyone who may produce to an input topic could send a tick dated 2199 and fire every
pending hold alert, or stamp an event with a far ``hw-wm`` to move a partition's floor. So every
message carrying a control header also carries

    hw-sig = hex HMAC-SHA256(key, "hw-ctl-1" | topic | partition | each control header present)

with the control headers in one canonical order (``CONTROL``), every part length-prefixed so no
two different messages share an input. Topic and partition are inside, so a tick signed for one
topic-partition is worthless on another. The key is shared by the replay producer and the
workers (live workers sign their own wall-clock ticks), loaded like the pseudonym key
(``streams.keys``): ``HOLDWATCH_CONTROL_KEY`` or ``HOLDWATCH_CONTROL_KEY_FILE``, a public
development default outside production, refused under ``HOLDWATCH_ENV=production``.

What is *not* signed: the event body and key. A producer allowed to write events can write
events anyway (they are validated by the contract); what it must not do is move time. Re-sending
a captured signed tick to its own topic-partition moves nothing: floors only rise.

The receiver (``PartitionDriver``) dead-letters a message whose control headers are unsigned,
badly signed or repeated as ``forged_control``, the whole message, events with a forged ``hw-wm``
included: half-trusting it (applying the event "live") would let a forged stamp decide when its
event applies. Pure Python, no Kafka client.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from streams import keys
from streams.errors import UsageError
from streams.streaming import headers as hdr

ENV_KEY = "HOLDWATCH_CONTROL_KEY"
ENV_KEY_FILE = "HOLDWATCH_CONTROL_KEY_FILE"
SIGNATURE = "hw-sig"
#: Every header that moves time or closes a run, in the order they are signed.
CONTROL = (hdr.BARRIER, hdr.SEQUENCE, hdr.TICK, hdr.WATERMARK)
#: Public, so never a secret (and distinct from the pseudonym development key).
DEV_KEY = b"holdwatch-development-control-key-not-secret"
_DOMAIN = b"hw-ctl-1"
_BODY_DOMAIN = b"hw-body-1"
_MAX_PLACES = 4096  # topic-partitions whose prefixed MAC state is kept (forgotten all at once)


class MissingControlKey(UsageError):
    """No usable control key in production, or one that is too short or unreadable."""


KEY_SPEC = keys.KeySpec("control key", ENV_KEY, ENV_KEY_FILE, DEV_KEY, MissingControlKey)


class ForgedControl(Exception):
    """A control header without a valid signature; the message says what was wrong."""


def _part(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


class ControlKey:
    """Signs and verifies the control headers of one message under one key."""

    __slots__ = ("_keyed", "_places", "development")

    def __init__(self, key: bytes, development: bool = False) -> None:
        if len(key) < keys.MIN_KEY_BYTES:
            raise MissingControlKey(f"control key too short ({len(key)} < {keys.MIN_KEY_BYTES})")
        self.development = development
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        # The MAC state after a topic-partition's prefix, copied per message: every recorded
        # event is signed, and a worker reads a handful of topic-partitions.
        self._places: dict[tuple[bytes, str, int], hmac.HMAC] = {}

    def _at(self, domain: bytes, topic: str, partition: int) -> hmac.HMAC:
        place = (domain, topic, partition)
        mac = self._places.get(place)
        if mac is None:
            if len(self._places) >= _MAX_PLACES:
                self._places.clear()
            mac = self._keyed.copy()
            mac.update(domain + _part(topic.encode("utf-8")) + _part(str(partition).encode()))
            self._places[place] = mac
        return mac.copy()

    def __repr__(self) -> str:  # never the key
        return f"ControlKey(development={self.development})"

    def signature(self, topic: str, partition: int, control: Mapping[str, bytes]) -> bytes:
        mac = self._at(_DOMAIN, topic, partition)
        for name in CONTROL:
            value = control.get(name)
            if value is not None:
                mac.update(_part(name.encode("ascii")) + _part(bytes(value)))
        return mac.hexdigest().encode("ascii")

    def sign(
        self, topic: str, partition: int, headers: list[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        """``headers`` plus their ``hw-sig`` for this topic-partition."""
        control = {name: value for name, value in headers if name in CONTROL}
        return [*headers, (SIGNATURE, self.signature(topic, partition, control))]

    def check(self, topic: str, partition: int, headers: hdr.Headers | None) -> bool:
        """True when the message carries control headers and they are authentic; False when it
        carries none (a plain live event). Raises :class:`ForgedControl` otherwise."""
        if not headers:
            return False
        pairs = list(headers.items() if isinstance(headers, dict) else headers)
        control: dict[str, bytes] = {}
        signatures: list[bytes] = []
        for name, value in pairs:
            if name in CONTROL:
                if name in control:
                    raise ForgedControl(f"control header {name} repeated")
                control[name] = bytes(value) if value is not None else b""
            elif name == SIGNATURE:
                signatures.append(bytes(value) if value is not None else b"")
        if not control:
            return False
        if not signatures:
            raise ForgedControl(f"unsigned control header ({_shown(control)})")
        if len(signatures) > 1:
            raise ForgedControl(f"{SIGNATURE} repeated")
        expected = self.signature(topic, partition, control)
        if not hmac.compare_digest(expected, signatures[0]):
            raise ForgedControl(f"bad {SIGNATURE} on control header ({_shown(control)})")
        return True


def _shown(control: Mapping[str, bytes]) -> str:
    """The control headers of a refused message, for its dead letter (built only then)."""
    return ", ".join(
        f"{name}={control[name][:64].decode('utf-8', 'replace')}"
        for name in CONTROL
        if name in control
    )


class BodySigner:
    """Signs whole messages of a topic only workers write (the jurisdiction repartition, whose
    facts, watermarks and barriers travel in the body): ``hw-sig`` over topic, partition, value."""

    __slots__ = ("key",)

    def __init__(self, key: ControlKey) -> None:
        self.key = key

    def signature(self, topic: str, partition: int, value: bytes) -> bytes:
        mac = self.key._at(_BODY_DOMAIN, topic, partition)
        mac.update(_part(value))
        return mac.hexdigest().encode("ascii")

    def sign(self, topic: str, partition: int, value: bytes) -> list[tuple[str, bytes]]:
        return [(SIGNATURE, self.signature(topic, partition, value))]

    def check(
        self, topic: str, partition: int, value: bytes | None, headers: hdr.Headers | None
    ) -> None:
        """Raises :class:`ForgedControl` unless exactly one ``hw-sig`` signs this value here."""
        pairs = list(headers.items() if isinstance(headers, dict) else headers or ())
        signatures = [bytes(v or b"") for name, v in pairs if name == SIGNATURE]
        if not signatures:
            raise ForgedControl(f"unsigned message on {topic}")
        if len(signatures) > 1:
            raise ForgedControl(f"{SIGNATURE} repeated")
        if not hmac.compare_digest(self.signature(topic, partition, value or b""), signatures[0]):
            raise ForgedControl(f"bad {SIGNATURE} on {topic}")


def from_env(env: Mapping[str, str] | None = None) -> ControlKey:
    """The control key the environment configures; production without one raises (exit 2)."""
    key, development = keys.key_from_env(KEY_SPEC, env)
    return ControlKey(key, development=development)


__all__ = [
    "CONTROL",
    "DEV_KEY",
    "ENV_KEY",
    "ENV_KEY_FILE",
    "SIGNATURE",
    "BodySigner",
    "ControlKey",
    "ForgedControl",
    "MissingControlKey",
    "from_env",
]
