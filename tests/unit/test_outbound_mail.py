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
