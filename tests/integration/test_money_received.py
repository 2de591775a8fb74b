"""Money received and given outside the portal, on the database: manual payments (allocated like any payment, once
per reference), refunds of a credit balance and write-offs (four eyes), bank statements (camt.053 .02 and .08, CSV)
matched to bills, R-transactions posted, re-import changing nothing, hostile files refused with nothing written."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.collections import manual_payments, refunds, write_offs
from domain.collections.money_models import ManualPayment, Refund, WriteOff
from domain.collections.statements import parsing
from domain.collections.statements import services as statements
from domain.collections.statements.models import BankStatement, StatementEntry
from domain.communications.models import Message
from domain.db import db
from domain.identity.models import StaffUser
from domain.payments.collection_models import CollectionItem
from tenants.context import tenant_scope
from tests.factories import ContactPointFactory, CustomerAccountFactory, PartyFactory
from tests.integration.test_payments import add_bill, balance_of
from tests.integration.test_sepa_collections import COLLECTION, configure, customer, prepare, tenant_of
from tests.statement_samples import BILLION_LAUGHS, EXTERNAL_ENTITY, Line, camt053, csv_statement

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def in_a(app, two_tenants):
    a, b = two_tenants
    configure(app, a.slug)
    with app.app_context(), tenant_scope(a.tenant_id):
        yield a
        db.session.rollback()


def staff(data, role: str) -> StaffUser:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == data.staff_emails[role]))


def payer(name=("Camille", "Durand"), email="camille@example.test"):
    party = PartyFactory(first_name=name[0], last_name=name[1])
    ContactPointFactory(party=party, value=email)
    return CustomerAccountFactory(holder=party)


def outstanding(bill) -> Decimal:
    return bill_service.bill_views([bill], today=TODAY)[0].outstanding


def record(account, amount, reference, data, **kw):
    return manual_payments.record_manual_payment(
        account=account, amount=amount, method=kw.pop("method", "cheque"), reference=reference,
        received_on=kw.pop("received_on", TODAY), staff=staff(data, "collections"), now=NOW, today=TODAY, **kw)


# --- Manual payments ---------------------------------------------------------------------------------------------

def test_a_cheque_settles_the_oldest_bills_first_and_keeps_the_rest_as_credit(in_a):
    account = payer()
    old = add_bill(account.account_number, "80.00", due=TODAY - timedelta(days=40), start=date(2026, 8, 1))
    new = add_bill(account.account_number, "50.00", due=TODAY + timedelta(days=10))
    db.session.commit()

    done = record(account, "100.00", "chq 0012", in_a, received_on=TODAY - timedelta(days=1))

    assert done.created and done.payment.method == "cheque" and done.payment.provider_reference == "CHQ 0012"
    assert (outstanding(old), outstanding(new)) == (Decimal("0.00"), Decimal("30.00"))
    assert balance_of(account.account_number) == Decimal("30.00")
    credit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == done.payment.id))
    assert (credit.direction, credit.amount, credit.booked_on) == ("credit", Decimal("100.00"),
                                                                   TODAY - timedelta(days=1))
    assert done.receipt is not None and done.receipt.to == "camille@example.test"
    assert done.receipt.bills == ((old.number, Decimal("80.00")), (new.number, Decimal("20.00")))


def test_chosen_bills_are_settled_and_a_surplus_stays_as_credit(in_a):
    account = payer()
    old = add_bill(account.account_number, "80.00", due=TODAY - timedelta(days=40), start=date(2026, 8, 1))
    new = add_bill(account.account_number, "50.00", due=TODAY + timedelta(days=10))
    db.session.commit()

    done = record(account, "60.00", "VIR-77", in_a, method="transfer", bill_numbers=[new.number])

    assert (outstanding(old), outstanding(new)) == (Decimal("80.00"), Decimal("0.00"))
    assert done.receipt.credit_left == Decimal("10.00")
    assert balance_of(account.account_number) == Decimal("70.00")


def test_the_same_reference_twice_records_one_payment_and_another_amount_is_refused(in_a):
    account = payer()
    add_bill(account.account_number, "80.00")
    db.session.commit()
    first = record(account, "80.00", "CHQ-1", in_a)

    again = record(account, "80.00", " chq-1 ", in_a)
    with pytest.raises(manual_payments.PaymentNotRecorded) as refused:
        record(account, "81.00", "CHQ-1", in_a)

    assert not again.created and again.payment.id == first.payment.id and again.receipt is None
    assert refused.value.code == "reference_taken"
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.provider == "manual")) == 1
    assert db.session.scalar(select(func.count(ManualPayment.id))) == 1
    assert balance_of(account.account_number) == Decimal("0.00")


@pytest.mark.parametrize("amount, kw, code", [
    ("0", {}, "amount"), ("-5", {}, "amount"), ("12.345", {}, "amount"), ("abc", {}, "amount"),
    ("10.00", {"method": "card"}, "method"), ("10.00", {"received_on": TODAY + timedelta(days=1)}, "date"),
    ("10.00", {"bill_numbers": ["NOPE-1"]}, "bill"),
])
def test_bad_manual_payments_are_refused_with_nothing_written(in_a, amount, kw, code):
    account = payer()
    db.session.commit()

    with pytest.raises(manual_payments.PaymentNotRecorded) as refused:
        record(account, amount, "REF-1", in_a, **kw)

    assert refused.value.code == code
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.provider == "manual")) == 0


# --- Write-offs -------------------------------------------------------------------------------------------------

def test_a_write_off_approved_by_a_supervisor_settles_the_bills_with_a_ledger_credit(in_a):
    account = payer()
    old = add_bill(account.account_number, "80.00", due=TODAY - timedelta(days=60), start=date(2026, 8, 1))
    other = add_bill(account.account_number, "45.10", due=TODAY - timedelta(days=30), start=date(2026, 9, 1))
    kept = add_bill(account.account_number, "20.00", due=TODAY + timedelta(days=5))
    db.session.commit()
    record(account, "30.00", "CASH-1", in_a, method="cash", bill_numbers=[old.number])

    proposal = write_offs.propose(account=account, bill_numbers=[old.number, other.number], reason="insolvency",
                                  note="Liquidation judiciaire", staff=staff(in_a, "collections"), now=NOW,
                                  today=TODAY, currency="EUR")
    assert proposal.amount == Decimal("95.10")
    with pytest.raises(write_offs.WriteOffRefused) as own:
        write_offs.approve(write_off=proposal, staff=staff(in_a, "collections"), now=NOW, today=TODAY)
    written = write_offs.approve(write_off=proposal, staff=staff(in_a, "supervisor"), now=NOW, today=TODAY)

    assert own.value.code == "own_proposal"
    assert written == Decimal("95.10") and proposal.status == "approved"
    assert (outstanding(old), outstanding(other), outstanding(kept)) == (Decimal("0.00"), Decimal("0.00"),
                                                                         Decimal("20.00"))
    assert [v.bill.number for v in bill_service.open_bills(account_ids=[account.id], today=TODAY)] == [kept.number]
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == proposal.payment_id))
    assert (entry.direction, entry.amount, entry.description) == ("credit", Decimal("95.10"),
                                                                  "Write-off (insolvency): Liquidation judiciaire")
    assert balance_of(account.account_number) == Decimal("20.00")


def test_the_proposer_cannot_decide_even_past_the_service(in_a):
    account = payer()
    bill = add_bill(account.account_number, "10.00", due=TODAY - timedelta(days=60))
    db.session.commit()
    proposal = write_offs.propose(account=account, bill_numbers=[bill.number], reason="uneconomic", note=None,
                                  staff=staff(in_a, "collections"), now=NOW, today=TODAY, currency="EUR")
    db.session.commit()

    proposal.decided_by_id = proposal.proposed_by_id
    proposal.status = "refused"
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_a_refused_write_off_changes_no_bill_and_a_bill_is_proposed_once(in_a):
    account = payer()
    bill = add_bill(account.account_number, "10.00", due=TODAY - timedelta(days=60))
    db.session.commit()
    proposal = write_offs.propose(account=account, bill_numbers=[bill.number], reason="uneconomic", note=None,
                                  staff=staff(in_a, "collections"), now=NOW, today=TODAY, currency="EUR")
    with pytest.raises(write_offs.WriteOffRefused) as twice:
        write_offs.propose(account=account, bill_numbers=[bill.number], reason="uneconomic", note=None,
                           staff=staff(in_a, "supervisor"), now=NOW, today=TODAY, currency="EUR")

    write_offs.refuse(write_off=proposal, staff=staff(in_a, "supervisor"), now=NOW, note="Call them first")
    with pytest.raises(write_offs.WriteOffRefused) as decided:
        write_offs.approve(write_off=proposal, staff=staff(in_a, "supervisor"),
                           now=NOW, today=TODAY)

    assert twice.value.code == "already_proposed" and decided.value.code == "decided"
    assert outstanding(bill) == Decimal("10.00")
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.method == "write_off")) == 0


def test_a_write_off_approved_after_a_partial_payment_writes_off_only_what_is_left(in_a):
    account = payer()
    bill = add_bill(account.account_number, "100.00", due=TODAY - timedelta(days=60))
    db.session.commit()
    proposal = write_offs.propose(account=account, bill_numbers=[bill.number], reason="deceased", note=None,
                                  staff=staff(in_a, "collections"), now=NOW, today=TODAY, currency="EUR")
    record(account, "35.55", "CHQ-9", in_a)

    written = write_offs.approve(write_off=proposal, staff=staff(in_a, "supervisor"), now=NOW, today=TODAY)

    assert written == Decimal("64.45") and outstanding(bill) == Decimal("0.00")
    assert balance_of(account.account_number) == Decimal("0.00")


# --- Refunds ----------------------------------------------------------------------------------------------------

def test_a_credit_balance_is_refunded_to_the_mandate_iban_once_approved(in_a):
    account = customer(email="jurgen@example.test")  # mandate on DE89370400440532013000
    record(account, "75.20", "VIR-REFUND", in_a, method="transfer")

    with pytest.raises(refunds.RefundRefused) as over:
        refunds.propose(account=account, amount="75.21", iban=None, holder_name=None, note=None,
                        staff=staff(in_a, "collections"), now=NOW, currency="EUR")
    refund = refunds.propose(account=account, amount="75.20", iban=None, holder_name=None, note=None,
                             staff=staff(in_a, "collections"), now=NOW, currency="EUR")
    with pytest.raises(refunds.RefundRefused) as own:
        refunds.approve(refund=refund, staff=staff(in_a, "collections"), now=NOW, today=TODAY)
    notice = refunds.approve(refund=refund, staff=staff(in_a, "supervisor"), now=NOW, today=TODAY)

    assert over.value.code == "over_credit" and own.value.code == "own_proposal"
    assert (refund.iban, refund.iban_source, refund.status) == ("DE89370400440532013000", "mandate", "approved")
    assert balance_of(account.account_number) == Decimal("0.00")
    assert notice.to == "jurgen@example.test" and notice.amount == Decimal("75.20")
    assert "3000" in notice.iban_masked and "37040044" not in notice.iban_masked


def test_a_typed_iban_is_checked_and_a_used_credit_cannot_be_refunded(in_a):
    account = payer()
    record(account, "40.00", "VIR-1", in_a, method="transfer")

    with pytest.raises(refunds.RefundRefused) as bad:
        refunds.propose(account=account, amount="10", iban="FR76 3000 6000 0112 3456 7890 188", holder_name=None,
                        note=None, staff=staff(in_a, "collections"), now=NOW, currency="EUR")
    refund = refunds.propose(account=account, amount="40", iban="FR76 3000 6000 0112 3456 7890 189",
                             holder_name=None, note=None, staff=staff(in_a, "collections"), now=NOW, currency="EUR")
    add_bill(account.account_number, "30.00")  # the credit is used by a new bill before the approval
    with pytest.raises(refunds.RefundRefused) as used:
        refunds.approve(refund=refund, staff=staff(in_a, "supervisor"), now=NOW, today=TODAY)

    assert bad.value.code == "iban" and used.value.code == "over_credit"
    assert (refund.iban, refund.iban_source, refund.holder_name) == ("FR7630006000011234567890189", "typed",
                                                                     "Camille Durand")
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.description.like("Refund%"))) == 0


# --- Bank statements --------------------------------------------------------------------------------------------

def _import(data, in_a, name="statement.xml"):
    return statements.import_statement(data=data, file_name=name, staff=staff(in_a, "collections"), now=NOW,
                                       today=TODAY, tenant=tenant_of(in_a))


@pytest.mark.parametrize("version", ["02", "08"])
def test_a_camt053_statement_is_matched_by_reference_then_amount_and_name_and_imported_once(in_a, version):
    durand = payer()
    martin = payer(("Louis", "Martin"), "louis@example.test")
    quoted = add_bill(durand.account_number, "120.50", due=TODAY - timedelta(days=3))
    by_amount = add_bill(martin.account_number, "63.27", due=TODAY - timedelta(days=3))
    twin_a = add_bill(payer(("Ana", "Lopez"), "ana@x.test").account_number, "50.00")
    twin_b = add_bill(payer(("Eva", "Klein"), "eva@x.test").account_number, "50.00")
    db.session.commit()
    data = camt053([
        Line("120.50", ref="BK-1", name="DURAND CAMILLE", ustrd=f"Facture {quoted.number}"),
        Line("63.27", ref="BK-2", name="M. Louis MARTIN", ustrd="electricite novembre"),
        Line("50.00", ref="BK-3", name="Someone Else", ustrd="merci"),
        Line("12.00", ref="BK-4", direction="DBIT", ustrd="Frais bancaires"),
    ], version=version, booked=TODAY)

    result = _import(data, in_a)
    again = _import(data, in_a)

    assert result.counts == {"matched": 2, "to_match": 1, "not_ours": 1}
    assert (outstanding(quoted), outstanding(by_amount)) == (Decimal("0.00"), Decimal("0.00"))
    assert (outstanding(twin_a), outstanding(twin_b)) == (Decimal("50.00"), Decimal("50.00"))
    rules = dict(db.session.execute(select(StatementEntry.entry_key, StatementEntry.match_rule)).tuples().all())
    assert rules == {"BK-1": "reference", "BK-2": "amount_name", "BK-3": None, "BK-4": None}
    assert set(db.session.scalars(select(Message.recipient).where(Message.kind == "payment_received"))) == {
        "camille@example.test", "louis@example.test"}
    assert again.statements == [] and len(again.already) == 1 and again.counts == {}
    assert db.session.scalar(select(func.count(BankStatement.id))) == 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.provider == "statement")) == 2
    waiting = statements.waiting_entries()
    suggested = statements.suggestions(waiting[0], today=TODAY)
    assert {(s.account_number, s.bill_number, s.why) for s in suggested} == {
        (twin_a.account.account_number, twin_a.number, "amount"), (twin_b.account.account_number, twin_b.number,
                                                                    "amount")}


def test_an_entry_already_brought_by_another_statement_is_not_counted_twice(in_a):
    bill = add_bill(payer().account_number, "120.50")
    db.session.commit()
    line = Line("120.50", ref="BK-1", name="Camille Durand", ustrd=bill.number)
    _import(camt053([line], booked=TODAY, statement_id="S-1"), in_a)

    second = _import(camt053([line, Line("9.99", ref="BK-9", direction="DBIT")], booked=TODAY, statement_id="S-2",
                             version="08"), in_a)

    assert second.counts == {"not_ours": 1}
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.provider == "statement")) == 1


def test_a_person_confirms_a_waiting_credit_to_an_account_or_ignores_it(in_a):
    account = payer()
    bill = add_bill(account.account_number, "70.00")
    db.session.commit()
    _import(camt053([Line("70.00", ref="BK-1", name="Mme C. Durand-Petit"), Line("5.00", ref="BK-2", name="?")],
                    booked=TODAY), in_a)
    first, second = statements.waiting_entries()

    with pytest.raises(statements.EntryRefused) as wrong:
        statements.confirm_entry(entry=first, account_number=account.account_number, bill_number="NOPE",
                                 staff=staff(in_a, "collections"), now=NOW, today=TODAY)
    receipts = statements.confirm_entry(entry=first, account_number=account.account_number, bill_number=bill.number,
                                        staff=staff(in_a, "collections"), now=NOW, today=TODAY)
    statements.ignore_entry(entry=second, note="Unknown payer, sent back", staff=staff(in_a, "collections"),
                            now=NOW)

    assert wrong.value.code == "bill"
    assert outstanding(bill) == Decimal("0.00") and receipts == 1
    assert (first.status, first.match_rule, second.status) == ("matched", "person", "ignored")
    assert statements.waiting_entries() == []


def test_a_direct_debit_return_in_the_statement_is_posted_once(in_a):
    account = customer(email="jurgen@example.test")
    bill = add_bill(account.account_number, "88.40", due=date(2026, 12, 1))
    db.session.commit()
    batch, _added = prepare(in_a)
    from domain.payments import sepa_collections
    sepa_collections.submit_batch(batch=batch, now=NOW, today=COLLECTION - timedelta(days=3), by="Billing")
    sepa_collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    item = db.session.scalar(select(CollectionItem).where(CollectionItem.batch_id == batch.id))
    assert outstanding(bill) == Decimal("0.00")
    data = camt053([Line("88.40", ref="RT-1", direction="DBIT", name="Jurgen Gross", end_to_end=item.end_to_end_id,
                         reason="AM04")], booked=COLLECTION + timedelta(days=2), version="08")

    result = statements.import_statement(data=data, file_name="r.xml", staff=staff(in_a, "collections"), now=NOW,
                                         today=COLLECTION + timedelta(days=2), tenant=tenant_of(in_a))
    again = _import(camt053([Line("88.40", ref="RT-1", direction="DBIT", end_to_end=item.end_to_end_id,
                                  reason="AM04")], booked=COLLECTION, statement_id="OTHER"), in_a)

    assert result.counts == {"returned": 1} and again.counts == {}
    assert (item.status, item.return_reason) == ("returned", "AM04")
    assert outstanding(bill) == Decimal("88.40") and balance_of(account.account_number) == Decimal("88.40")
    notice = db.session.scalar(select(Message).where(Message.kind == "collection_returned"))
    assert notice.recipient == "jurgen@example.test" and "insufficient funds" in notice.text_body


def test_a_csv_statement_is_read_by_its_documented_columns(in_a):
    bill = add_bill(payer().account_number, "42.10")
    db.session.commit()
    data = csv_statement([{"booking_date": TODAY.isoformat(), "amount": "42.10", "entry_reference": "C-1",
                           "counterparty_name": "Durand", "reference": bill.number},
                          {"booking_date": TODAY.isoformat(), "amount": "-3.50", "entry_reference": "C-2"}],
                         delimiter=";")

    result = _import(data, in_a, name="statement.csv")

    assert result.counts == {"matched": 1, "not_ours": 1} and result.statements[0].format == "csv"
    assert outstanding(bill) == Decimal("0.00")


@pytest.mark.parametrize("data, code", [
    (BILLION_LAUGHS, "hostile"), (EXTERNAL_ENTITY, "hostile"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'><BkToCstmrStmt/></Document>", "invalid"),
    (b" " * (parsing.MAX_BYTES + 1), "too_big"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.02'/>", "format"),
])
def test_hostile_invalid_or_huge_files_are_refused_with_nothing_written(in_a, data, code):
    with pytest.raises(parsing.StatementRefused) as refused:
        _import(data, in_a)

    assert refused.value.code == code
    assert db.session.scalar(select(func.count(BankStatement.id))) == 0
    assert db.session.scalar(select(func.count(StatementEntry.id))) == 0


def test_a_statement_of_another_bank_account_is_refused(in_a):
    data = camt053([Line("1.00", ref="X")], booked=TODAY, iban="DE89370400440532013000")

    with pytest.raises(parsing.StatementRefused) as refused:
        _import(data, in_a)

    assert refused.value.code == "other_account"


def test_refunds_and_write_offs_of_another_tenant_are_not_found(app, two_tenants):
    a, b = two_tenants
    with app.app_context(), tenant_scope(b.tenant_id):
        account = payer()
        bill = add_bill(account.account_number, "10.00", due=TODAY - timedelta(days=60))
        proposal = write_offs.propose(account=account, bill_numbers=[bill.number], reason="uneconomic", note=None,
                                      staff=staff(b, "collections"), now=NOW, today=TODAY, currency="EUR")
        db.session.commit()
        public_id = proposal.public_id
    with app.app_context(), tenant_scope(a.tenant_id):
        assert write_offs.by_public_id(public_id) is None
        assert db.session.scalar(select(func.count(WriteOff.id))) == 0
        assert db.session.scalar(select(func.count(Refund.id))) == 0
        assert db.session.scalar(select(func.count(PaymentAllocation.id)).where(
            PaymentAllocation.bill_id == bill.id)) == 0


def test_a_big_statement_is_matched_by_a_worker_job_once(in_a):
    from domain.collections.statements import jobs

    bill = add_bill(payer().account_number, "120.50")
    db.session.commit()
    data = camt053([Line("120.50", ref="BK-1", name="Camille Durand", ustrd=bill.number),
                    Line("9.00", ref="BK-2", direction="DBIT")], booked=TODAY)
    result = statements.import_statement(data=data, file_name="big.xml", staff=staff(in_a, "collections"), now=NOW,
                                         today=TODAY, tenant=tenant_of(in_a), inline_entries=1)
    statement = result.queued[0]
    assert outstanding(bill) == Decimal("120.50") and statement.matched_at is None

    first = jobs.match_statement(statement_id=statement.id, today_iso=TODAY.isoformat(), now_iso=NOW.isoformat())
    again = jobs.match_statement(statement_id=statement.id, today_iso=TODAY.isoformat(), now_iso=NOW.isoformat())

    assert first == {"outcome": "matched", "counts": {"matched": 1, "not_ours": 1}}
    assert again == {"outcome": "matched", "counts": {}}
    assert outstanding(bill) == Decimal("0.00") and statement.matched_at == NOW
    assert db.session.scalar(select(func.count(Message.id)).where(Message.kind == "payment_received")) == 1


def test_a_transfer_quoting_two_bills_settles_both(in_a):
    account = payer()
    first = add_bill(account.account_number, "30.00", start=date(2026, 8, 1))
    second = add_bill(account.account_number, "12.40")
    db.session.commit()

    result = _import(camt053([Line("42.40", ref="BK-1", name="C. Durand", ustrd=f"{first.number}/{second.number}")],
                             booked=TODAY), in_a)

    assert result.counts == {"matched": 1}
    assert (outstanding(first), outstanding(second)) == (Decimal("0.00"), Decimal("0.00"))


def test_a_bill_in_a_direct_debit_batch_sent_to_the_bank_is_not_written_off(in_a):
    from domain.payments.collection_models import CollectionBatch
    from tests.factories import DirectDebitMandateFactory

    account = payer()
    mandate = DirectDebitMandateFactory(account=account, status="active")
    bill = add_bill(account.account_number, "60.00", due=TODAY - timedelta(days=40))
    batch = CollectionBatch(message_id=f"M-{bill.number}", collection_date=TODAY + timedelta(days=3),
                            status="submitted", currency="EUR", prepared_at=NOW, prepared_by="billing")
    db.session.add(batch)
    db.session.flush()
    db.session.add(CollectionItem(batch_id=batch.id, bill_id=bill.id, account_id=account.id, mandate_id=mandate.id,
                                  end_to_end_id=f"E-{bill.number}", sequence_type="FRST", amount=Decimal("60.00"),
                                  currency="EUR", status="pending"))
    db.session.commit()

    with pytest.raises(write_offs.WriteOffRefused) as refused:
        write_offs.propose(account=account, bill_numbers=[bill.number], reason="untraceable", note=None,
                           staff=staff(in_a, "collections"), now=NOW, today=TODAY, currency="EUR")

    assert refused.value.code == "in_collection"
    assert db.session.scalar(select(func.count(WriteOff.id))) == 0 and outstanding(bill) == Decimal("60.00")
