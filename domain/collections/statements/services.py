"""Importing a bank statement and matching its entries: credits to bills by the reference our bills print (the
bill number; an account number also finds the account), then by amount and payer name (or the payer's IBAN on a
mandate); returns of our SEPA direct debits are posted through the collections' return recording; the rest waits
in a matching queue with suggestions for a person to confirm or ignore.

Reading, checking and recording a statement happen in the staff member's request (capped at parsing.MAX_BYTES; a
hostile or invalid file is refused at once with nothing written). Matching posts a payment per credit (a dozen
statements each): up to INLINE_ENTRIES new entries it runs in the request, beyond that on the workers
(`collections.match_statement`, jobs.py), the statement showing "matching" until done. Importing the same statement
again changes nothing: a statement is known by (bank account, statement id) and an entry by (bank account, entry
reference); matching again posts nothing twice (each payment's reference is its entry)."""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.collections import manual_payments
from domain.collections.statements.models import BankStatement, StatementEntry
from domain.collections.statements.parsing import ParsedEntry, StatementRefused, parse_statement
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments import sepa_collections
from domain.payments.collection_models import CollectionBatch, CollectionItem
from domain.payments.models import DirectDebitMandate
from domain.contracts import services as accounts
from domain.payments.receipts import claim_receipt
from domain.search import services as search

log = logging.getLogger("collections.statements")
CENT = Decimal("0.01")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9]")

INLINE_ENTRIES = 200
__all__ = ["StatementRefused", "import_statement", "confirm_entry", "ignore_entry", "suggestions"]


