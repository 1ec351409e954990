"""Kafka connection settings for Holdwatch, from CLI flags and environment.

One object feeds every client we use -- kafka-python (admin, test producers),
and faust.App (aiokafka underneath) -- so security options are written once.
Secrets come only from the environment (``HOLDWATCH_KAFKA_USERNAME`` /
``HOLDWATCH_KAFKA_PASSWORD``), never from flags (they would show in ``ps``),
and the password is excluded from ``repr``/``describe()`` so it cannot leak
into logs.

Precedence: explicit CLI flag > environment > default.
"""

from __future__ import annotations

import argparse
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.kafka.topics import DEFAULT_PARTITIONS, DEFAULT_PREFIX, TopicNames

__all__ = [
    "DEFAULT_BROKER",
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "KafkaSettings",
    "add_cli_arguments",
    "parse_brokers",
]

DEFAULT_BROKER = "kafka://127.0.0.1:9092"
DEFAULT_PORT = 9092
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

ENV_BROKERS = "HOLDWATCH_KAFKA_BROKERS"
ENV_PREFIX = "HOLDWATCH_TOPIC_PREFIX"
ENV_PARTITIONS = "HOLDWATCH_KAFKA_PARTITIONS"
ENV_PROTOCOL = "HOLDWATCH_KAFKA_SECURITY_PROTOCOL"
ENV_MECHANISM = "HOLDWATCH_KAFKA_SASL_MECHANISM"
ENV_USERNAME = "HOLDWATCH_KAFKA_USERNAME"
ENV_PASSWORD = "HOLDWATCH_KAFKA_PASSWORD"
ENV_CA_FILE = "HOLDWATCH_KAFKA_CA_FILE"


def parse_brokers(spec: str) -> tuple[str, ...]:
    """``"kafka://a:9092,b:9093;kafka://c"`` -> ``("a:9092", "b:9093", "c:9092")``.

    Accepts ``,`` or ``;`` separators (Faust uses ``;``), optional
    ``kafka://`` scheme and a default port of 9092.
    """
    out: list[str] = []
    for raw in spec.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        scheme, sep, rest = item.partition("://")
        if sep:
            if scheme.lower() not in ("kafka", "aiokafka"):
                raise ValueError(f"unsupported broker URL scheme {scheme!r} in {item!r}")
            item = rest
        item = item.rstrip("/")
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(DEFAULT_PORT)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad broker address {raw.strip()!r}; expected kafka://host:port")
        out.append(f"{host}:{int(port)}")
    if not out:
        raise ValueError("no broker given")
    return tuple(out)


