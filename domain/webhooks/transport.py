"""Posting a webhook without letting a subscriber's URL reach inside our network (SSRF).

The host is resolved once; every address it resolves to must be public (not loopback, private, link-local,
multicast, reserved or unspecified, IPv4 or IPv6, IPv4-mapped included) unless the platform allows them
(WEBHOOKS_ALLOW_PRIVATE, app/settings.py). The connection then goes to the very address checked (a second DNS
answer cannot swap it), with the host name kept for the Host header, SNI and the certificate check. Redirects are
not followed; the timeout is short.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

TIMEOUT_SECONDS = 5.0
EXCERPT_BYTES = 1000


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False  # loopback and private addresses (a local receiver in development and tests)
    allow_http: bool = False  # plain http URLs besides https


_policy = Policy()


def configure(policy: Policy) -> None:
    """Set by the app factory from the settings (and by the tests that run a local receiver)."""
    global _policy
    _policy = policy


def policy() -> Policy:
    return _policy


class UrlRefused(ValueError):
    """The URL cannot receive webhooks; `code` says why (scheme, host, private, unresolved)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def address_refused(address: str) -> bool:
    """Whether an IP address is one a webhook may not reach (the platform's private-address switch aside)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def check_url(url: str, *, rules: Policy | None = None) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL webhooks may be sent to, or UrlRefused. Checked when a subscription is saved."""
    rules = rules or _policy
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("invalid") from exc
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not rules.allow_http):
        raise UrlRefused("scheme")
    host = parts.hostname
    if not host or parts.username or parts.password:
        raise UrlRefused("host")
    port = port or (443 if parts.scheme == "https" else 80)
    resolve(host, port, rules=rules)
    return parts.scheme, host, port


def resolve(host: str, port: int, *, rules: Policy | None = None) -> str:
    """The address to connect to: every address the host resolves to must be allowed; the first is taken."""
    rules = rules or _policy
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused("unresolved", host) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise UrlRefused("unresolved", host)
    if not rules.allow_private and any(address_refused(address) for address in addresses):
        raise UrlRefused("private", host)
    return addresses[0]


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS,
         rules: Policy | None = None) -> Answer:
    """POST `body` to `url` through the checked address; never raises for a network failure (the Answer says it)."""
    started = time.monotonic()

    def answer(status=None, excerpt=None, error=None) -> Answer:
        return Answer(status, excerpt, error[:500] if error else None, int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port = check_url(url, rules=rules)
        address = resolve(host, port, rules=rules)
    except UrlRefused as exc:
        return answer(error=f"refused: {exc}")
    parts = urlsplit(url.strip())
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port in (80, 443) else f"[{host}]:{port}"
    options = dict(timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=1)  # connecting and answering
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host,
                                           cert_reqs="CERT_REQUIRED", **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    try:
        response = pool.urlopen("POST", target, body=body, headers={**headers, "Host": host_header},
                                redirect=False, preload_content=False, assert_same_host=False)
        try:
            raw = response.read(EXCERPT_BYTES, decode_content=True) or b""
        finally:
            response.release_conn()
        return answer(status=response.status, excerpt=raw[:EXCERPT_BYTES].decode("utf-8", "replace"))
    except urllib3.exceptions.HTTPError as exc:
        return answer(error=f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return answer(error=f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()