class EntryRefused(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class ImportResult:
    statements: list[BankStatement] = field(default_factory=list)
    queued: list[BankStatement] = field(default_factory=list)  # matched by a job once committed
    already: list[BankStatement] = field(default_factory=list)  # imported before: nothing changed
    counts: dict[str, int] = field(default_factory=dict)  # status -> entries added with it
    receipts: list = field(default_factory=list)
    return_notices: list = field(default_factory=list)  # (notice, account_id)


def import_statement(*, data: bytes, file_name: str, staff, now: datetime, today: date, tenant,
                     inline_entries: int = INLINE_ENTRIES) -> ImportResult:
    """Parse, check and record the statements of one file, then match their new entries now (up to
    `inline_entries`) or leave them to `match_statement` on a worker (`result.queued`: the caller enqueues it after
    commit). Refusals (StatementRefused) come before anything is written. Receipts and return notices are queued
    on the mail pipeline (once per payment and per return)."""
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
        added = []
        for parsed_entry in statement.entries:
            if parsed_entry.entry_key in known:  # brought by an earlier statement: already matched there
                continue
            known.add(parsed_entry.entry_key)
            added.append(_new_entry(row, parsed_entry))
        db.session.add_all(added)
        db.session.flush()
        result.statements.append(row)
        if len(added) > inline_entries:
            result.queued.append(row)
            result.counts["queued"] = result.counts.get("queued", 0) + len(added)
            continue
        _match_all(added, staff=staff, now=now, today=today, result=result)
        row.matched_at = now
    db.session.flush()
    log.info("statement imported tenant=%s file=%s new=%d already=%d counts=%s by=%s", tenant.id, digest[:12],
             len(result.statements), len(result.already), result.counts, staff.id)
    return result


def _match_all(entries: list[StatementEntry], *, staff, now: datetime, today: date, result: ImportResult) -> None:
    lookups = _Lookups(entries)
    for entry in entries:
        _match(entry, lookups=lookups, staff=staff, now=now, today=today, result=result)
        result.counts[entry.status] = result.counts.get(entry.status, 0) + 1
    _tell(result, now=now)


def match_statement(*, statement: BankStatement, now: datetime, today: date) -> ImportResult:
    """Match the entries of a statement recorded without matching (a big one, on a worker). Idempotent: entries
    already dealt with are skipped, and an entry's payment is found again by its reference after a crash."""
    result = ImportResult(statements=[statement])
    if statement.matched_at is not None:
        return result
    entries = list(db.session.scalars(select(StatementEntry).where(
        StatementEntry.statement_id == statement.id, StatementEntry.status == "to_match",
        StatementEntry.note.is_(None)).order_by(StatementEntry.id)))
    _match_all(entries, staff=None, now=now, today=today, result=result)
    statement.matched_at = now
    db.session.flush()
    log.info("statement matched tenant=%s statement=%s counts=%s", statement.tenant_id, statement.public_id,
             result.counts)
    return result


def _tell(result: ImportResult, *, now: datetime) -> None:
    """Receipts of the payments matched and notices of the direct debits returned, on the mail pipeline (once
    each: a re-run tells nobody twice)."""
    from domain.communications.pipeline import notify
    from domain.i18n import translator

    for receipt in result.receipts:
        notify(kind="payment_received", to=receipt.to, locale=receipt.locale, now=now,
               reference=f"receipt:{receipt.payment_public_id}",
               context={"receipt": receipt, "method": "transfer"})
    for notice, account_id in result.return_notices:
        words = translator(notice.locale or "en")(RETURN_REASON_WORDS.get(notice.reason,
                                                                          "another reason given by the bank"))
        notify(kind="collection_returned", to=notice.to, locale=notice.locale, now=now, account_id=account_id,
               reference=f"return:{notice.account_number}:{notice.bill_number}:{notice.collection_date}",
               context={"notice": notice, "reason": words}, links={"portal_url": ("portal.home", {})})
    result.receipts, result.return_notices = [], []


# The words of backoffice/collection_views.REASON_NAMES (same messages, so the same translations), for mail
# rendered outside a request.
RETURN_REASON_WORDS = {
    "AC01": "wrong account number", "AC04": "account closed", "AC06": "account blocked",
    "AG01": "direct debit not allowed on this account", "AM04": "insufficient funds",
    "MD01": "no valid mandate", "MD02": "mandate data missing or wrong",
    "MD06": "refund requested by the account holder", "MD07": "account holder deceased",
    "MS02": "refused by the account holder", "MS03": "reason not given by the bank",
    "SL01": "refused by a service of the bank",
}


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


class _Lookups:
    """What matching needs, read for a whole statement in a handful of queries (not per entry): bills and accounts
    whose number an entry quotes, and accounts whose mandate has a payer's IBAN."""

    CHUNK = 500

    def __init__(self, entries: list[StatementEntry]):
        self.entries = entries
        self.unpaid: dict[Decimal, list] | None = None
        self.taken: set[int] = set()
        tokens = sorted({t for e in entries for t in _tokens(e)})
        self.bills: dict[str, Bill] = {}
        self.accounts: dict[str, CustomerAccount] = {}
        for i in range(0, len(tokens), self.CHUNK):
            part = tokens[i:i + self.CHUNK]
            self.bills.update({b.number: b for b in db.session.scalars(
                select(Bill).where(Bill.number.in_(part), Bill.status == "issued"))})
            self.accounts.update({a.account_number: a for a in db.session.scalars(
                select(CustomerAccount).where(CustomerAccount.account_number.in_(part)))})
        ibans = sorted({_iban(e.counterparty_iban) for e in entries if e.counterparty_iban})
        self.iban_accounts: dict[str, set[int]] = {}
        for i in range(0, len(ibans), self.CHUNK):
            for iban, account_id in db.session.execute(
                    select(DirectDebitMandate.iban, DirectDebitMandate.account_id)
                    .where(DirectDebitMandate.iban.in_(ibans[i:i + self.CHUNK]))):
                self.iban_accounts.setdefault(iban, set()).add(account_id)

    def bills_of(self, entry: StatementEntry) -> list[Bill]:
        found = [self.bills[t] for t in _tokens(entry) if t in self.bills]
        return sorted(found, key=lambda b: (b.due_date or date.min, b.id))

    def account_of(self, entry: StatementEntry) -> CustomerAccount | None:
        found = {self.accounts[t].id: self.accounts[t] for t in _tokens(entry) if t in self.accounts}
        return next(iter(found.values())) if len(found) == 1 else None

    def unpaid_of_amount(self, amount: Decimal, today: date) -> list:
        """Unpaid bills of this amount, read once for every amount of the credits that no reference matched."""
        if self.unpaid is None:
            amounts = {e.amount for e in self.entries if e.direction == "credit" and not e.reversal
                       and not self.bills_of(e) and self.account_of(e) is None}
            self.unpaid = unpaid_bills_of_amounts(amounts, today)
        # Bills paid by an earlier entry of this statement are no longer candidates.
        return [v for v in self.unpaid.get(amount, []) if v.bill.id not in self.taken]

    def accounts_of_iban(self, iban: str | None) -> set[int]:
        return self.iban_accounts.get(_iban(iban), set()) if iban else set()


def _iban(raw: str | None) -> str:
    return (raw or "").replace(" ", "").upper()


def _holder(bill: Bill) -> str | None:
    return bill.account.holder.display_name if bill.account.holder else None


def _paid_subquery():
    return (select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.bill_id == Bill.id, Payment.status == "succeeded")
            .correlate(Bill).scalar_subquery())


