"""Keyed pseudonymization of ``person_id`` at ingest.

A booking's ``person_id`` is replaced, inside the decoder and before anything else sees the
event, by ``hp1-`` + HMAC-SHA256(key, person_id) in hex. The same person gets the same
pseudonym under the same key (so a future rule can still link bookings of one person), but
without the key nobody can go back from a pseudonym, or test a guessed id against it.

The key comes from the environment, never from a flag (flags show in ``ps``) or the repo:

* ``HOLDWATCH_PSEUDONYM_KEY``: the key itself (at least 16 bytes), or
* ``HOLDWATCH_PSEUDONYM_KEY_FILE``: a file holding it (a Docker/Kubernetes secret); one trailing
  newline is ignored.

``HOLDWATCH_ENV=production`` makes a missing key fatal: the :class:`~streams.contract.decode.Decoder`
(built once per worker or replay at start) raises :class:`MissingPseudonymKey`, so a production
worker refuses to start rather than hashing with a key everybody knows. Outside production a
fixed, public development key is used: pseudonyms stay stable across runs and workers, but
they protect nothing, which is why production refuses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from streams import keys
from streams.errors import UsageError

__all__ = [
    "DEV_KEY",
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_MODE",
    "MIN_KEY_BYTES",
    "PREFIX",
    "MissingPseudonymKey",
    "Pseudonymizer",
    "from_env",
    "is_production",
    "load_key",
    "pseudonymize",
    "reset",
]

ENV_KEY = "HOLDWATCH_PSEUDONYM_KEY"
ENV_KEY_FILE = "HOLDWATCH_PSEUDONYM_KEY_FILE"
ENV_MODE = keys.ENV_MODE
PREFIX = "hp1-"
MIN_KEY_BYTES = keys.MIN_KEY_BYTES
#: Public, so never a secret: only outside production, and only so that development runs are stable.
DEV_KEY = b"holdwatch-development-key-not-secret"


_BLOCK = 64  # sha256's block size, in bytes
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class MissingPseudonymKey(UsageError):
    """No usable key (in production), or a key that is too short or unreadable (anywhere)."""


KEY_SPEC = keys.KeySpec("pseudonym key", ENV_KEY, ENV_KEY_FILE, DEV_KEY, MissingPseudonymKey)


def is_production(env: Mapping[str, str] | None = None) -> bool:
    return keys.is_production(env)


def load_key(env: Mapping[str, str] | None = None) -> bytes | None:
    """The configured key, or None when neither variable is set. Raises on a bad key."""
    return keys.load_key(KEY_SPEC, env)


class Pseudonymizer:
    """HMAC-SHA256 of ``person_id`` under one key; ``apply`` rewrites a decoded body in place."""

    __slots__ = ("_inner", "_outer", "development")

    def __init__(self, key: bytes, development: bool = False) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise MissingPseudonymKey(
                f"pseudonym key too short ({len(key)} < {MIN_KEY_BYTES} bytes)"
            )
        self.development = development
        # HMAC (RFC 2104) by its definition: sha256 states keyed once with the inner and outer
        # pads, copied per call. Same bytes as ``hmac`` (tests/unit/reliability/
        # test_pseudonym_hmac.py) in about 60% of the time of a copied ``hmac.HMAC`` (whose
        # Python-level copy and hexdigest wrap the same two hashes); a booking in three pays it.
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __repr__(self) -> str:  # never the key
        return f"Pseudonymizer(development={self.development})"

    def pseudonym(self, person_id: str) -> str:
        inner = self._inner.copy()
        inner.update(person_id.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return PREFIX + outer.hexdigest()

    def apply(self, body: dict[str, Any]) -> None:
        """Replace ``body["person_id"]`` (when it is a string) by its pseudonym."""
        person = body.get("person_id")
        if isinstance(person, str):
            body["person_id"] = self.pseudonym(person)


def from_env(env: Mapping[str, str] | None = None) -> Pseudonymizer:
    """The pseudonymizer the environment configures; production without a key raises."""
    key, development = keys.key_from_env(KEY_SPEC, env)
    return Pseudonymizer(key, development=development)


_default: Pseudonymizer | None = None


def pseudonymize(body: dict[str, Any]) -> None:
    """Rewrite ``body["person_id"]`` in place with the process's configured key (read once)."""
    global _default
    if _default is None:
        _default = from_env()
    _default.apply(body)


def reset() -> None:
    """Forget the process's key, so the next call reads the environment again (tests)."""
    global _default
    _default = None
