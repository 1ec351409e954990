"""Secret keys from the environment: the one loader for the pseudonym key and the control key.

A key comes from the environment, never from a flag (flags show in ``ps``) or the repository:
either the variable itself, or a ``..._FILE`` variable naming a file that holds it (a Docker or
Kubernetes secret; one trailing newline is ignored). Outside production a fixed, public
development key keeps runs stable; ``HOLDWATCH_ENV=production`` refuses it, whether it is
missing or set explicitly, because a key everybody knows protects nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.errors import UsageError

ENV_MODE = "HOLDWATCH_ENV"
MIN_KEY_BYTES = 16


def is_production(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get(ENV_MODE, "").strip().lower() in ("production", "prod")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Where one key is configured, what it is called in errors, and its public development value."""

    what: str  # "pseudonym key", "control key"
    env_key: str
    env_key_file: str
    dev_key: bytes
    error: type[UsageError] = UsageError


def load_key(spec: KeySpec, env: Mapping[str, str] | None = None) -> bytes | None:
    """The configured key, or None when neither variable is set. Raises ``spec.error`` on a bad key."""
    env = os.environ if env is None else env
    text = env.get(spec.env_key)
    path = env.get(spec.env_key_file)
    if text and path:
        raise spec.error(f"set only one of {spec.env_key} and {spec.env_key_file}")
    if text:
        key = text.encode("utf-8")
        source = spec.env_key
    elif path:
        try:
            key = Path(path).read_bytes()
        except OSError as exc:
            raise spec.error(
                f"{spec.env_key_file}: cannot read the key file: {exc.strerror}"
            ) from None
        key = key.removesuffix(b"\n").removesuffix(b"\r")
        source = f"{spec.env_key_file} ({path})"
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise spec.error(
            f"the {spec.what} from {source} has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed"
        )
    return key


def key_from_env(spec: KeySpec, env: Mapping[str, str] | None = None) -> tuple[bytes, bool]:
    """(key, is_development): the configured key, else the public one outside production."""
    key = load_key(spec, env)
    production = is_production(env)
    if key is not None:
        if production and key == spec.dev_key:
            raise spec.error(
                f"{ENV_MODE}=production refuses the public development {spec.what}: "
                f"set {spec.env_key_file} to a file of at least {MIN_KEY_BYTES} random bytes"
            )
        return key, False
    if production:
        raise spec.error(
            f"{ENV_MODE}=production needs a {spec.what}: set {spec.env_key_file} to a secret file "
            f"(or {spec.env_key}) holding at least {MIN_KEY_BYTES} random bytes"
        )
    return spec.dev_key, True
