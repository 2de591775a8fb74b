"""Activation codes, the matching rules of "customer number + a fact from a bill", and single-use links."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity import activation
from domain.identity.models import CustomerAccess, CustomerUser, EmailVerification
from domain.identity.services import WeakPassword
from tenants.context import tenant_scope
from tests.factories import (
    NOW,
    ContactPointFactory,
    CustomerAccountFactory,
    CustomerUserFactory,
    PartyFactory,
    PartyRoleFactory,
)

TODAY = date(2026, 11, 1)
PASSWORD = "a-long-enough-password"
SECRET = b"test-secret-key-for-decoys"
ON_FILE = "holder@example.test"


@dataclass
class Holder:
    tenant_id: int
    party_id: int
    home: str
    holiday: str
    closed: str
    stranger: str


def make_holder(tenant_id: int) -> Holder:
    """A party holding two active accounts and a closed one, with a postal address; and a stranger's account."""
    with tenant_scope(tenant_id):
        party = PartyFactory()
        ContactPointFactory(party=party, kind="postal", value=None, address_line1="3 rue des Lilas",
                            postcode="69 001", city="Lyon", country="FR")
        ContactPointFactory(party=party, kind="email", value=ON_FILE, is_primary=True)
        home = CustomerAccountFactory(holder=party, activation_code="ABCDE23456")
        PartyRoleFactory(party=party, account=home)
        holiday = CustomerAccountFactory(holder=PartyFactory(), activation_code="HJKLM78923")
        PartyRoleFactory(party=party, account=holiday)  # held through its role only
        closed = CustomerAccountFactory(holder=party, status="closed", closed_on=date(2025, 1, 1))
        PartyRoleFactory(party=party, account=closed)
        stranger_party = PartyFactory()
        ContactPointFactory(party=stranger_party, kind="postal", value=None, address_line1="1 quai",
                            postcode="75001", city="Paris", country="FR")
        stranger = CustomerAccountFactory(holder=stranger_party, activation_code="ZZZZZ99999")
        db.session.commit()
        return Holder(tenant_id, party.id, home.account_number, holiday.account_number, closed.account_number,
                      stranger.account_number)


@pytest.fixture
def holder(ctx, make_tenant):
    return make_holder(make_tenant("alpha").id)


def test_activation_codes_avoid_ambiguous_characters():
    codes = {activation.generate_activation_code() for _ in range(200)}

    assert len(codes) == 200
    assert all(len(c) == 10 and not set(c) & set("0O1I") for c in codes)


def test_codes_are_matched_however_they_are_typed():
    assert activation.normalise_code(" abcde-23456 ") == "ABCDE23456"
    assert activation.display_code("ABCDE23456") == "ABCDE-23456"
    assert activation.normalise_postcode("69 001") == activation.normalise_postcode("69001")


def test_postcode_of_the_holders_postal_address_matches(holder):
    with tenant_scope(holder.tenant_id):
        found = activation.matching_account(account_number=holder.home.lower(), postcode="69001")

        assert found is not None and found.account_number == holder.home


def test_activation_code_matches_without_postcode(holder):
    with tenant_scope(holder.tenant_id):
        assert activation.matching_account(account_number=holder.home, activation_code="abcde 23456") is not None


@pytest.mark.parametrize("facts", [
    {"postcode": "69002"},  # wrong postcode
    {"postcode": "75001"},  # the stranger's postcode
    {"activation_code": "ZZZZZ99999"},  # the stranger's code
    {"postcode": "69001", "activation_code": "WRONG22222"},  # every fact given must match
])
def test_wrong_second_fact_matches_nothing(holder, facts):
    with tenant_scope(holder.tenant_id):
        assert activation.matching_account(account_number=holder.home, **facts) is None


def test_closed_and_unknown_accounts_match_nothing(holder):
    with tenant_scope(holder.tenant_id):
        assert activation.matching_account(account_number=holder.closed, postcode="69001") is None
        assert activation.matching_account(account_number="C99999999", postcode="69001") is None


def test_an_account_without_a_code_is_not_matched_by_an_empty_code(holder):
    with tenant_scope(holder.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.closed))
        account.status = "active"
        account.activation_code = None

        assert activation.matching_account(account_number=holder.closed, activation_code="ABCDE23456") is None
        with pytest.raises(activation.NothingToProve):
            activation.matching_account(account_number=holder.closed, postcode=" ", activation_code="-")


