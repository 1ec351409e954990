"""KafkaSettings: parsing, validation, client kwargs, no password leaks (no broker needed)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import faust
import pytest

from streams.kafka.settings import KafkaSettings, add_cli_arguments, parse_brokers

SECRET = "s3cr3t-pw"  # test value


def test_parse_brokers() -> None:
    assert parse_brokers("kafka://a:9092,kafka://b:9093") == ("a:9092", "b:9093")
    assert parse_brokers("kafka://a:1;b") == ("a:1", "b:9092")
    assert parse_brokers(" a:1 , ") == ("a:1",)
    for bad in ("http://a:1", "kafka://a:x", "", "a:70000"):
        with pytest.raises(ValueError):
            parse_brokers(bad)


def test_defaults_and_plaintext_kwargs() -> None:
    s = KafkaSettings.from_env({})
    assert s.brokers == ("127.0.0.1:9092",)
    assert s.topic_prefix == "holdwatch." and s.partitions == 8
    assert s.kafka_python_kwargs() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert s.faust_kwargs() == {"broker": ["kafka://127.0.0.1:9092"]}


def test_cli_overrides_env() -> None:
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    args = parser.parse_args(["--kafka-brokers", "kafka://x:1,kafka://y:2", "--partitions", "4"])
    env = {"HOLDWATCH_KAFKA_BROKERS": "kafka://ignored:9", "HOLDWATCH_TOPIC_PREFIX": "p."}
    s = KafkaSettings.from_args(args, env)
    assert s.brokers == ("x:1", "y:2") and s.partitions == 4 and s.topic_prefix == "p."


def test_sasl_ssl(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    env = {
        "HOLDWATCH_KAFKA_BROKERS": "kafka://k1:9093",
        "HOLDWATCH_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "HOLDWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "HOLDWATCH_KAFKA_USERNAME": "holdwatch",
        "HOLDWATCH_KAFKA_PASSWORD": SECRET,
    }
    s = KafkaSettings.from_env(env)
    kw = s.kafka_python_kwargs()
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_password"] == SECRET
    assert kw["ssl_context"] is not None
    creds = s.faust_kwargs()["broker_credentials"]
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.protocol.value == "SASL_SSL" and creds.mechanism.value == "SCRAM-SHA-512"
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("kafka %s / %r / %r", s.describe(), s, creds)
    assert SECRET not in caplog.text
    assert "password=***" in s.describe()


def test_ssl_with_ca_file_and_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA file"):
        KafkaSettings(security_protocol="SSL", ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="HOLDWATCH_KAFKA_USERNAME"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT")
    with pytest.raises(ValueError, match="sasl mechanism"):
        KafkaSettings(
            security_protocol="SASL_PLAINTEXT", sasl_mechanism="GSSAPI", username="u", password="p"
        )
    s = KafkaSettings(security_protocol="SSL")
    assert isinstance(s.faust_kwargs()["broker_credentials"], faust.SSLCredentials)
    plain = KafkaSettings(security_protocol="SASL_PLAINTEXT", username="u", password="p")
    creds = plain.faust_kwargs()["broker_credentials"]
    assert creds.protocol.value == "SASL_PLAINTEXT" and creds.mechanism.value == "PLAIN"
    assert "ssl_context" not in plain.kafka_python_kwargs()
