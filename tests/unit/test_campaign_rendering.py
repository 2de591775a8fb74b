"""Campaign templates in Jinja's sandbox, and segment criteria, with no database."""
import pytest

from domain.campaigns.criteria import CriteriaRefused, parse_criteria
from domain.campaigns.rendering import TemplateRefused, compile_template, example_values, render


def _render(text, html=None, subject="Hi {{ customer_name }}"):
    return render(compile_template(subject=subject, text=text, html=html), example_values())


def test_documented_variables_are_filled_in():
    subject, text, html = _render("{{ customer_name }} {{ account_number }} {{ utility_name }} {{ unsubscribe_url }}",
                                  html="<p>{{ customer_name }}</p>")

    assert subject == "Hi Ada Lovelace"
    assert text == "Ada Lovelace C0000001 Utility https://portal.example/unsubscribe/x"
    assert html == "<p>Ada Lovelace</p>"


def test_values_are_escaped_in_html_not_in_text():
    compiled = compile_template(subject="x", text="{{ customer_name }}", html="<p>{{ customer_name }}</p>")
    values = {**example_values(), "customer_name": "<b>O'Brien & Co</b>"}

    _subject, text, html = render(compiled, values)

    assert text == "<b>O'Brien & Co</b>" and html == "<p>&lt;b&gt;O&#39;Brien &amp; Co&lt;/b&gt;</p>"


@pytest.mark.parametrize("source, code", [
    ("{{ customer_nam }}", "unknown_variable"),
    ("{% for %}", "syntax"),
    ("{{ customer_name.__class__ }}", "not_allowed"),
    ("{{ ().__class__.__base__.__subclasses__() }}", "not_allowed"),
    ("{{ 1 / 0 }}", "not_allowed"),
    ("{% for i in range(10**7) %}{{ i }}{% endfor %}", "not_allowed"),
    ("{% for a in [1, 2] %}{% for b in [1, 2] %}x{% endfor %}{% endfor %}", "not_allowed"),
    ("{{ 'x' * 1000000000 }}", "not_allowed"),
    ("{{ customer_name|attr('__class__') }}", "not_allowed"),
    ("{% include 'base.html' %}", "not_allowed"),
])
def test_wrong_or_unsafe_templates_are_refused_with_their_part(source, code):
    with pytest.raises(TemplateRefused) as refused:
        _render(source)

    assert refused.value.code == code and refused.value.part == "text"


def test_conditions_and_plain_filters_are_allowed():
    text = _render("{% if customer_name %}Dear {{ customer_name|upper }}{% else %}Hello{% endif %}"
                   "{% set who = utility_name %} from {{ who|default('us') }}")[1]

    assert text == "Dear ADA LOVELACE from Utility"


def test_a_subject_is_one_line():
    assert _render("x", subject="Hello\n  {{ customer_name }}\r\n!")[0] == "Hello Ada Lovelace !"


def test_criteria_keep_only_what_narrows_and_refuse_impossible_values():
    assert parse_criteria({"activity": "gas", "town": "  Lyon ", "paperless": ""}).as_dict() == {
        "activity": "gas", "town": "Lyon"}
    for bad in ({"language": "it"}, {"overdue": "maybe"}, {"payment_method": "cash"}, {"postcode": "7" * 17}):
        with pytest.raises(CriteriaRefused):
            parse_criteria(bad)
