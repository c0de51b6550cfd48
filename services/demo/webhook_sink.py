"""A tiny local webhook receiver for the demo's push sender: answers 204 and counts POSTs.

``WebhookSink(port).start()`` serves on 127.0.0.1 in a daemon thread; ``received`` is the number
of pushes taken, ``last`` the most recent JSON body (for a glance in the demo's log).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookSink:
    """The receiver: a threading HTTP server and its counters."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.received = 0
        self.last: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/push"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def record(self, body: bytes) -> None:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with self._lock:
            self.received += 1
            self.last = parsed if isinstance(parsed, dict) else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                sink.record(self.rfile.read(length))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the summary line counts pushes."""

        return Handler
