"""Every package type-checks under ``mypy --strict``, the CLI and logging included.

On main the configuration listed ten packages and left ``streams/cli``, ``logging_setup``,
``keys`` and ``privacy`` out, and excused every import without types; over the whole
package it found errors in the CLI and the logging setup. The configuration is pyproject's
``[tool.mypy]``; this runs it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from mypy import api

REPO = Path(__file__).resolve().parents[2]


def test_mypy_is_strict_over_the_whole_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert config["files"] == ["streams"]
    # Missing types are excused per untyped library, never for every import at once.
    assert "ignore_missing_imports" not in config


def test_the_package_type_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # ``files`` is relative to the repository
    out, err, status = api.run(["--config-file", str(REPO / "pyproject.toml")])
    assert status == 0, out + err
