"""Tenant-written Markdown is rendered safely: no script, no raw HTML, no javascript: link, no image from another
host; links to web pages, e-mail addresses and phone numbers only."""
from __future__ import annotations

from domain.brand.markdown import render_markdown


def test_script_tags_are_shown_as_text_never_run():
    html = render_markdown("Hello\n\n<script>alert('x')</script>")

    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_raw_html_is_not_interpreted():
    html = render_markdown('<b onclick="steal()">bold</b> <iframe src="https://evil.example"></iframe>')

    assert "<b" not in html and "<iframe" not in html
    assert "&lt;b onclick" in html and "&lt;iframe" in html  # shown as the text that was typed


def test_javascript_and_data_links_are_not_links():
    html = render_markdown("[a](javascript:alert(1)) [b](JavaScript:alert(1)) [c](data:text/html,hi) "
                           "[d](vbscript:msgbox)")

    assert "<a" not in html


def test_web_mail_and_phone_links_are_kept_with_a_safe_rel():
    html = render_markdown("[site](https://example.com) [mail](mailto:help@example.com) [call](tel:+33472000000) "
                           "[page](/legal/contact)")

    assert '<a href="https://example.com" rel="noopener noreferrer">site</a>' in html
    assert 'href="mailto:help@example.com"' in html and 'href="tel:+33472000000"' in html
    assert 'href="/legal/contact"' in html


def test_links_to_other_schemes_are_dropped():
    html = render_markdown("[f](ftp://example.com/file) [s](ssh://host)")

    assert "ftp:" not in html.split(">", 1)[0] and 'href="ftp' not in html and 'href="ssh' not in html


def test_images_from_other_hosts_are_refused_and_their_text_kept():
    html = render_markdown("![tracker](https://evil.example/pixel.png) ![proto](//evil.example/x.png) "
                           "![logo](/brand/logo)")

    assert "evil.example" not in html
    assert "tracker" in html and "proto" in html
    assert '<img src="/brand/logo" alt="logo">' in html


def test_headings_start_below_the_page_title_and_tables_render():
    html = render_markdown("# Our terms\n\n| Day | Hours |\n|:--|--:|\n| Mon | 8-18 |")

    assert "<h1>" not in html and "<h2>Our terms</h2>" in html
    assert '<td style="text-align:right">8-18</td>' in html


def test_style_attributes_other_than_alignment_are_dropped():
    html = render_markdown("| a |\n|---|\n| b |")

    assert "style" not in html
