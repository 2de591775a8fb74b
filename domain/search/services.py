"""Find customer accounts from one search box, in stages that rank them: an exact identifier (customer number,
point of delivery, meter, bill, e-mail, phone), then every term exact, then as a beginning, then with close
spellings (typos); a later stage runs only while the page is not full, and not after an exact identifier. Each
stage is one indexed query on the accounts' search documents (migration 0029): a tsvector with a GIN index on
PostgreSQL, FTS5 on SQLite; row-level security and the ORM's tenant filter keep it within the tenant.

Typos: neither index compares spellings, so a word of four letters or more is compared with the tenant's words
(PostgreSQL: `search_words`, trigram index; SQLite: the FTS5 vocabulary, read whole - fine at an embedded
utility's size) and replaced by those within one typo (words of up to five letters) or two (optimal string
alignment distance, a swap counting one). A beginning of letters ("dura") is looked up the same way."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, cast, column, func, select, text
from sqlalchemy.dialects.postgresql import TSQUERY

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.parties.models import ContactPoint, Party
from domain.search import terms as t
from domain.search.models import AccountSearchDocument, SearchWord

IDENTIFIER, EXACT, PREFIX, CLOSE = 0, 1, 2, 3
TRIGRAM_THRESHOLD = "0.25"  # "duarnd" and "durand" share 3 of 11 trigrams (0.27): candidates, then typo distance
MAX_CANDIDATES = 300


@dataclass(frozen=True)
class SearchHit:
    """One account found: what the results list shows, and which of its facts matched and how."""

    account_number: str
    name: str
    address: str | None  # the holder's main postal address, one line
    status: str
    opened_on: date
    matched: list[t.Match]
    stage: int

    @property
    def close_spelling(self) -> bool:
        return self.stage == CLOSE


def search_accounts(*, query: str, limit: int = 50) -> list[SearchHit]:
    """At most `limit` accounts of the current tenant, best first (ask one more to learn whether there are more)."""
    terms = t.parse(query)
    if not terms:
        return []
    postgres = db.session.get_bind().dialect.name == "postgresql"
    found: dict[int, int] = {}  # account id -> stage that found it

    def run(stage: int) -> None:
        if len(found) >= limit:
            return
        expression = (_tsquery if postgres else _fts5_query)(terms, stage)
        ids = (_postgres_ids if postgres else _sqlite_ids)(expression, list(found), limit - len(found))
        for account_id in ids:
            found.setdefault(account_id, stage)

    if len(terms) == 1 and terms[0].identifier_like:
        run(IDENTIFIER)
    identified = bool(found)  # an exact identifier: what else matches it exactly follows, not its beginnings
    run(EXACT)
    if not identified and len(found) < limit and any(term.prefix for term in terms):
        terms = [term.with_longer(_longer_words(term.prefix, postgres)) if term.word_prefix else term
                 for term in terms]
        run(PREFIX)
    if not identified and len(found) < limit and any(term.fuzzy_word for term in terms):
        terms = [term.with_close(_close_words(term.fuzzy_word, postgres)) if term.fuzzy_word else term
                 for term in terms]
        if any(term.close for term in terms):
            run(CLOSE)
    return _hits(terms, found)


def _hits(terms: list[t.Term], found: dict[int, int]) -> list[SearchHit]:
    """The rows of the results list in two statements (no ORM objects: a page of 51 builds in a few ms)."""
    if not found:
        return []
    rows = db.session.execute(
        select(CustomerAccount.id, CustomerAccount.account_number, CustomerAccount.status, CustomerAccount.opened_on,
               CustomerAccount.holder_party_id, Party.kind, Party.first_name, Party.last_name,
               Party.organisation_name, AccountSearchDocument.facts)
        .join(Party, (Party.tenant_id == CustomerAccount.tenant_id) & (Party.id == CustomerAccount.holder_party_id))
        .join(AccountSearchDocument, (AccountSearchDocument.tenant_id == CustomerAccount.tenant_id)
              & (AccountSearchDocument.account_id == CustomerAccount.id))
        .where(CustomerAccount.id.in_(list(found)))).all()
    addresses: dict[int, str] = {}
    for party_id, line1, postcode, city in db.session.execute(
            select(ContactPoint.party_id, ContactPoint.address_line1, ContactPoint.postcode, ContactPoint.city)
            .where(ContactPoint.party_id.in_({row.holder_party_id for row in rows}), ContactPoint.kind == "postal")
            .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)):
        addresses.setdefault(party_id, f"{line1}, {postcode} {city}")  # the main one: primary, else the first
    hits = []
    for row in rows:
        name = (row.organisation_name if row.kind == "organisation"
                else " ".join(p for p in (row.first_name, row.last_name) if p)) or ""
        hits.append(SearchHit(row.account_number, name, addresses.get(row.holder_party_id), row.status,
                              row.opened_on, t.matches(terms, t.parse_facts(row.facts)), found[row.id]))
    hits.sort(key=lambda h: t.rank_key(terms, h.matched, h.stage, h.name, h.account_number))
    return hits


# --- PostgreSQL: tsvector of exact tokens, GIN index; close spellings from the tenant's words (trigram index) --

def _tsquery(terms: list[t.Term], stage: int) -> str:
    groups = []
    for term in terms:
        if stage == IDENTIFIER:
            options = [f"'_{e}'" for e in term.exact]
        else:
            options = [f"'{e}'" for e in term.exact]
            if term.parts:
                options.append("(" + " & ".join(f"'{p}'" for p in term.parts) + ")")
            if stage >= PREFIX and term.prefix and not term.word_prefix:
                options.append(f"'{term.prefix}':*")
            if stage >= PREFIX:
                options.extend(f"'{w}'" for w in term.longer)
            if stage >= CLOSE:
                options.extend(f"'{c}'" for c in term.close)
        groups.append("(" + " | ".join(options) + ")")
    return " & ".join(groups)


def _postgres_ids(expression: str, exclude: list[int], limit: int) -> list[int]:
    stmt = select(AccountSearchDocument.account_id).where(AccountSearchDocument.tokens.op("@@")(
        cast(expression, TSQUERY)))
    if exclude:
        stmt = stmt.where(AccountSearchDocument.account_id.not_in(exclude))
    return list(db.session.scalars(stmt.limit(limit)))


MAX_LONGER = 30


def _longer_words(prefix: str, postgres: bool) -> list[str]:
    """The tenant's words beginning with `prefix`, shortest first (a range of the dictionary's index)."""
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    if postgres:
        words = db.session.scalars(
            select(SearchWord.word).where(SearchWord.word >= prefix, SearchWord.word < after)
            .order_by(func.length(SearchWord.word), SearchWord.word).limit(MAX_LONGER))
    else:
        words = db.session.scalars(text(
            "SELECT term FROM account_search_vocab WHERE term >= :prefix AND term < :after"
            " ORDER BY length(term), term LIMIT :limit"), {"prefix": prefix, "after": after, "limit": MAX_LONGER})
    return [w for w in words if w.startswith(prefix)]


def _close_words(word: str, postgres: bool) -> list[str]:
    lo, hi = len(word) - t.max_typos(word), len(word) + t.max_typos(word)
    if postgres:
        db.session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :threshold, true)"),
                           {"threshold": TRIGRAM_THRESHOLD})
        candidates = db.session.scalars(
            select(SearchWord.word).where(SearchWord.word.op("%")(word),
                                          func.length(SearchWord.word).between(lo, hi)).limit(MAX_CANDIDATES))
    else:
        candidates = db.session.scalars(text(
            "SELECT term FROM account_search_vocab WHERE length(term) BETWEEN :lo AND :hi"
            " AND substr(term, 1, 1) <> '_'"), {"lo": lo, "hi": hi})
    return t.close_words(word, list(candidates))


# --- SQLite: FTS5 (unicode61, accents removed); close spellings from the index's vocabulary -------------------

def _fts5_query(terms: list[t.Term], stage: int) -> str:
    groups = []
    for term in terms:
        if stage == IDENTIFIER:
            options = [f'"_{e}"' for e in term.exact]
        else:
            options = [f'"{e}"' for e in term.exact]
            if term.parts:
                options.append("(" + " AND ".join(f'"{p}"' for p in term.parts) + ")")
            if stage >= PREFIX and term.prefix and not term.word_prefix:
                options.append(f'"{term.prefix}" *')
            if stage >= PREFIX:
                options.extend(f'"{w}"' for w in term.longer)
            if stage >= CLOSE:
                options.extend(f'"{c}"' for c in term.close)
        groups.append("(" + " OR ".join(options) + ")")
    return " AND ".join(groups)


def _sqlite_ids(expression: str, exclude: list[int], limit: int) -> list[int]:
    matching = text("SELECT rowid FROM account_search_fts WHERE account_search_fts MATCH :q").bindparams(
        q=expression).columns(column("rowid", Integer))
    stmt = select(AccountSearchDocument.account_id).where(AccountSearchDocument.id.in_(matching))
    if exclude:
        stmt = stmt.where(AccountSearchDocument.account_id.not_in(exclude))
    return list(db.session.scalars(stmt.limit(limit)))
