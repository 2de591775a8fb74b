"""Campaign mail written directly as MIME (`fast_bytes`) reads back as the same message the email package makes."""
import email
from email import policy

from domain.communications.outbound import OutgoingMail, fast_bytes


def _mail(**kwargs):
    values = dict(to="chloe@example.com", subject="Offre d’hiver pour Chloé Dubois, une ligne de sujet assez longue",
                  text="Bonjour Chloé,\n.\nune ligne = avec un signe égal\n" + "mot " * 40,
                  html="<p>Bonjour Chloé</p>", sender_name="Lumen Énergie", sender_address="news@lumen.example",
                  headers=(("List-Unsubscribe", "<https://lumen.example/unsubscribe/abc>"),
                           ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")), fast=True)
    return OutgoingMail(**{**values, **kwargs})


def test_fast_mime_reads_back_with_its_headers_text_and_html():
    data = fast_bytes(_mail())

    message = email.message_from_bytes(data, policy=policy.default)
    assert message["Subject"] == "Offre d’hiver pour Chloé Dubois, une ligne de sujet assez longue"
    assert message["From"] == "Lumen Énergie <news@lumen.example>" and message["To"] == "chloe@example.com"
    assert message["List-Unsubscribe"] == "<https://lumen.example/unsubscribe/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@lumen.example>") and message["Date"]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Bonjour Chloé,\n.\nune ligne = avec un signe égal\n")
    assert message.get_body(("html",)).get_content().strip() == "<p>Bonjour Chloé</p>"


def test_fast_mime_has_crlf_line_ends_and_lines_smtp_accepts():
    data = fast_bytes(_mail())

    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert data.isascii()


def test_text_only_mail_is_a_single_part():
    message = email.message_from_bytes(fast_bytes(_mail(html=None)), policy=policy.default)

    assert message.get_content_type() == "text/plain" and not message.is_multipart()


def test_a_header_cannot_be_split_by_a_line_break_in_a_value():
    data = fast_bytes(_mail(subject="Hello\r\nBcc: victim@example.com"))

    message = email.message_from_bytes(data, policy=policy.default)
    assert message["Bcc"] is None and message["Subject"] == "Hello Bcc: victim@example.com"
