import email
from email import policy

from domain.communications.outbound import OutboxTransport, OutgoingMail, SMTPTransport, transport_for


def _mail(tenant_id=3):
    return OutgoingMail(to="c@example.com", subject="Hello", text="Body", html="<p>Body</p>",
                        sender_name="Aquaville Water", sender_address="no-reply@aquaville.example.com",
                        tenant_id=tenant_id)


def test_outbox_writes_one_eml_per_mail_under_the_tenant(tmp_path):
    path = OutboxTransport(tmp_path).send(_mail())

    message = email.message_from_bytes(open(path, "rb").read(), policy=policy.default)
    assert "/t3/" in path
    assert message["Subject"] == "Hello" and "Aquaville Water" in message["From"]
    assert message.get_body(("plain",)).get_content().strip() == "Body"


def test_transport_from_mail_url(tmp_path):
    assert isinstance(transport_for(None, tmp_path), OutboxTransport)
    smtp = transport_for("smtp://user:p%40ss@mail.example.com:2525?starttls=1", tmp_path)
    assert isinstance(smtp, SMTPTransport)
    assert (smtp.host, smtp.port, smtp.username, smtp.password, smtp.starttls) == (
        "mail.example.com", 2525, "user", "p@ss", True)


def test_smtp_transport_delivers_to_a_real_smtp_server(tmp_path):
    import socket
    import time

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        SMTPTransport(f"smtp://127.0.0.1:{port}").send(_mail())
        deadline = time.time() + 5
        while not received and time.time() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()

    assert received and received[0].rcpt_tos == ["c@example.com"]
    assert b"Subject: Hello" in received[0].content


class _Server:
    """aiosmtpd on a free port; `answers` maps a recipient to the SMTP answers it gets at RCPT, one per try."""

    def __init__(self, answers=None):
        import socket

        from aiosmtpd.controller import Controller

        self.answers = {k: list(v) for k, v in (answers or {}).items()}
        self.received, self.connections = [], 0
        server = self

        class Handler:
            async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
                server.connections += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
                queued = server.answers.get(address)
                if queued:
                    return queued.pop(0)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):
                server.received.append(envelope)
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def _to(address: str) -> OutgoingMail:
    return OutgoingMail(to=address, subject="Hello", text="Body", sender_name="Lumen", sender_address="n@lumen.test",
                        headers=(("List-Unsubscribe", "<https://x.test/u/1>"),))


def test_a_session_sends_a_batch_on_one_connection_and_classifies_refusals():
    from domain.communications.outbound import PermanentFailure, TemporaryFailure

    with _Server({"busy@example.com": ["451 4.3.0 try later"], "gone@example.com": ["550 5.1.1 no such user"]}) as srv:
        transport = SMTPTransport(f"smtp://127.0.0.1:{srv.port}")
        outcomes = []
        with transport.session() as session:
            for address in ("a@example.com", "busy@example.com", "gone@example.com", "b@example.com",
                            "busy@example.com"):
                try:
                    session.send(_to(address))
                    outcomes.append("sent")
                except TemporaryFailure as exc:
                    outcomes.append(f"temporary {exc.code}")
                except PermanentFailure as exc:
                    outcomes.append(f"permanent {exc.code}")
        connections = session.connections

    assert outcomes == ["sent", "temporary 451", "permanent 550", "sent", "sent"]
    assert connections == 1 and srv.connections == 1
    assert [e.rcpt_tos for e in srv.received] == [["a@example.com"], ["b@example.com"], ["busy@example.com"]]
    assert b"List-Unsubscribe: <https://x.test/u/1>" in srv.received[0].content


def test_a_session_whose_server_is_down_fails_temporarily():
    import socket

    from domain.communications.outbound import TemporaryFailure

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with SMTPTransport(f"smtp://127.0.0.1:{port}").session() as session:
        try:
            session.send(_to("a@example.com"))
        except TemporaryFailure as exc:
            assert "ConnectionRefused" in exc.reason
        else:
            raise AssertionError("a server that is not there cannot take mail")


def test_an_attachment_travels_with_the_mail(tmp_path):
    from domain.communications.outbound import Attachment

    mail = OutgoingMail(to="c@example.com", subject="Your bill", text="Attached.", sender_name="Lumen",
                        sender_address="n@lumen.test", attachments=(Attachment("bill.pdf", b"%PDF-1.7 x"),))
    path = OutboxTransport(tmp_path).session().__enter__().send(mail)
    raw = open(path, "rb").read()
    assert b'filename="bill.pdf"' in raw and b"application/pdf" in raw
