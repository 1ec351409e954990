"""The user's files and ports, checked before any work, and closed cleanly on SIGTERM/SIGINT.

A replay must never destroy or half-write a file: an output that is the input log (by any path,
a symlink or a hard link: the same inode) or two outputs on one file are refused before
anything is read or truncated; the outputs and the metrics port are opened and bound before the
first event; and a signal lets the writers finish the record they are writing and close (a
gzip gets its trailer), so what was written is a valid file.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from types import FrameType
from typing import IO, Any

import orjson

from streams.errors import UsageError

Identity = tuple[str, Any, Any]


def _identity(path: str) -> Identity | None:
    """What ``path`` names: a regular file's (device, inode), a path not yet there, or None for
    what is not an ordinary file (a terminal, /dev/null, a pipe): those may be shared."""
    try:
        info = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)  # follows links
    except FileNotFoundError:
        return ("path", os.path.realpath(path), None)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return ("inode", info.st_dev, info.st_ino)


def refuse_clobbering(log: str, outputs: Mapping[str, str | None]) -> None:
    """UsageError if an output is the input log or two outputs are one file (flag -> path).

    ``-`` as an output is stdout (never checked); ``-`` as the log is stdin, checked when it is
    a regular file (``< log.jsonl``)."""
    source = _identity(log)
    seen: dict[Identity, str] = {}
    for flag, path in outputs.items():
        if path is None or path == "-":
            continue
        identity = _identity(path)
        if identity is None:
            continue
        if identity == source:
            raise UsageError(
                f"{flag} {path} is the input log {'(stdin)' if log == '-' else log}: "
                "refusing to overwrite it "
                "(write the output elsewhere)"
            )
        if identity in seen:
            raise UsageError(
                f"{seen[identity]} and {flag} name the same file {path}: give each its own file"
            )
        seen[identity] = flag


def open_for_writing(path: str, flag: str) -> IO[bytes]:
    """An output the run writes only at its end, opened now: a bad path fails before work."""
    try:
        return open(path, "wb")  # closed by the caller's ExitStack
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None


def write_summary(out: IO[bytes], payload: dict[str, Any], path: str) -> None:
    """``--summary-json`` of both replays: the summary, indented, and the file closed. A failed
    write is one usage-error line; the file is closed without raising twice (the buffer is lost
    either way)."""
    try:
        out.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
        out.close()
    except OSError as exc:
        with suppress(OSError):
            out.close()
        raise UsageError(f"cannot write --summary-json {path}: {exc.strerror or exc}") from None


def every_line_dead(lines: int) -> int:
    """Both replays' exit 1 when no line was an event: the input is most likely not JSON Lines."""
    print(
        f"holdwatch replay: error: every line ({lines}) was a dead letter: "
        "is this UTF-8 JSON Lines (one event per line)?",
        file=sys.stderr,
    )
    return 1


def serve_metrics(serve: Any, host: str, port: int) -> None:
    """Bind the metrics port before any work: a busy or forbidden port is one line."""
    try:
        serve(host, port)
    except OSError as exc:
        raise UsageError(
            f"--metrics-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    except OverflowError:
        raise UsageError(f"--metrics-port {port}: not a port number (0-65535)") from None


def check_port_free(host: str, port: int) -> None:
    """For a worker started later (or in a child process): fail now if the port is taken.

    Binds with SO_REUSEADDR, as the metrics server does, so a port in TIME_WAIT is not refused.
    """
    import socket

    if not 0 <= port <= 65535:
        raise UsageError(f"--metrics-port {port}: not a port number (0-65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"--metrics-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived; raised between records, never inside a write."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """Turns SIGTERM and SIGINT into :class:`Interrupted`, deferred while a record is written.

    A signal's default action (SIGTERM) kills the process mid-gzip-block; an exception raised in
    the middle of ``GzipFile.write`` can lose bytes already counted in the CRC. Both leave a
    file ``gzip -t`` rejects. Here the writers run inside :meth:`critical`; a signal during one
    is raised when it ends, and the caller's ``finally`` closes every output.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._busy = 0
        self._pending: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._busy:
            self._pending = signum
        else:
            raise Interrupted(signum)

    @contextmanager
    def critical(self) -> Iterator[None]:
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy and self._pending is not None:
                signum, self._pending = self._pending, None
                raise Interrupted(signum)

    def guarded(self, write: Any) -> Any:
        """``write`` run as a critical section."""

        def guarded_write(record: Any) -> None:
            with self.critical():
                write(record)

        return guarded_write

    def __enter__(self) -> SignalGuard:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        if kind is None and self._pending is not None:  # arrived while the outputs closed
            signum, self._pending = self._pending, None
            raise Interrupted(signum)

    def hold(self) -> None:
        """From now on (closing the outputs), signals wait until :meth:`__exit__`."""
        self._busy += 1
