"""A minimal Alertmanager webhook receiver: the default end of the alert path.

Alertmanager POSTs a JSON notification (version 4 webhook payload) to
/critical or /warning; this prints one JSON line per notification to stdout
(``docker compose logs -f alert-receiver``) and, if HOLDWATCH_RECEIVER_OUT is set,
appends it to that file. GET /healthz answers 200. Standard library only, so it runs
on the plain python image. Replace it by pointing HOLDWATCH_WEBHOOK_URL elsewhere.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "holdwatch-alert-receiver/1"

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, b"ok\n")
        else:
            self._reply(404, b"not found\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, b"bad length\n")
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(400, b"not json\n")
            return
        line = json.dumps(
            {
                "path": self.path,
                "receiver": payload.get("receiver"),
                "status": payload.get("status"),
                "groupLabels": payload.get("groupLabels"),
                "alerts": [
                    {
                        "status": a.get("status"),
                        "labels": a.get("labels"),
                        "annotations": a.get("annotations"),
                        "startsAt": a.get("startsAt"),
                        "endsAt": a.get("endsAt"),
                    }
                    for a in payload.get("alerts", [])
                ],
            },
            sort_keys=True,
        )
        with _lock:
            print(line, flush=True)
            out = os.environ.get("HOLDWATCH_RECEIVER_OUT")
            if out:
                with open(out, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
        self._reply(200, b"ok\n")

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        print(fmt % args, file=sys.stderr)


def main() -> None:
    host = os.environ.get("HOLDWATCH_RECEIVER_HOST", "0.0.0.0")
    port = int(os.environ.get("HOLDWATCH_RECEIVER_PORT", "9095"))
    server = ThreadingHTTPServer((host, port), Handler)
    print(f"alert receiver listening on {host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
