"""One loader for both secret keys (``streams/keys.py``): the pseudonym key and the control key
follow the same rules, and production refuses either public development key even when it is
set explicitly. Fails on the starting main (no shared loader; the dev pseudonym key set by hand
was accepted in production)."""

from __future__ import annotations

import pytest

from streams import keys, privacy
from streams.errors import UsageError
from streams.streaming import control


@pytest.mark.parametrize("spec", [privacy.KEY_SPEC, control.KEY_SPEC])
def test_production_refuses_the_public_key_set_by_hand(spec: keys.KeySpec) -> None:
    env = {"HOLDWATCH_ENV": "production", spec.env_key: spec.dev_key.decode()}
    with pytest.raises(spec.error, match="refuses the public development") as caught:
        keys.key_from_env(spec, env)
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize("spec", [privacy.KEY_SPEC, control.KEY_SPEC])
def test_outside_production_the_public_key_is_flagged_as_development(spec: keys.KeySpec) -> None:
    assert keys.key_from_env(spec, {}) == (spec.dev_key, True)
    assert keys.key_from_env(spec, {spec.env_key: "x" * 16}) == (b"x" * 16, False)


def test_the_two_keys_have_their_own_variables() -> None:
    assert privacy.KEY_SPEC.env_key != control.KEY_SPEC.env_key
    assert privacy.KEY_SPEC.env_key_file != control.KEY_SPEC.env_key_file
    assert privacy.KEY_SPEC.dev_key != control.KEY_SPEC.dev_key