def test_regenerating_a_code_retires_the_old_one(holder):
    with tenant_scope(holder.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.home))

        new = activation.regenerate_activation_code(account=account)

        assert new != "ABCDE23456"
        assert activation.matching_account(account_number=holder.home, activation_code="ABCDE23456") is None
        assert activation.matching_account(account_number=holder.home, activation_code=new) is not None


def test_missing_codes_are_assigned_and_existing_ones_kept(holder):
    with tenant_scope(holder.tenant_id):
        assigned = activation.assign_missing_activation_codes()

        codes = {n: c for n, c in db.session.execute(
            select(CustomerAccount.account_number, CustomerAccount.activation_code))}
        assert assigned == 1  # only the closed account had none
        assert codes[holder.home] == "ABCDE23456"
        assert all(codes.values())


def test_start_activation_stores_only_a_hash_of_the_token(holder):
    with tenant_scope(holder.tenant_id):
        started = activation.start_activation(account_number=holder.home, postcode=None, activation_code="ABCDE23456",
                                              email=" New@Example.test ", now=NOW, secret=SECRET).started

        row = db.session.scalar(select(EmailVerification).where(EmailVerification.purpose == "activation",
                                                                EmailVerification.email == "new@example.test"))
        assert started.email == "new@example.test" and started.existing_user is None
        assert row.token_hash != started.token and len(row.token_hash) == 64
        assert row.expires_at == NOW + timedelta(hours=24)
        assert row.party_id == holder.party_id
        assert row.code_hash == activation.code_hash("ABCDE23456") and "ABCDE23456" not in row.code_hash


def test_start_activation_with_wrong_facts_stores_nothing(holder):
    with tenant_scope(holder.tenant_id):
        answer = activation.start_activation(account_number=holder.home, postcode="69002", activation_code=None,
                                             email="new@example.test", now=NOW, secret=SECRET)

        assert answer.started is None
        assert db.session.scalar(select(func.count(EmailVerification.id))) == 0


def _start(holder, email="new@example.test") -> str:
    return activation.start_activation(account_number=holder.home, postcode=None, activation_code="ABCDE23456",
                                       email=email, now=NOW, secret=SECRET).token


def test_completing_activation_creates_the_login_with_every_held_active_account(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)

        user = activation.complete_activation(token=token, password=PASSWORD, now=NOW + timedelta(hours=1),
                                              today=TODAY, locale="fr")

        numbers = set(db.session.scalars(
            select(CustomerAccount.account_number).join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
            .where(CustomerAccess.customer_user_id == user.id)))
        assert numbers == {holder.home, holder.holiday}  # not the closed one, not the stranger's
        assert user.email == "new@example.test" and user.party_id == holder.party_id
        assert user.email_verified_at == NOW + timedelta(hours=1) and user.locale == "fr"


def test_a_link_works_once(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)
        activation.complete_activation(token=token, password=PASSWORD, now=NOW, today=TODAY)

        with pytest.raises(activation.InvalidVerification):
            activation.complete_activation(token=token, password=PASSWORD, now=NOW, today=TODAY)
        assert db.session.scalar(select(func.count(CustomerUser.id))) == 1


def test_a_link_expires_after_24_hours(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)

        with pytest.raises(activation.InvalidVerification):
            activation.complete_activation(token=token, password=PASSWORD, now=NOW + timedelta(hours=24),
                                           today=TODAY)
        assert activation.pending_link(token=token, purposes=("activation",),
                                       now=NOW + timedelta(hours=23, minutes=59)) is not None


def test_a_weak_password_keeps_the_link_usable(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)

        with pytest.raises(WeakPassword):
            activation.complete_activation(token=token, password="short", now=NOW, today=TODAY)
        assert activation.pending_link(token=token, purposes=("activation",), now=NOW) is not None


def test_a_link_already_claimed_cannot_be_claimed_again(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)
        row = activation.pending_link(token=token, purposes=("activation",), now=NOW)
        activation.claim_link(row, NOW)
        row.used_at = None  # another request that loaded the row before the first claim

        with pytest.raises(activation.InvalidVerification):
            activation.claim_link(row, NOW)