def unpaid_bills_of_amounts(amounts: set[Decimal], today: date, per_amount: int = 20) -> dict[Decimal, list]:
    """amount -> views of issued bills with exactly that amount left to pay, oldest due first, at most
    `per_amount` each: one query for all the amounts (a window per amount), whatever the number of entries."""
    out: dict[Decimal, list] = {}
    amounts = sorted(amounts)
    for i in range(0, len(amounts), _Lookups.CHUNK):
        part = amounts[i:i + _Lookups.CHUNK]
        left = (Bill.total_incl_tax - _paid_subquery())
        ranked = (select(Bill.id.label("bill_id"), func.row_number().over(
            partition_by=left, order_by=(Bill.due_date, Bill.id)).label("rank"))
            .where(Bill.status == "issued", Bill.kind != "credit_note", left.in_(part)).subquery())
        bills = list(db.session.scalars(
            select(Bill).where(Bill.id.in_(select(ranked.c.bill_id).where(ranked.c.rank <= per_amount)))
            .order_by(Bill.due_date, Bill.id)
            .options(selectinload(Bill.account).selectinload(CustomerAccount.holder))))
        for view in bill_service.bill_views(bills, today=today):
            out.setdefault(view.outstanding, []).append(view)
    return out


def _unpaid_bills_of_amount(amount: Decimal, today: date) -> list:
    return unpaid_bills_of_amounts({amount}, today).get(amount, [])


def _match(entry: StatementEntry, *, lookups: _Lookups, staff, now: datetime, today: date,
           result: ImportResult) -> None:
    if entry.direction == "debit":
        _match_debit(entry, staff=staff, now=now, today=today, result=result)
        return
    if entry.reversal:  # a debit of ours reversed by the bank: a person looks at it
        entry.note = "reversal"
        return
    bills = lookups.bills_of(entry)
    if bills and len({b.account_id for b in bills}) == 1:
        account = db.session.get(CustomerAccount, bills[0].account_id)
        _post(entry, account=account, bill_ids=[b.id for b in bills], rule="reference", staff=None, now=now,
              today=today, result=result)
        return
    account = lookups.account_of(entry)
    if account is not None:
        _post(entry, account=account, bill_ids=None, rule="account_reference", staff=None, now=now, today=today,
              result=result)
        return
    candidates = lookups.unpaid_of_amount(entry.amount, today)
    iban_accounts = lookups.accounts_of_iban(entry.counterparty_iban)
    fitting = [v for v in candidates if v.bill.account_id in iban_accounts
               or names_match(_holder(v.bill), entry.counterparty_name)]
    if len(fitting) == 1:
        view = fitting[0]
        lookups.taken.add(view.bill.id)
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
                  today: date) -> int:
    """A person allocates a credit waiting in the queue to an account (and a bill of it); the customer's receipt
    is queued. Returns how many receipts were queued (0 or 1)."""
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
    sent = len(result.receipts)
    _tell(result, now=now)
    log.info("statement entry confirmed tenant=%s entry=%s account=%s by=%s", entry.tenant_id, entry.public_id,
             account.account_number, staff.id)
    return sent


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

    lookups = _Lookups([entry])
    for bill in lookups.bills_of(entry):
        add(bill.account, bill, None, "reference")
    iban_accounts = lookups.accounts_of_iban(entry.counterparty_iban)
    views = _unpaid_bills_of_amount(entry.amount, today)
    views.sort(key=lambda v: not (v.bill.account_id in iban_accounts
                                  or names_match(_holder(v.bill), entry.counterparty_name)))
    for view in views:
        fits = view.bill.account_id in iban_accounts or names_match(_holder(view.bill), entry.counterparty_name)
        add(view.bill.account, view.bill, view.outstanding, "amount_name" if fits else "amount")
    for account_id in sorted(iban_accounts):
        add(db.session.get(CustomerAccount, account_id), None, None, "iban")
    if entry.counterparty_name and len(out) < limit:
        hits = [hit for hit in search.search_accounts(query=entry.counterparty_name, limit=limit)
                if names_match(hit.name, entry.counterparty_name)]
        by_number = {account.account_number: account for account in db.session.scalars(select(CustomerAccount).where(
            CustomerAccount.account_number.in_([hit.account_number for hit in hits])))} if hits else {}
        for hit in hits:
            add(by_number[hit.account_number], None, None, "name")
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
