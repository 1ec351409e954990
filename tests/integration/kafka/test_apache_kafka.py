"""docker-compose.yml's ``kafka`` service, started for real from Maven Central jars.

The broker's configuration is the compose service's environment handed to the image's own entry
point (``streams/kafka/apache.py``), so a wrong ``CLUSTER_ID`` or setting in compose fails here
as it would in the container.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from streams.kafka.apache import (
    COMPOSE_FILE,
    POM_FILE,
    ApacheKafka,
    KafkaSetupError,
    check_cluster_id,
    compose_kafka_service,
    image_version,
    pom_kafka_version,
)
from streams.kafka.broker import BrokerStartError
from tests.integration.brokers import kafka_available

pytestmark = pytest.mark.kafka


@pytest.fixture
def needs_kafka() -> None:
    reason = kafka_available()
    if reason is not None:
        pytest.skip(reason)


def compose_with(tmp_path: Path, **environment: str) -> Path:
    """docker-compose.yml with some of the kafka service's environment replaced."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    document["services"]["kafka"]["environment"].update(environment)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_broker_jars_are_the_version_of_the_compose_image() -> None:
    image, _ = compose_kafka_service()
    assert image.startswith("apache/kafka:")
    assert pom_kafka_version(POM_FILE) == image_version(image)


def test_a_cluster_id_must_be_sixteen_bytes_of_base64url() -> None:
    check_cluster_id("aG9sZHdhdGNoLWthZmthAA")
    for wrong in ("hOlDwAtChKrAfTcLuStEr", "", "not a uuid at all!!!!!", "aG9sZHdhdGNoLWthZmthAAA"):
        with pytest.raises(KafkaSetupError, match="not a Kafka cluster id"):
            check_cluster_id(wrong)


@pytest.mark.usefixtures("needs_kafka")
def test_the_compose_kafka_service_starts_and_serves_its_configuration() -> None:
    _, env = compose_kafka_service()
    with ApacheKafka() as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        try:
            assert admin.describe_cluster()["cluster_id"] == env["CLUSTER_ID"]
            admin.create_topics([NewTopic("holdwatch.probe", 8, 1)])
            assert "holdwatch.probe" in admin.list_topics()
        finally:
            admin.close()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send("holdwatch.probe", key=b"k", value=b"v").get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(
            "holdwatch.probe",
            bootstrap_servers=broker.bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=10_000,
        )
        assert [r.value for r in consumer] == [b"v"]
        consumer.close()
        # compose turns auto-creation off: a topic must come from `holdwatch topics create`.
        assert "auto.create.topics.enable=false" in broker.server_properties.read_text()


@pytest.mark.usefixtures("needs_kafka")
def test_the_cluster_id_the_compose_file_had_fails_at_start(tmp_path: Path) -> None:
    compose = compose_with(tmp_path, CLUSTER_ID="hOlDwAtChKrAfTcLuStEr")
    with pytest.raises(KafkaSetupError, match="CLUSTER_ID"), ApacheKafka(compose_file=compose):
        pass


@pytest.mark.usefixtures("needs_kafka")
def test_a_wrong_setting_in_compose_fails_at_start(tmp_path: Path) -> None:
    compose = compose_with(tmp_path, KAFKA_NUM_PARTITIONS="eight")
    with pytest.raises(BrokerStartError), ApacheKafka(compose_file=compose, startup_timeout=30):
        pass


@pytest.mark.usefixtures("needs_kafka")
def test_a_stopped_broker_restarts_on_its_port_with_its_data() -> None:
    with ApacheKafka() as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic("holdwatch.kept", 2, 1)])
        admin.close()
        port = broker.port
        broker.stop()
        assert not broker.running
        broker._requested_port = port
        broker.start()
        assert broker.port == port
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        assert "holdwatch.kept" in admin.list_topics()
        admin.close()
