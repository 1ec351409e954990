"""Apache Kafka without Docker: docker-compose.yml's ``kafka`` service, run from Maven Central jars.

Engineers run Holdwatch on Apache Kafka (``docker compose up``); the tests and a developer without
Docker run the *same* broker configuration on this machine:

* the jars: ``deploy/kafka/pom.xml`` pins ``org.apache.kafka:kafka_2.13`` at the version of the
  compose image (a test keeps the two equal); Maven resolves them into the user's Maven cache
  once, and the classpath is remembered beside it (``~/.m2/holdwatch/``);
* the configuration: the ``kafka`` service's ``environment`` from docker-compose.yml, with only
  the listeners moved to free loopback ports and the log directory to a temporary one, handed to
  the image's own entry point (``kafka.docker.KafkaDockerWrapper setup``: ``KAFKA_FOO_BAR`` becomes
  ``foo.bar``, ``CLUSTER_ID`` feeds ``storage format``), so a wrong setting in compose fails here
  as it would in the container;
* the process: ``java kafka.Kafka server.properties`` in its own process group, stopped by PID.

Needs Java 17 and Maven (``mvn``) on the PATH; ``python -m streams.kafka.apache`` runs one until
Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streams.kafka.broker import BrokerProcess, BrokerStartError, free_port

__all__ = [
    "COMPOSE_FILE",
    "POM_FILE",
    "ApacheKafka",
    "KafkaSetupError",
    "check_cluster_id",
    "compose_kafka_service",
    "kafka_classpath",
    "loopback_environment",
    "pom_kafka_version",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
POM_FILE = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
SERVICE = "kafka"
# The image's own entry point: environment -> server.properties, then ``storage format``.
WRAPPER = "kafka.docker.KafkaDockerWrapper"
LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=WARN
"""


class KafkaSetupError(BrokerStartError):
    """Java, Maven, the jars or the compose configuration are not usable; one line says which."""


# -- configuration from docker-compose.yml ------------------------------------------------------


def compose_kafka_service(compose_file: Path = COMPOSE_FILE) -> tuple[str, dict[str, str]]:
    """The ``kafka`` service's image and environment (values as strings, as Docker passes them)."""
    import yaml  # only this runner reads compose files

    with open(compose_file, encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    try:
        service = document["services"][SERVICE]
    except (KeyError, TypeError) as exc:
        raise KafkaSetupError(f"{compose_file}: no services.{SERVICE}") from exc
    raw = service.get("environment") or {}
    if isinstance(raw, list):  # the KEY=VALUE list form
        raw = dict(item.split("=", 1) for item in raw)
    env = {str(k): "" if v is None else _compose_str(v) for k, v in raw.items()}
    return str(service.get("image", "")), env


def _compose_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def image_version(image: str) -> str:
    """``apache/kafka:3.8.0`` -> ``3.8.0``."""
    _, _, tag = image.rpartition(":")
    return tag


def pom_kafka_version(pom_file: Path = POM_FILE) -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom_file.read_text())
    if match is None:
        raise KafkaSetupError(f"{pom_file}: no <kafka.version> property")
    return match.group(1).strip()


def check_cluster_id(value: str) -> None:
    """Kafka's ``Uuid.fromString`` contract: base64url (no padding) of 16 bytes, 22 characters,
    which is what ``kafka-storage random-uuid`` prints. Anything else is not a cluster id."""
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        decoded = b""
    if len(value) != 22 or len(decoded) != 16:
        raise KafkaSetupError(
            f"CLUSTER_ID {value!r} is not a Kafka cluster id: it must be 22 characters of "
            f"base64url encoding 16 bytes (as `kafka-storage random-uuid` prints), got "
            f"{len(value)} characters"
        )


_LISTENER = re.compile(r"^(?P<name>[A-Za-z0-9_]+)://(?P<host>[^:,]*):(?P<port>\d+)$")


def loopback_environment(
    env: dict[str, str], host: str, ports: dict[str, int], log_dir: Path
) -> dict[str, str]:
    """The compose environment with every listener on ``host`` (``ports`` by listener name) and
    the log directory moved; nothing else is touched, so the test runs compose's own settings."""

    def move(listeners: str) -> str:
        out = []
        for item in listeners.split(","):
            match = _LISTENER.match(item.strip())
            if match is None or match["name"] not in ports:
                raise KafkaSetupError(f"cannot move listener {item!r} to loopback")
            out.append(f"{match['name']}://{host}:{ports[match['name']]}")
        return ",".join(out)

    moved = dict(env)
    moved["KAFKA_LISTENERS"] = move(env["KAFKA_LISTENERS"])
    if "KAFKA_ADVERTISED_LISTENERS" in env:
        moved["KAFKA_ADVERTISED_LISTENERS"] = move(env["KAFKA_ADVERTISED_LISTENERS"])
    controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER").split(",")[0]
    if "KAFKA_CONTROLLER_QUORUM_VOTERS" in env:
        node = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@", 1)[0]
        moved["KAFKA_CONTROLLER_QUORUM_VOTERS"] = f"{node}@{host}:{ports[controller]}"
    moved["KAFKA_LOG_DIRS"] = str(log_dir)
    return moved


