"""A local HTTP server answering like Stripe's API for the calls the app makes, and Stripe-style webhook signing.

The real `stripe` library talks to it (its API base pointed here). It records every request (path,
form parameters decoded from Stripe's bracket notation, headers) so tests can check what was sent;
it answers GET /v1/balance, POST /v1/checkout/sessions, GET /v1/checkout/sessions/<id> (an open session past its
`expires_at` reads expired, as on Stripe) and POST /v1/checkout/sessions/<id>/expire (only an open session can be
expired) with Stripe-shaped objects,
refuses a request without a Bearer key with Stripe's 401 error body, and can be told to fail.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from domain.payments.providers import charge_refunded_event, dispute_event, encode_event, sign_payload

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def decode_form(body: str) -> dict:
    """`line_items[0][price_data][currency]=eur` -> {"line_items": [{"price_data": {"currency": "eur"}}]}."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [m.group(1) if m.group(1) is not None else m.group(2) for m in _KEY.finditer(key)]
        node = root
        for part, following in zip(parts, parts[1:] + [None], strict=True):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class StripeFake:
    def __init__(self):
        self.requests: list[dict] = []
        self.sessions: dict[str, dict] = {}
        self.fail_next: int | None = None  # an HTTP status to answer the next requests with...
        self.fail_times = 1  # ...this many times (the library retries)
        self.revoked_keys: set[str] = set()  # answered 401 as Stripe answers a rolled or deleted key
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(data)

            def _common(self, params: dict) -> bool:
                fake.requests.append({"method": self.command, "path": self.path, "params": params,
                                      "headers": dict(self.headers)})
                authorization = self.headers.get("Authorization") or ""
                if not authorization.startswith("Bearer sk_") or authorization[len("Bearer "):] in fake.revoked_keys:
                    self._send(401, {"error": {"type": "invalid_request_error",
                                               "message": "Invalid API Key provided"}})
                    return False
                if fake.fail_next:
                    status = fake.fail_next
                    fake.fail_times -= 1
                    if fake.fail_times <= 0:
                        fake.fail_next = None
                    self._send(status, {"error": {"type": "api_error", "message": "Stripe is down (fake)"}})
                    return False
                return True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = decode_form(self.rfile.read(length).decode())
                if not self._common(params):
                    return
                expire = re.fullmatch(r"/v1/checkout/sessions/([\w]+)/expire", self.path)
                if expire:
                    session = fake.session(expire.group(1))
                    if session is None:
                        self._send(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
                    elif session["status"] != "open":
                        self._send(400, {"error": {"type": "invalid_request_error", "code": "checkout_session_expire",
                                                   "message": 'Only Checkout Sessions with a status in ["open"] '
                                                              "can be expired."}})
                    else:
                        session["status"] = "expired"
                        self._send(200, session)
                    return
                if self.path != "/v1/checkout/sessions":
                    self._send(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})
                    return
                fake_id = "cs_test_" + secrets.token_hex(12)
                amount = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
                             for item in params.get("line_items", []))
                session = {
                    "id": fake_id, "object": "checkout.session", "mode": params.get("mode"),
                    "url": f"https://checkout.stripe.com/c/pay/{fake_id}", "status": "open",
                    "payment_status": "unpaid", "amount_total": amount,
                    "currency": params["line_items"][0]["price_data"]["currency"],
                    "client_reference_id": params.get("client_reference_id"),
                    "metadata": params.get("metadata", {}), "success_url": params.get("success_url"),
                    "cancel_url": params.get("cancel_url"), "created": int(time.time()),
                    "expires_at": int(params.get("expires_at") or int(time.time()) + 86400), "livemode": False,
                }
                fake.sessions[fake_id] = session
                self._send(200, session)

            def do_GET(self):
                if not self._common({}):
                    return
                if self.path == "/v1/balance":  # what the administration's "test connection" asks
                    self._send(200, {"object": "balance", "livemode": False,
                                     "available": [{"amount": 0, "currency": "eur"}],
                                     "pending": [{"amount": 0, "currency": "eur"}]})
                    return
                match = re.fullmatch(r"/v1/checkout/sessions/([\w]+)", self.path)
                session = fake.session(match.group(1)) if match else None
                if session is None:
                    self._send(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
                    return
                self._send(200, session)

        return Handler

    def session(self, session_id: str) -> dict | None:
        """A session as Stripe would return it now: an open one past its expiry has expired."""
        session = self.sessions.get(session_id)
        if session is not None and session["status"] == "open" and time.time() >= session["expires_at"]:
            session["status"] = "expired"
        return session

    def complete(self, session_id: str) -> None:
        """The customer paid on this session (its `checkout.session.completed` is still to be delivered)."""
        self.sessions[session_id].update(status="complete", payment_status="paid")

    def expire_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"].endswith("/expire")]

    def checkout_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]

    def event_for(self, session_id: str, event_type: str, **overrides) -> dict:
        """The event Stripe sends about one of the sessions created here (completed: paid)."""
        session = dict(self.sessions[session_id])
        if event_type == "checkout.session.completed":
            session.update(status="complete", payment_status="paid", payment_intent=self.payment_intent_of(session_id))
        elif event_type == "checkout.session.expired":
            session.update(status="expired")
        session.update(overrides)
        return {"id": "evt_" + secrets.token_hex(12), "object": "event", "created": int(time.time()),
                "type": event_type, "livemode": False, "data": {"object": session}}


    def payment_intent_of(self, session_id: str) -> str:
        """The PaymentIntent a paid session created (one per session, as on Stripe)."""
        return self.sessions[session_id].setdefault("payment_intent", "pi_" + secrets.token_hex(12))

    def refunded_event(self, session_id: str, refunded_total: int) -> dict:
        """`charge.refunded` once the session's charge has `refunded_total` (minor units) refunded in all: the
        charge carries the PaymentIntent's metadata, which Stripe copies from the session's payment_intent_data."""
        session = self.sessions[session_id]
        return charge_refunded_event(
            tenant_id=int(session["metadata"]["tenant_id"]), payment_public_id=session["metadata"]["payment_id"],
            payment_ref=self.payment_intent_of(session_id), amount=session["amount_total"],
            amount_refunded=refunded_total, currency=session["currency"], prefix="test")

    def dispute_event(self, session_id: str, event_type: str, *, dispute_id: str, status: str,
                      amount: int | None = None) -> dict:
        """`charge.dispute.created` / `.closed` about the session's charge (a dispute has no metadata of ours)."""
        session = self.sessions[session_id]
        return dispute_event(event_type=event_type, dispute_id=dispute_id,
                             payment_ref=self.payment_intent_of(session_id),
                             amount=session["amount_total"] if amount is None else amount,
                             currency=session["currency"], status=status, prefix="test")


def signed(event: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The body and headers of a webhook delivery, signed the way Stripe signs (`t=...,v1=...`)."""
    payload = encode_event(event)
    return payload, {"Stripe-Signature": sign_payload(payload, secret, timestamp=timestamp),
                     "Content-Type": "application/json"}
