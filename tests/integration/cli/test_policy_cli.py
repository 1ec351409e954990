"""A bad policy file stops ``holdwatch replay`` before it reads a line: exit 2, one line, no
traceback. On main each of these but ``not_toml`` (kept as a guard) loaded and misled, crashed
mid-run, or gave a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.demo import sample_log
from streams.policy.load import default_policy_text
from tests.integration.cli.test_replay_cli import run

BUSINESS = 'hours = 48\ncounting = "business"'


def edited(old: str, new: str) -> bytes:
    text = default_policy_text()
    assert old in text, old
    return text.replace(old, new, 1).encode()


BAD_POLICIES = {
    "hours_true": (edited(BUSINESS, "hours = true"), "hours must be a whole number"),
    "hours_48.9": (edited(BUSINESS, "hours = 48.9"), "got 48.9"),
    "hours_1e300": (edited(BUSINESS, "hours = 1e300"), "from 1 to 8760"),
    "state_unknown": (
        edited('subdivision = ""', 'subdivision = "jurisdiction"').replace(
            b'state = "AZ"', b'state = "XX"'
        ),
        "state 'XX' is not a US holidays subdivision",
    ),
    "not_utf8": (default_policy_text().replace("Holdwatch", "Holdwätch").encode("cp1252"), "UTF-8"),
    "not_toml": (b"[engine\nallowed_lateness = 10m\n", "not valid TOML"),
    "lateness_999999d": (
        edited('allowed_lateness = "10m"', 'allowed_lateness = "999999d"'),
        "too long",
    ),
}


@pytest.mark.parametrize("name", BAD_POLICIES)
def test_a_bad_policy_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    content, message = BAD_POLICIES[name]
    policy = tmp_path / f"{name}.toml"
    policy.write_bytes(content)
    out = tmp_path / "alerts.jsonl"
    result = run("replay", "--policy", str(policy), "--alerts-out", str(out), str(sample_log()))
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith("holdwatch replay: error: ") and message in stderr
    assert not out.exists() or out.stat().st_size == 0  # stopped before any work