def test_activation_link_for_an_address_with_a_login_adds_the_account_to_it(holder):
    with tenant_scope(holder.tenant_id):
        user = CustomerUserFactory(email="known@example.test", email_verified_at=None)
        started = activation.start_activation(account_number=holder.home, postcode=None,
                                              activation_code="ABCDE23456", email="known@example.test", now=NOW,
                                              secret=SECRET).started
        assert started.existing_user.id == user.id
        with pytest.raises(activation.AlreadyRegistered):
            activation.complete_activation(token=started.token, password=PASSWORD, now=NOW, today=TODAY)

        account = activation.add_account_by_link(token=started.token, user=user, now=NOW)

        assert account.account_number == holder.home
        assert user.email_verified_at == NOW
        with pytest.raises(activation.InvalidVerification):
            activation.add_account_by_link(token=started.token, user=user, now=NOW)


def test_a_link_account_link_only_works_for_the_login_that_asked(holder):
    with tenant_scope(holder.tenant_id):
        asker = CustomerUserFactory()
        other = CustomerUserFactory()
        started = activation.start_link_account(user=asker, account_number=holder.holiday, postcode=None,
                                                activation_code="HJKLM78923", now=NOW, secret=SECRET).started

        with pytest.raises(activation.InvalidVerification):
            activation.add_account_by_link(token=started.token, user=other, now=NOW)
        activation.add_account_by_link(token=started.token, user=asker, now=NOW)

        assert db.session.scalar(select(CustomerAccess.customer_user_id)) == asker.id
        assert started.email == asker.email


def test_another_tenants_customer_number_matches_nothing(holder, make_tenant):
    other = make_holder(make_tenant("bravo").id)

    with tenant_scope(holder.tenant_id):
        assert activation.matching_account(account_number=other.home, activation_code="ABCDE23456") is None
        assert activation.matching_account(account_number=other.home, postcode="69001") is None


def test_bills_print_the_activation_code_next_to_the_customer_number(ctx, make_tenant):
    import io
    import re

    from pypdf import PdfReader

    from domain.billing.document_data import build_bill_document
    from domain.billing.document_pdf import render_bill_pdf
    from domain.i18n import translator
    from tests.factories import BillFactory, BillLineFactory

    tenant = make_tenant("alpha")
    with tenant_scope(tenant.id):
        account = CustomerAccountFactory(activation_code="ABCDE23456")
        bill = BillFactory(account=account)
        BillLineFactory(bill=bill)
        db.session.commit()

        document = build_bill_document(bill_id=bill.id)
        pdf = render_bill_pdf(document, _=translator(document.locale))
        text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))

    assert document.activation_code == "ABCDE-23456"
    assert f"Customer number {account.account_number} Activation code ABCDE-23456" in text


# --- Access that cannot be taken over (issue 12, section 4) -----------------------------------------------------


def test_activation_codes_are_high_entropy_and_drawn_from_a_secure_source(monkeypatch):
    drawn = []
    real_choice = activation.secrets.choice
    monkeypatch.setattr(activation.secrets, "choice", lambda seq: drawn.append(seq) or real_choice(seq))

    code = activation.generate_activation_code()

    assert len(drawn) == activation.CODE_LENGTH == len(code)
    assert len(activation.CODE_ALPHABET) ** activation.CODE_LENGTH >= 2 ** activation.CODE_BITS >= 2 ** 50


def test_with_the_postcode_alone_the_link_goes_to_the_address_on_file_never_to_a_typed_one(holder):
    with tenant_scope(holder.tenant_id):
        answer = activation.start_activation(account_number=holder.home, postcode="69001", activation_code=None,
                                             email="attacker@evil.test", now=NOW, secret=SECRET)

        rows = list(db.session.scalars(select(EmailVerification)))
        assert answer.started.email == ON_FILE
        assert answer.sent_to == "h•••@example.test"
        assert [r.email for r in rows] == [ON_FILE] and rows[0].code_hash is None


def test_a_miss_and_a_holder_without_an_address_get_a_made_up_address_that_does_not_change(holder):
    with tenant_scope(holder.tenant_id):
        def ask(number, postcode):
            return activation.start_activation(account_number=number, postcode=postcode, activation_code=None,
                                               email=None, now=NOW, secret=SECRET)

        miss, again = ask("C77777777", "69001"), ask("C77777777", "69001")
        no_address = ask(holder.stranger, "75001")  # the stranger's party has no e-mail on file

        assert miss.started is None and no_address.started is None
        assert miss.sent_to == again.sent_to and "•••@" in miss.sent_to and "•••@" in no_address.sent_to
        assert db.session.scalar(select(func.count(EmailVerification.id))) == 0


