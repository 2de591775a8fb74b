"""Importing a bank statement and matching its entries: credits to bills by the reference our bills print (the
bill number; an account number also finds the account), then by amount and payer name (or the payer's IBAN on a
mandate); returns of our SEPA direct debits are posted through the collections' return recording; the rest waits
in a matching queue with suggestions for a person to confirm or ignore.

Imported inline, in the staff member's request: a statement is capped at parsing.MAX_BYTES (a utility's daily
statement is a few thousand entries), the refusal of a hostile or invalid file must be shown at once with nothing
written, and matching costs a few queries per entry. Importing the same statement again changes nothing: a
statement is known by (bank account, statement id) and an entry by (bank account, entry reference)."""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.collections import manual_payments
from domain.collections.statements.models import BankStatement, StatementEntry
from domain.collections.statements.parsing import ParsedEntry, StatementRefused, parse_statement
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments import sepa_collections
from domain.payments.collection_models import CollectionBatch, CollectionItem
from domain.payments.models import DirectDebitMandate
from domain.payments.receipts import claim_receipt

log = logging.getLogger("collections.statements")
CENT = Decimal("0.01")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]")

__all__ = ["StatementRefused", "import_statement", "confirm_entry", "ignore_entry", "suggestions"]


class EntryRefused(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class ImportResult:
    statements: list[BankStatement] = field(default_factory=list)
    already: list[BankStatement] = field(default_factory=list)  # imported before: nothing changed
    counts: dict[str, int] = field(default_factory=dict)  # status -> entries added with it
    receipts: list = field(default_factory=list)
    return_notices: list = field(default_factory=list)  # (notice, account_id)


def import_statement(*, data: bytes, file_name: str, staff, now: datetime, today: date, tenant) -> ImportResult:
    """Parse, check and record the statements of one file, then match their new entries. Refusals
    (StatementRefused) come before anything is written."""
    parsed = parse_statement(data, file_name=file_name)
    ours = (tenant.iban or "").replace(" ", "").upper()
    for statement in parsed:
        if not statement.statement_ref:
            raise StatementRefused("invalid", "a statement has no id")
        if ours and statement.account_iban.upper() != ours:
            raise StatementRefused("other_account", statement.account_iban)
    digest = hashlib.sha256(data).hexdigest()
    result = ImportResult()
    for statement in parsed:
        found = db.session.scalar(select(BankStatement).where(
            BankStatement.account_iban == statement.account_iban,
            BankStatement.statement_ref == statement.statement_ref))
        if found is not None:
            result.already.append(found)
            continue
        row = BankStatement(format=statement.format, statement_ref=statement.statement_ref,
                            message_ref=statement.message_ref and statement.message_ref[:35],
                            account_iban=statement.account_iban, currency=statement.currency,
                            from_date=statement.from_date, to_date=statement.to_date,
                            file_name=(file_name or "statement")[:255], file_sha256=digest,
                            imported_by_id=staff.id, imported_by=staff.email[:255], imported_at=now,
                            entry_count=len(statement.entries),
                            credit_total=sum((e.amount for e in statement.entries if e.direction == "credit"),
                                             Decimal("0")),
                            debit_total=sum((e.amount for e in statement.entries if e.direction == "debit"),
                                            Decimal("0")))
        db.session.add(row)
        db.session.flush()
        known = set(db.session.scalars(select(StatementEntry.entry_key).where(
            StatementEntry.account_iban == statement.account_iban,
            StatementEntry.entry_key.in_([e.entry_key for e in statement.entries]))))
        for parsed_entry in statement.entries:
            if parsed_entry.entry_key in known:  # brought by an earlier statement: already matched there
                continue
            known.add(parsed_entry.entry_key)
            entry = _new_entry(row, parsed_entry)
            db.session.add(entry)
            db.session.flush()
            _match(entry, staff=staff, now=now, today=today, result=result)
            result.counts[entry.status] = result.counts.get(entry.status, 0) + 1
        result.statements.append(row)
    db.session.flush()
    log.info("statement imported tenant=%s file=%s new=%d already=%d counts=%s by=%s", tenant.id, digest[:12],
             len(result.statements), len(result.already), result.counts, staff.id)
    return result


def _new_entry(statement: BankStatement, e: ParsedEntry) -> StatementEntry:
    return StatementEntry(
        statement_id=statement.id, account_iban=statement.account_iban, entry_key=e.entry_key, booked_on=e.booked_on,
        value_on=e.value_on, direction=e.direction, amount=e.amount, currency=e.currency, reversal=e.reversal,
        return_reason=e.return_reason, end_to_end_id=e.end_to_end_id, reference=e.reference,
        remittance=e.remittance, counterparty_name=e.counterparty_name, counterparty_iban=e.counterparty_iban,
        bank_ref=e.bank_ref, status="to_match")


# --- Matching ----------------------------------------------------------------------------------------------------

def _words(text: str | None) -> set[str]:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return {w for w in re.split(r"[^a-z0-9]+", plain) if len(w) >= 2}


def names_match(holder: str | None, payer: str | None) -> bool:
    """The payer's name and the holder's name share all the words of the shorter one ("M. Jean DUPONT" pays for
    "Jean Dupont"; "Dupont" alone does not pay for "Jean Dupont" and "Marie Dupont" at once). Pure."""
    a, b = _words(holder) - {"mr", "mrs", "ms", "m", "mme", "mlle", "dr", "herr", "frau", "sr", "sra"}, \
        _words(payer) - {"mr", "mrs", "ms", "m", "mme", "mlle", "dr", "herr", "frau", "sr", "sra"}
    if not a or not b:
        return False
    return a <= b or b <= a


def _tokens(entry: StatementEntry) -> list[str]:
    text = " ".join(t for t in (entry.reference, entry.remittance) if t)
    return list(dict.fromkeys(m.group(0) for m in _TOKEN.finditer(text)))[:50]


def _bills_by_reference(entry: StatementEntry) -> list[Bill]:
    tokens = _tokens(entry)
    if not tokens:
        return []
    return list(db.session.scalars(select(Bill).where(Bill.number.in_(tokens), Bill.status == "issued")
                                   .order_by(Bill.due_date, Bill.id)))


def _account_by_reference(entry: StatementEntry) -> CustomerAccount | None:
    tokens = _tokens(entry)
    if not tokens:
        return None
    found = list(db.session.scalars(select(CustomerAccount).where(CustomerAccount.account_number.in_(tokens))
                                    .limit(2)))
    return found[0] if len(found) == 1 else None


def _unpaid_bills_of_amount(amount: Decimal, today: date, limit: int = 20) -> list:
    bills = list(db.session.scalars(
        select(Bill).where(Bill.status == "issued", Bill.kind != "credit_note", Bill.total_incl_tax >= amount)
        .where(Bill.total_incl_tax == amount).order_by(Bill.due_date, Bill.id).limit(limit)))
    return [v for v in bill_service.bill_views(bills, today=today) if v.outstanding == amount]


def _accounts_of_iban(iban: str | None) -> set[int]:
    if not iban:
        return set()
    return set(db.session.scalars(select(DirectDebitMandate.account_id).where(
        DirectDebitMandate.iban == iban.replace(" ", "").upper())))


def _match(entry: StatementEntry, *, staff, now: datetime, today: date, result: ImportResult) -> None:
    if entry.direction == "debit":
        _match_debit(entry, staff=staff, now=now, today=today, result=result)
        return
    if entry.reversal:  # a debit of ours reversed by the bank: a person looks at it
        entry.note = "reversal"
        return
    bills = _bills_by_reference(entry)
    if bills and len({b.account_id for b in bills}) == 1:
        account = db.session.get(CustomerAccount, bills[0].account_id)
        _post(entry, account=account, bill_ids=[b.id for b in bills], rule="reference", staff=None, now=now,
              today=today, result=result)
        return
    account = _account_by_reference(entry)
    if account is not None:
        _post(entry, account=account, bill_ids=None, rule="account_reference", staff=None, now=now, today=today,
              result=result)
        return
    candidates = _unpaid_bills_of_amount(entry.amount, today)
    iban_accounts = _accounts_of_iban(entry.counterparty_iban)
    fitting = [v for v in candidates if v.bill.account_id in iban_accounts or names_match(
        v.bill.account.holder.display_name if v.bill.account.holder else None, entry.counterparty_name)]
    if len({v.bill.account_id for v in fitting}) == 1 and len(fitting) == 1:
        view = fitting[0]
        _post(entry, account=view.bill.account, bill_ids=[view.bill.id], rule="amount_name", staff=None, now=now,
              today=today, result=result)


def _post(entry: StatementEntry, *, account: CustomerAccount, bill_ids, rule: str, staff, now: datetime,
          today: date, result: ImportResult | None) -> None:
    label = f"Bank transfer {entry.counterparty_name or ''}".strip()
    payment, created = manual_payments.receive(
        account=account, amount=entry.amount, method="transfer", provider=manual_payments.STATEMENT_PROVIDER,
        reference=f"{entry.account_iban}:{entry.entry_key}"[:255], received_on=entry.booked_on, now=now,
        today=today, bill_ids=bill_ids, currency=entry.currency, label=label)
    entry.status = "matched"
    entry.match_rule = rule
    entry.account_id = account.id
    entry.bill_id = bill_ids[0] if bill_ids else None
    entry.payment_id = payment.id
    if staff is not None:
        entry.decided_by_id, entry.decided_by, entry.decided_at = staff.id, staff.email[:255], now
    db.session.flush()
    if created and result is not None:
        receipt = claim_receipt(payment=payment, now=now)
        if receipt is not None:
            result.receipts.append(receipt)


def _match_debit(entry: StatementEntry, *, staff, now: datetime, today: date, result: ImportResult) -> None:
    if not (entry.return_reason or entry.reversal) or not entry.end_to_end_id:
        entry.status = "not_ours"
        return
    item = db.session.scalar(select(CollectionItem).where(CollectionItem.end_to_end_id == entry.end_to_end_id)
                             .with_for_update())
    if item is None:
        entry.status = "not_ours"
        return
    entry.collection_item_id = item.id
    entry.account_id = item.account_id
    entry.bill_id = item.bill_id
    if item.status == "returned":
        entry.status, entry.match_rule, entry.note = "returned", "return", "already_returned"
        return
    batch = db.session.scalar(select(CollectionBatch).where(CollectionBatch.id == item.batch_id).with_for_update())
    try:
        with db.session.begin_nested():
            notice = sepa_collections.record_return(batch=batch, item=item, reason=entry.return_reason or "",
                                                    now=now, today=today, by=f"statement {entry.account_iban}")
    except sepa_collections.CollectionRefused as exc:
        entry.note = f"return_{exc.code}"
        return
    entry.status, entry.match_rule = "returned", "return"
    if notice is not None:
        result.return_notices.append((notice, item.account_id))


# --- The matching queue: what a person confirms or ignores --------------------------------------------------------

def entry_by_public_id(public_id: str, *, lock: bool = False) -> StatementEntry | None:
    stmt = select(StatementEntry).where(StatementEntry.public_id == public_id)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def confirm_entry(*, entry: StatementEntry, account_number: str, bill_number: str | None, staff, now: datetime,
                  today: date) -> list:
    """A person allocates a credit waiting in the queue to an account (and a bill of it). Returns receipts."""
    if entry.status != "to_match" or entry.direction != "credit":
        raise EntryRefused("state", f"entry {entry.public_id} is {entry.status}")
    account = accounts.account_by_number(account_number=(account_number or "").strip())
    if account is None:
        raise EntryRefused("account", f"no account {account_number!r}")
    bill_ids = None
    if bill_number and bill_number.strip():
        bill = db.session.scalar(select(Bill).where(Bill.number == bill_number.strip(), Bill.status == "issued",
                                                    Bill.account_id == account.id))
        if bill is None:
            raise EntryRefused("bill", f"no issued bill {bill_number!r} on account {account_number}")
        bill_ids = [bill.id]
    result = ImportResult()
    _post(entry, account=account, bill_ids=bill_ids, rule="person", staff=staff, now=now, today=today,
          result=result)
    log.info("statement entry confirmed tenant=%s entry=%s account=%s by=%s", entry.tenant_id, entry.public_id,
             account.account_number, staff.id)
    return result.receipts


def ignore_entry(*, entry: StatementEntry, note: str | None, staff, now: datetime) -> None:
    if entry.status != "to_match":
        raise EntryRefused("state", f"entry {entry.public_id} is {entry.status}")
    entry.status = "ignored"
    entry.note = (note or "").strip()[:255] or None
    entry.decided_by_id, entry.decided_by, entry.decided_at = staff.id, staff.email[:255], now
    db.session.flush()


@dataclass(frozen=True)
class Suggestion:
    account_number: str
    holder_name: str
    bill_number: str | None
    outstanding: Decimal | None
    why: str  # reference, amount_name, amount, iban, name


def suggestions(entry: StatementEntry, *, today: date, limit: int = 5) -> list[Suggestion]:
    """Where a waiting credit may belong, best first: bills its text names, unpaid bills of its amount (the payer's
    name or IBAN fitting first), accounts whose mandate has the payer's IBAN, accounts found by the payer's name."""
    if entry.direction != "credit":
        return []
    out: list[Suggestion] = []
    seen: set[tuple[str, str | None]] = set()

    def add(account: CustomerAccount, bill: Bill | None, outstanding, why: str) -> None:
        key = (account.account_number, bill.number if bill else None)
        if key not in seen and len(out) < limit:
            seen.add(key)
            out.append(Suggestion(account.account_number, account.holder.display_name if account.holder else "",
                                  bill.number if bill else None, outstanding, why))

    for bill in _bills_by_reference(entry):
        add(bill.account, bill, None, "reference")
    iban_accounts = _accounts_of_iban(entry.counterparty_iban)
    views = _unpaid_bills_of_amount(entry.amount, today)
    views.sort(key=lambda v: not (v.bill.account_id in iban_accounts or names_match(
        v.bill.account.holder.display_name if v.bill.account.holder else None, entry.counterparty_name)))
    for view in views:
        fits = view.bill.account_id in iban_accounts or names_match(
            view.bill.account.holder.display_name if view.bill.account.holder else None, entry.counterparty_name)
        add(view.bill.account, view.bill, view.outstanding, "amount_name" if fits else "amount")
    for account_id in sorted(iban_accounts):
        add(db.session.get(CustomerAccount, account_id), None, None, "iban")
    if entry.counterparty_name and len(out) < limit:
        for account in accounts.search_accounts(query=entry.counterparty_name, limit=limit):
            if names_match(account.holder.display_name if account.holder else None, entry.counterparty_name):
                add(account, None, None, "name")
    return out


def statements(*, limit: int | None = 100) -> list[BankStatement]:
    stmt = select(BankStatement).order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())
    return list(db.session.scalars(stmt.limit(limit) if limit is not None else stmt))


