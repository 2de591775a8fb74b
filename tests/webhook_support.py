"""A real HTTP receiver on 127.0.0.1 in a thread, for webhook tests, and the platform switch that lets it be reached."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from domain.webhooks import transport


class Receiver:
    """Records every request (headers, body); answers with the statuses queued in `answers` (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                answer = (b"ok" if status < 300 else b"server error " + b"x" * 5000)
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def local_receivers_allowed():
    """The platform setting WEBHOOKS_ALLOW_PRIVATE (and plain http) on, as for a receiver on the same host."""
    before = transport.policy()
    transport.configure(transport.Policy(allow_private=True, allow_http=True))
    try:
        yield
    finally:
        transport.configure(before)


def documented(event_type: str, data: dict) -> dict:
    """An event's `data` checked against what the OpenAPI's `webhooks` say of its type (api/schemas/events.py):
    every documented field present, none other, each of its documented kind. Returns it."""
    from api.schemas.events import EVENT_DATA

    EVENT_DATA[event_type].model_validate(data)
    return data