# -- the jars ----------------------------------------------------------------------------------


def _cache_dir() -> Path:
    return Path(os.environ.get("HOLDWATCH_KAFKA_CACHE", Path.home() / ".m2" / "holdwatch"))


def kafka_classpath(pom_file: Path = POM_FILE) -> str:
    """The broker's classpath, resolved by Maven once per pom (cached beside the Maven cache)."""
    digest = hashlib.sha256(pom_file.read_bytes()).hexdigest()[:16]
    cache = _cache_dir() / f"kafka-{pom_kafka_version(pom_file)}-{digest}.classpath"
    if cache.exists():
        classpath = cache.read_text().strip()
        if classpath and all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            return classpath
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaSetupError(
            "Apache Kafka's jars come from Maven Central: install Maven (`mvn`) and Java 17"
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom_file), "dependency:build-classpath",
         f"-Dmdep.outputFile={cache}"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not cache.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise KafkaSetupError(f"Maven could not resolve {pom_file}: {' | '.join(tail)}")
    return cache.read_text().strip()


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaSetupError("Apache Kafka needs Java 17 (`java` on the PATH or JAVA_HOME)")
    return java


# -- the broker --------------------------------------------------------------------------------


class ApacheKafka(BrokerProcess):
    """docker-compose.yml's ``kafka`` service as a local process on free loopback ports.

    ``stop()`` then ``start()`` restarts it on the same port with the same data (a broker
    outage); ``close()`` also removes the data directory it created.
    """

    name = "Apache Kafka"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        compose_file: Path = COMPOSE_FILE,
        pom_file: Path = POM_FILE,
        data_dir: Path | None = None,
        heap: str = "512m",
        startup_timeout: float = 90.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(host=host, port=port, startup_timeout=startup_timeout, log_path=log_path)
        self.compose_file = compose_file
        self.pom_file = pom_file
        self.heap = heap
        self._data_arg = data_dir
        self._work: Path | None = None
        self._controller_port: int | None = None
        self._setup_port: int | None = None
        self.image, self.compose_env = compose_kafka_service(compose_file)

    @property
    def work_dir(self) -> Path:
        if self._work is None:
            self._work = self._data_arg or Path(tempfile.mkdtemp(prefix="holdwatch-kafka-"))
        return self._work

    def _prepare(self, port: int) -> None:
        check_cluster_id(self.compose_env.get("CLUSTER_ID", ""))
        self.classpath = kafka_classpath(self.pom_file)
        if (self.work_dir / "data" / "meta.properties").exists() and port == self._setup_port:
            return  # a restart: configured and formatted already, as a container's volume is
        if self._controller_port is None:
            self._controller_port = free_port(self.host)
        controller = self.compose_env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        ports = {"PLAINTEXT": port, controller.split(",")[0]: self._controller_port}
        env = loopback_environment(self.compose_env, self.host, ports, self.work_dir / "data")
        configs = {name: self.work_dir / name for name in ("default", "mounted", "final")}
        for path in configs.values():
            path.mkdir(parents=True, exist_ok=True)
        (configs["default"] / "server.properties").write_text("")
        (configs["default"] / "log4j.properties").write_text(LOG4J)
        (configs["default"] / "tools-log4j.properties").write_text(LOG4J)
        # Only compose's variables reach the wrapper: a KAFKA_* of the caller's shell must not.
        base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        base.pop("CLUSTER_ID", None)
        self._env = {**base, **env}
        result = subprocess.run(
            [_java(), "-cp", self.classpath, WRAPPER, "setup",
             "-D", str(configs["default"]), "-M", str(configs["mounted"]),
             "-F", str(configs["final"])],
            env=self._env,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            lines = [
                line
                for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and not line.startswith("SLF4J")
            ]
            raise KafkaSetupError(
                f"the compose kafka configuration does not start: {' | '.join(lines[-3:])}"
            )
        self.server_properties = configs["final"] / "server.properties"
        self._setup_port = port

    def _command(self, port: int) -> tuple[list[str], dict[str, str]]:
        final = self.server_properties.parent
        cmd = [
            _java(),
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{final / 'log4j.properties'}",
            "-cp",
            self.classpath,
            "kafka.Kafka",
            str(self.server_properties),
        ]
        return cmd, self._env

    def close(self) -> None:
        super().close()
        if self._work is not None and self._data_arg is None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.kafka.apache",
        description="Run docker-compose.yml's Apache Kafka broker on this machine (no Docker; "
        "Java 17 and Maven needed), until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=9092, help="client port (default 9092)")
    parser.add_argument("--data-dir", type=Path, help="keep the data here (default: temporary)")
    args = parser.parse_args(argv)
    broker = ApacheKafka(port=args.port, data_dir=args.data_dir)
    try:
        broker.start()
    except BrokerStartError as exc:
        print(f"holdwatch: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"Apache Kafka {image_version(broker.image)} on {broker.bootstrap}; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        while broker.running:
            time.sleep(0.5)
    broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