@dataclass(frozen=True)
class KafkaSettings:
    """Validated connection + topic settings (immutable)."""

    brokers: tuple[str, ...] = ("127.0.0.1:9092",)
    topic_prefix: str = DEFAULT_PREFIX
    partitions: int = DEFAULT_PARTITIONS
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.brokers:
            raise ValueError("at least one broker is required")
        if self.partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {self.partitions}")
        proto = self.security_protocol.upper()
        object.__setattr__(self, "security_protocol", proto)
        if proto not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"security_protocol must be one of {SECURITY_PROTOCOLS}, got {proto!r}"
            )
        if proto.startswith("SASL"):
            mech = (self.sasl_mechanism or "PLAIN").upper()
            object.__setattr__(self, "sasl_mechanism", mech)
            if mech not in SASL_MECHANISMS:
                raise ValueError(f"sasl mechanism must be one of {SASL_MECHANISMS}, got {mech!r}")
            if not self.username or self.password is None:
                raise ValueError(
                    f"{proto} needs {ENV_USERNAME} and {ENV_PASSWORD} in the environment"
                )
        if self.ca_file is not None and not os.path.isfile(self.ca_file):
            raise ValueError(f"CA file {self.ca_file!r} does not exist")

    # -- construction -----------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> KafkaSettings:
        """Build from ``HOLDWATCH_KAFKA_*`` env vars; non-None *overrides* win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "brokers": parse_brokers(env.get(ENV_BROKERS, DEFAULT_BROKER)),
            "topic_prefix": env.get(ENV_PREFIX, DEFAULT_PREFIX),
            "partitions": int(env.get(ENV_PARTITIONS, DEFAULT_PARTITIONS)),
            "security_protocol": env.get(ENV_PROTOCOL, "PLAINTEXT"),
            "sasl_mechanism": env.get(ENV_MECHANISM) or None,
            "username": env.get(ENV_USERNAME) or None,
            "password": env.get(ENV_PASSWORD),
            "ca_file": env.get(ENV_CA_FILE) or None,
        }
        for key, value in overrides.items():
            if value is not None:
                values[key] = (
                    parse_brokers(value) if key == "brokers" and isinstance(value, str) else value
                )
        return cls(**values)

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, env: Mapping[str, str] | None = None
    ) -> KafkaSettings:
        """Build from flags added by :func:`add_cli_arguments`, falling back to env."""
        return cls.from_env(
            env,
            brokers=getattr(args, "kafka_brokers", None),
            topic_prefix=getattr(args, "topic_prefix", None),
            partitions=getattr(args, "partitions", None),
            security_protocol=getattr(args, "kafka_security_protocol", None),
            sasl_mechanism=getattr(args, "kafka_sasl_mechanism", None),
            ca_file=getattr(args, "kafka_ca_file", None),
        )

    # -- derived values ---------------------------------------------------
    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def broker_urls(self) -> list[str]:
        """``kafka://host:port`` per broker, the form faust.App(broker=...) takes."""
        return [f"kafka://{b}" for b in self.brokers]

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Client TLS context verifying the broker (CA file or system store)."""
        if not self.uses_ssl:
            return None
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)

    def kafka_python_kwargs(self) -> dict[str, Any]:
        """Kwargs for kafka-python ``KafkaAdminClient``/``KafkaProducer``/``KafkaConsumer``."""
        kw: dict[str, Any] = {
            "bootstrap_servers": list(self.brokers),
            "security_protocol": self.security_protocol,
        }
        if self.uses_ssl:
            kw["ssl_context"] = self.ssl_context()
        if self.security_protocol.startswith("SASL"):
            kw["sasl_mechanism"] = self.sasl_mechanism
            kw["sasl_plain_username"] = self.username
            kw["sasl_plain_password"] = self.password
        return kw

    def faust_kwargs(self) -> dict[str, Any]:
        """Kwargs for ``faust.App``: ``broker`` plus ``broker_credentials`` when secured.

        Faust derives SASL_SSL vs SASL_PLAINTEXT from whether the SASL
        credentials carry an ssl_context, so we always pass our own context
        (faust's ``SSLCredentials()`` without ``purpose`` cannot build one).
        """
        import faust

        kw: dict[str, Any] = {"broker": self.broker_urls}
        ctx = self.ssl_context()
        if self.security_protocol.startswith("SASL"):
            kw["broker_credentials"] = faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=ctx,
                mechanism=self.sasl_mechanism,
            )
        elif ctx is not None:
            kw["broker_credentials"] = faust.SSLCredentials(ctx)
        return kw

    def describe(self) -> str:
        """Loggable one-liner; never includes the password."""
        auth = ""
        if self.security_protocol.startswith("SASL"):
            auth = f" sasl={self.sasl_mechanism} user={self.username} password=***"
        ca = f" ca={self.ca_file}" if self.ca_file else ""
        return (
            f"brokers={','.join(self.brokers)} protocol={self.security_protocol}{auth}{ca} "
            f"prefix={self.topic_prefix!r} partitions={self.partitions}"
        )


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--kafka-*`` flags (all default to None so env can fill them)."""
    g = parser.add_argument_group("kafka")
    g.add_argument(
        "--kafka-brokers",
        metavar="URLS",
        help=f"kafka://host:port[,kafka://host:port...] (env {ENV_BROKERS})",
    )
    g.add_argument(
        "--topic-prefix",
        metavar="PREFIX",
        help=f"topic name prefix, default {DEFAULT_PREFIX!r} (env {ENV_PREFIX})",
    )
    g.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help=f"partitions per topic, default {DEFAULT_PARTITIONS} (env {ENV_PARTITIONS})",
    )
    g.add_argument(
        "--kafka-security-protocol",
        choices=SECURITY_PROTOCOLS,
        help=f"default PLAINTEXT (env {ENV_PROTOCOL})",
    )
    g.add_argument(
        "--kafka-sasl-mechanism",
        choices=SASL_MECHANISMS,
        help=f"default PLAIN for SASL_* (env {ENV_MECHANISM}); credentials only "
        f"from env {ENV_USERNAME} / {ENV_PASSWORD}",
    )
    g.add_argument(
        "--kafka-ca-file", metavar="PEM", help=f"CA bundle for SSL/SASL_SSL (env {ENV_CA_FILE})"
    )
