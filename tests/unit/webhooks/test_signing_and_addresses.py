"""Webhook signatures (as Stripe signs: HMAC-SHA256 over "<t>.<body>") and the addresses a webhook may not reach."""
from __future__ import annotations

import socket

import pytest

from domain.webhooks import transport
from domain.webhooks.signing import new_secret, signature_header, verify

BODY = b'{"id":"e1","type":"bill.issued","created":1700000000,"data":{"number":"F-1"}}'


def test_a_signature_verifies_with_the_secret_and_the_body_sent():
    secret = new_secret()
    header = signature_header(secret=secret, timestamp=1_700_000_000, body=BODY)

    assert header.startswith("t=1700000000,v1=")
    assert verify(secret=secret, header=header, body=BODY, now=1_700_000_010)


def test_a_tampered_body_another_secret_or_an_old_signature_does_not_verify():
    secret = new_secret()
    header = signature_header(secret=secret, timestamp=1_700_000_000, body=BODY)

    assert not verify(secret=secret, header=header, body=BODY.replace(b"F-1", b"F-2"), now=1_700_000_000)
    assert not verify(secret=new_secret(), header=header, body=BODY, now=1_700_000_000)
    assert not verify(secret=secret, header=header, body=BODY, now=1_700_000_000 + 3600)
    assert not verify(secret=secret, header="t=abc,v1=00", body=BODY, now=1_700_000_000)


def test_every_secret_is_new():
    assert new_secret() != new_secret()
    assert new_secret().startswith("whsec_")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "0.0.0.0", "224.0.0.1", "100.64.0.1", "240.0.0.1", "::1", "::",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "fc00::1", "ff02::1"])
def test_loopback_private_link_local_multicast_reserved_and_unspecified_addresses_are_refused(address):
    assert transport.address_refused(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not transport.address_refused(address)


def _resolving_to(monkeypatch, *addresses):
    def fake(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]
    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.0.0.5/hook", "https://169.254.169.254/latest",
                                 "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook"])
def test_urls_naming_a_private_address_are_refused(url):
    with pytest.raises(transport.UrlRefused) as refused:
        transport.check_url(url, rules=transport.Policy())

    assert refused.value.code == "private"


def test_a_host_name_resolving_to_a_private_address_is_refused(monkeypatch):
    _resolving_to(monkeypatch, "93.184.216.34", "10.0.0.7")

    with pytest.raises(transport.UrlRefused) as refused:
        transport.check_url("https://hooks.example.com/in", rules=transport.Policy())

    assert refused.value.code == "private"


def test_the_platform_may_allow_private_addresses_and_plain_http():
    rules = transport.Policy(allow_private=True, allow_http=True)

    assert transport.check_url("http://127.0.0.1:8080/hook", rules=rules) == ("http", "127.0.0.1", 8080)


@pytest.mark.parametrize(("url", "code"), [("http://93.184.216.34/hook", "scheme"), ("ftp://example.com/", "scheme"),
                                           ("https://user:pw@93.184.216.34/", "host"), ("https:///nohost", "host"),
                                           ("not a url", "scheme")])
def test_other_schemes_plain_http_and_credentials_are_refused(url, code):
    with pytest.raises(transport.UrlRefused) as refused:
        transport.check_url(url, rules=transport.Policy())

    assert refused.value.code == code


def test_the_connection_goes_to_the_address_checked_and_is_refused_when_dns_changes(monkeypatch):
    """Saved while the name resolved to a public address; at sending time it resolves to the metadata service."""
    _resolving_to(monkeypatch, "169.254.169.254")

    answer = transport.post("https://hooks.example.com/in", body=b"{}", headers={}, rules=transport.Policy())

    assert answer.status_code is None and not answer.delivered
    assert answer.error.startswith("refused: private")


def test_a_receiver_that_does_not_answer_in_time_is_an_error_not_a_wait():
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()

    answer = transport.post(f"http://127.0.0.1:{listener.getsockname()[1]}/slow", body=b"{}", headers={},
                            timeout=0.5, rules=transport.Policy(allow_private=True, allow_http=True))

    assert answer.status_code is None and "Timeout" in answer.error
    assert time.monotonic() - started < 3
    listener.close()