def test_the_code_is_used_up_by_the_first_link_followed(holder):
    with tenant_scope(holder.tenant_id):
        first, second = _start(holder, "first@example.test"), _start(holder, "second@example.test")

        activation.complete_activation(token=first, password=PASSWORD, now=NOW, today=TODAY)

        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.home))
        assert account.activation_code not in (None, "ABCDE23456")
        with pytest.raises(activation.InvalidVerification):
            activation.complete_activation(token=second, password=PASSWORD, now=NOW, today=TODAY)
        assert db.session.scalar(select(func.count(CustomerUser.id))) == 1


def test_a_code_renewed_by_staff_voids_the_links_asked_with_the_old_one(holder):
    with tenant_scope(holder.tenant_id):
        token = _start(holder)
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.home))
        activation.regenerate_activation_code(account=account)

        with pytest.raises(activation.InvalidVerification):
            activation.complete_activation(token=token, password=PASSWORD, now=NOW, today=TODAY)
        assert db.session.scalar(select(func.count(CustomerUser.id))) == 0


@pytest.mark.parametrize("number", ["home", "unknown"])
def test_five_failures_lock_the_number_even_for_the_right_facts(holder, number):
    number = holder.home if number == "home" else "C77777777"
    with tenant_scope(holder.tenant_id):
        for i in range(activation.MAX_FAILED_ATTEMPTS):
            activation.start_activation(account_number=number, postcode=f"1000{i}", activation_code=None,
                                        email=None, now=NOW, secret=SECRET)

        with pytest.raises(activation.ActivationLocked):
            activation.start_activation(account_number=number, postcode="69001", activation_code=None, email=None,
                                        now=NOW, secret=SECRET)
        with pytest.raises(activation.ActivationLocked):
            activation.start_activation(account_number=number.lower(), postcode=None, activation_code="ABCDE23456",
                                        email="me@example.test", now=NOW, secret=SECRET)
        guard = activation.guard_of(number)
        assert guard.failures == activation.MAX_FAILED_ATTEMPTS and guard.locked_at == NOW
        assert db.session.scalar(select(func.count(EmailVerification.id))) == 0


def test_staff_lift_the_lock_and_the_history_says_who(holder):
    from domain.audit.actor import Actor, acting_as
    from domain.audit.models import AuditEvent

    with tenant_scope(holder.tenant_id):
        for _ in range(activation.MAX_FAILED_ATTEMPTS):
            activation.record_failure(account_number=holder.home, now=NOW)
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == holder.home))

        with acting_as(Actor("staff", 7, "agent@alpha.test")):
            lifted = activation.lift_lock(account=account, now=NOW + timedelta(hours=1))
        answer = activation.start_activation(account_number=holder.home, postcode="69001", activation_code=None,
                                             email=None, now=NOW + timedelta(hours=1), secret=SECRET)

        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "CustomerAccount",
                                                                  AuditEvent.entity_id == account.id)
                                         .order_by(AuditEvent.id)))
        assert lifted is True and answer.started is not None
        assert [e.changes["activation_locked"]["after"] for e in events[-2:]] == [True, False]
        assert events[-1].actor_label == "agent@alpha.test"
        assert activation.lift_lock(account=account, now=NOW) is False


def test_failures_a_day_apart_start_the_count_again_but_a_lock_stays(holder):
    with tenant_scope(holder.tenant_id):
        for _ in range(activation.MAX_FAILED_ATTEMPTS - 1):
            activation.record_failure(account_number=holder.home, now=NOW)
        for _ in range(activation.MAX_FAILED_ATTEMPTS - 1):
            locked = activation.record_failure(account_number=holder.home, now=NOW + timedelta(hours=25))
        assert locked is False and activation.guard_of(holder.home).failures == activation.MAX_FAILED_ATTEMPTS - 1

        assert activation.record_failure(account_number=holder.home, now=NOW + timedelta(hours=26)) is True
        assert activation.is_locked(holder.home)
        activation.record_failure(account_number=holder.home, now=NOW + timedelta(days=30))
        assert activation.is_locked(holder.home)
