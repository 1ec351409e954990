"""Worker, replay and alerts tail all take SASL_SSL settings and credentials from the environment,
and the password never shows in what they log."""

from __future__ import annotations

import pytest

from streams.cli.main import build_parser
from streams.cli.worker import kafka_settings

ENV = {
    "HOLDWATCH_KAFKA_BROKERS": "kafka://kafka-1:9093",
    "HOLDWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "HOLDWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "HOLDWATCH_KAFKA_USERNAME": "holdwatch",
    "HOLDWATCH_KAFKA_PASSWORD": "s3cret-pw",
}


@pytest.mark.parametrize(
    "argv", [["worker"], ["replay", "log.jsonl", "--kafka"], ["alerts", "tail"]]
)
def test_sasl_ssl_from_the_environment(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(argv)
    settings = kafka_settings(args)
    kw = settings.kafka_python_kwargs()
    assert kw["bootstrap_servers"] == ["kafka-1:9093"]
    assert kw["security_protocol"] == "SASL_SSL" and kw["ssl_context"] is not None
    assert (kw["sasl_mechanism"], kw["sasl_plain_username"], kw["sasl_plain_password"]) == (
        "SCRAM-SHA-512",
        "holdwatch",
        "s3cret-pw",
    )
    faust = settings.faust_kwargs()["broker_credentials"]
    assert faust.username == "holdwatch"
    assert "s3cret-pw" not in settings.describe() and "s3cret-pw" not in repr(settings)


def test_sasl_without_credentials_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.errors import UsageError

    monkeypatch.setenv("HOLDWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("HOLDWATCH_KAFKA_USERNAME", raising=False)
    monkeypatch.delenv("HOLDWATCH_KAFKA_PASSWORD", raising=False)
    with pytest.raises(UsageError, match="HOLDWATCH_KAFKA_USERNAME"):
        kafka_settings(build_parser().parse_args(["alerts", "tail"]))


def test_no_password_flag_exists() -> None:
    for argv in (["worker", "--help"], ["alerts", "tail", "--help"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args([*argv[:-1], "--kafka-password", "x"])
