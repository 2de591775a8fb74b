"""The rules of a utility's billing, payment and mail settings, without a database."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from domain.billing.settings import (
    SettingsRefused,
    check_frequencies,
    check_plan_options,
    check_plausibility_factor,
)
from domain.communications.mail_settings import MailSettingsRefused, check_sender, check_smtp
from domain.payments.creditor import InvalidCreditorId, normalise_creditor_id
from domain.payments.mandates import InvalidIban, normalise_iban
from domain.payments.settings import PaymentSettingsRefused, check_payment_methods, check_stripe_keys
from domain.readings.validation import plausibility
from tenants import operation_settings as settings

D = Decimal


def _tenant(**values):
    defaults = dict(billing_frequencies=None, default_billing_frequency=None, plausibility_factor=None,
                    down_payment_options=None, payment_methods=None, currency="EUR", sepa_creditor_id=None,
                    mail_tested_at=None, smtp_host=None)
    return SimpleNamespace(**(defaults | values))


def test_a_utility_that_chose_nothing_keeps_the_platform_s_behaviour():
    tenant = _tenant()

    assert settings.billing_frequencies(tenant) == ("monthly", "bimonthly", "quarterly", "biannual", "annual")
    assert settings.default_billing_frequency(tenant) == "monthly"
    assert settings.plan_options(tenant) == {"monthly": (12, 11, 10)}
    assert settings.plausibility_factor(tenant) == D(3)
    assert settings.payment_methods(tenant) == ("card", "direct_debit", "transfer")
    assert settings.tenant_mail_tested(tenant) is False


def test_the_utility_s_plausibility_factor_comes_before_the_platform_s():
    assert settings.plausibility_factor(_tenant(plausibility_factor=D("2.5")), D(4)) == D("2.5")
    assert settings.plausibility_factor(_tenant(), D(4)) == D(4)


def test_plan_options_are_read_in_frequency_order_most_instalments_first():
    tenant = _tenant(down_payment_options={"quarterly": [4, 2], "monthly": [10, 12], "biannual": []})

    assert settings.plan_options(tenant) == {"monthly": (12, 10), "quarterly": (4, 2)}
    assert settings.plan_offered(tenant, frequency="quarterly", count=4)
    assert not settings.plan_offered(tenant, frequency="monthly", count=11)


@pytest.mark.parametrize(("options", "field", "code"), [
    ({"quarterly": [5]}, "plans_quarterly", "not_in_year"),
    ({"bimonthly": [7]}, "plans_bimonthly", "not_in_year"),
    ({"biannual": [3]}, "plans_biannual", "not_in_year"),
    ({"monthly": [0]}, "plans_monthly", "not_in_year"),
    ({"monthly": [], "quarterly": []}, "plans", "empty"),
    ({"weekly": [52]}, "plans", "unknown"),
])
def test_refuses_plans_whose_instalments_do_not_fit_the_year(options, field, code):
    with pytest.raises(SettingsRefused) as refused:
        check_plan_options(options)

    assert (refused.value.field, refused.value.code) == (field, code)


def test_accepts_every_plan_that_fits_the_year():
    checked = check_plan_options({"biannual": [2, 1], "monthly": [12, 10, 11], "quarterly": [4], "bimonthly": [6]})

    assert checked == {"monthly": (12, 11, 10), "bimonthly": (6,), "quarterly": (4,), "biannual": (2, 1)}


def test_the_default_frequency_must_be_one_offered():
    assert check_frequencies(["annual", "monthly"], "annual") == ("monthly", "annual")
    with pytest.raises(SettingsRefused) as refused:
        check_frequencies(["quarterly"], "monthly")
    assert refused.value.field == "default_frequency"
    with pytest.raises(SettingsRefused):
        check_frequencies([], "monthly")


@pytest.mark.parametrize(("typed", "factor"), [("2.5", D("2.5")), (D(3), D("3.0")), ("10", D("10.0")),
                                                (None, None), ("", None)])
def test_plausibility_factor_from_one_and_a_half_to_ten(typed, factor):
    assert check_plausibility_factor(typed) == factor


@pytest.mark.parametrize("typed", ["1.4", "11", "2.55", "abc", "NaN"])
def test_plausibility_factor_outside_the_range_is_refused(typed):
    with pytest.raises(SettingsRefused):
        check_plausibility_factor(typed)


def test_the_factor_chosen_decides_what_is_plausible():
    """Expected 100 m3: with a factor of 2, 250 m3 is checked by staff; with the default 3 it is not."""
    assert plausibility(consumption=D("250.000"), expected=D("100.000"), factor=D(2)).plausible is False
    assert plausibility(consumption=D("250.000"), expected=D("100.000"), factor=D(3)).plausible is True
    judged = plausibility(consumption=D("49.000"), expected=D("100.000"), factor=D("2"))
    assert (judged.plausible, judged.low, judged.high) == (False, D("50.000"), D("200.000"))


def test_sepa_direct_debit_only_for_a_euro_utility_with_a_creditor_identifier():
    euro_with_id = _tenant(sepa_creditor_id="DE98ZZZ09999999999")

    assert check_payment_methods(["transfer", "direct_debit"], tenant=euro_with_id, card_possible=False) == (
        "direct_debit", "transfer")
    with pytest.raises(PaymentSettingsRefused) as no_id:
        check_payment_methods(["direct_debit"], tenant=_tenant(), card_possible=True)
    with pytest.raises(PaymentSettingsRefused) as pounds:
        check_payment_methods(["direct_debit"], tenant=_tenant(currency="GBP", sepa_creditor_id="X"),
                              card_possible=True)
    assert (no_id.value.code, pounds.value.code) == ("no_creditor_id", "not_euro")


def test_card_only_with_a_card_checkout_and_at_least_one_method():
    with pytest.raises(PaymentSettingsRefused) as no_card:
        check_payment_methods(["card"], tenant=_tenant(), card_possible=False)
    with pytest.raises(PaymentSettingsRefused) as none:
        check_payment_methods([], tenant=_tenant(), card_possible=True)
    assert (no_card.value.code, none.value.code) == ("no_card_provider", "empty")


@pytest.mark.parametrize(("secret", "webhook", "field"), [
    ("pk_live_abcdefghijklmnop", "whsec_abcdefghijklmnop", "secret_key"),  # a publishable key
    ("sk_live_short", "whsec_abcdefghijklmnop", "secret_key"),
    ("sk_test_abcdefghijklmnop", "sk_test_abcdefghijklmnop", "webhook_secret"),
])
def test_stripe_keys_have_stripe_s_shapes(secret, webhook, field):
    with pytest.raises(PaymentSettingsRefused) as refused:
        check_stripe_keys(secret_key=secret, webhook_secret=webhook)
    assert refused.value.field == field


def test_stripe_keys_are_trimmed():
    assert check_stripe_keys(secret_key=" sk_test_abcdefghijklmnop ", webhook_secret="whsec_abcdefghijklmnop\n") == (
        "sk_test_abcdefghijklmnop", "whsec_abcdefghijklmnop")


def test_the_creditor_identifier_and_iban_checks_are_iso_13616_mod_97():
    assert normalise_creditor_id("de98 zzz 09999999999") == "DE98ZZZ09999999999"
    assert normalise_iban("FR76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    with pytest.raises(InvalidCreditorId) as creditor:
        normalise_creditor_id("DE97ZZZ09999999999")
    with pytest.raises(InvalidIban) as iban:
        normalise_iban("FR7630006000011234567890188")
    assert creditor.value.code == iban.value.code == "checksum"


def test_sender_name_and_address():
    assert check_sender(name=" Régie des eaux ", address="Factures@Example.COM") == (
        "Régie des eaux", "Factures@example.com")
    assert check_sender(name="", address="") == (None, None)
    with pytest.raises(MailSettingsRefused) as header_injection:
        check_sender(name="Eaux\r\nBcc: everyone@example.com", address=None)
    with pytest.raises(MailSettingsRefused) as address:
        check_sender(name=None, address="billing@")
    assert (header_injection.value.field, address.value.field) == ("sender_name", "sender_address")


@pytest.mark.parametrize(("values", "field"), [
    (dict(host="", port=None, security="starttls", username=None, has_password=False), "smtp_host"),
    (dict(host="smtp .example.com", port=None, security="starttls", username=None, has_password=False),
     "smtp_host"),
    (dict(host="smtp.example.com", port=70000, security="starttls", username=None, has_password=False),
     "smtp_port"),
    (dict(host="smtp.example.com", port=587, security="ssl3", username=None, has_password=False),
     "smtp_security"),
    (dict(host="smtp.example.com", port=587, security="starttls", username="u", has_password=False),
     "smtp_password"),
])
def test_smtp_server_settings_are_checked(values, field):
    with pytest.raises(MailSettingsRefused) as refused:
        check_smtp(**values)
    assert refused.value.field == field


def test_smtp_server_settings_accepted():
    assert check_smtp(host="SMTP.Example.com", port=None, security="tls", username="billing", has_password=True) == (
        "smtp.example.com", None, "tls", "billing")
