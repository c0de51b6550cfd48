"""A local SMTP sink for demos and tests: accepts every message and stores it as an .eml file.

``python -m services.delivery.smtp_sink --port 2525 --dir .state/mail`` listens until Ctrl-C.
Each message lands atomically (written, then renamed) as ``<ns>-<random>.eml`` in the folder,
with its envelope prepended as ``X-Envelope-From`` / ``X-Envelope-To`` headers;
``read_messages(folder)`` parses them back, oldest first. ``SmtpSink`` runs the server on its own
event loop in a thread (``port=0`` picks a free port) and raises at ``start`` if it cannot listen.
"""
from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import logging
import signal
import sys
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("services.delivery.smtp_sink")


def store(folder: Path, envelope: Envelope) -> Path:
    """Write one received message (envelope headers first) and return its path."""
    rcpts = ", ".join(envelope.rcpt_tos)
    head = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {rcpts}\r\n".encode()
    content = envelope.original_content or envelope.content or b""
    body = content if isinstance(content, bytes) else content.encode("utf-8")
    path = folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(head + body)
    tmp.replace(path)
    return path


def read_messages(folder: str | Path) -> list[EmailMessage]:
    """Every stored message in ``folder``, oldest first."""
    paths = sorted(Path(folder).glob("*.eml"))
    return [cast(EmailMessage, email.message_from_bytes(p.read_bytes(), policy=email.policy.default)) for p in paths]


class StoreHandler:
    """aiosmtpd handler: store the message, answer 250."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        path = store(self.folder, envelope)
        log.info("stored message from %s to %s as %s", envelope.mail_from, ", ".join(envelope.rcpt_tos), path.name)
        return "250 Message accepted for delivery"


class SmtpSink:
    """The sink server on a private event loop in a daemon thread."""

    def __init__(self, folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = Path(folder)
        self.host, self.port = host, port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="smtp-sink", daemon=True)

    def start(self) -> SmtpSink:
        """Listen, or raise RuntimeError saying why not."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"SMTP sink did not start on {self.host}:{self.port} within 10 s")
        if self._error is not None:
            raise RuntimeError(f"SMTP sink cannot listen on {self.host}:{self.port}: {self._error}")
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        handler = StoreHandler(self.folder)
        try:
            server = loop.run_until_complete(
                loop.create_server(lambda: SMTP(handler, loop=loop, hostname="smtp-sink"), self.host, self.port))
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    def stop(self) -> None:
        """Stop listening and wait for the server thread."""
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.folder)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m services.delivery.smtp_sink",
                                 description="Local SMTP server that stores every message as an .eml file.")
    ap.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=2525, help="port to listen on, 0 = any free port (default 2525)")
    ap.add_argument("--dir", default=".state/mail", help="folder for the .eml files (default .state/mail)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sink until SIGINT/SIGTERM."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sink = SmtpSink(args.dir, args.host, args.port).start()
    except RuntimeError as exc:
        print(f"smtp_sink: {exc}", file=sys.stderr)
        return 2
    log.info("SMTP sink listening on %s:%s, storing messages in %s", sink.host, sink.port, sink.folder.resolve())
    stop.wait()
    sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
