"""The pseudonymizer's reused keyed HMAC gives exactly ``hmac.new(key, id, sha256)`` each call."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from streams import privacy
from streams.privacy import Pseudonymizer


@settings(max_examples=500, deadline=None)
@given(
    # Keys shorter than, equal to and longer than SHA-256's 64-byte block (those are hashed).
    st.binary(min_size=privacy.MIN_KEY_BYTES, max_size=200),
    st.text(max_size=200),
)
def test_the_pseudonym_is_hmac_sha256_of_the_person_id(key: bytes, person_id: str) -> None:
    expected = hmac.new(key, person_id.encode("utf-8"), hashlib.sha256).hexdigest()
    pseudonymizer = Pseudonymizer(key)
    assert pseudonymizer.pseudonym(person_id) == privacy.PREFIX + expected
    assert (
        pseudonymizer.pseudonym(person_id) == privacy.PREFIX + expected
    )  # the keyed HMAC is reused


def test_block_sized_keys_are_used_as_they_are() -> None:
    for size in (63, 64, 65):
        key = bytes(range(size))
        expected = hmac.new(key, b"p-1", hashlib.sha256).hexdigest()
        assert Pseudonymizer(key).pseudonym("p-1") == privacy.PREFIX + expected