def statement_by_public_id(public_id: str) -> BankStatement | None:
    return db.session.scalar(select(BankStatement).where(BankStatement.public_id == public_id))


def entries_of(statement: BankStatement) -> list[StatementEntry]:
    return list(db.session.scalars(select(StatementEntry).where(StatementEntry.statement_id == statement.id)
                                   .order_by(StatementEntry.id)))


def status_counts(statement_ids: list[int]) -> dict[int, dict[str, int]]:
    if not statement_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    for statement_id, status, count in db.session.execute(
            select(StatementEntry.statement_id, StatementEntry.status, func.count())
            .where(StatementEntry.statement_id.in_(statement_ids))
            .group_by(StatementEntry.statement_id, StatementEntry.status)):
        out.setdefault(statement_id, {})[status] = count
    return out


def waiting_entries(*, limit: int | None = 200) -> list[StatementEntry]:
    """The matching queue: entries waiting for a person, oldest booking first."""
    stmt = (select(StatementEntry).where(StatementEntry.status == "to_match")
            .order_by(StatementEntry.booked_on, StatementEntry.id))
    return list(db.session.scalars(stmt.limit(limit) if limit is not None else stmt))


def account_numbers(account_ids: set[int]) -> dict[int, str]:
    ids = [i for i in account_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(CustomerAccount.id, CustomerAccount.account_number)
                                   .where(CustomerAccount.id.in_(ids))).tuples().all())


def bill_numbers(bill_ids: set[int]) -> dict[int, str]:
    ids = [i for i in bill_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(Bill.id, Bill.number).where(Bill.id.in_(ids))).tuples().all())
