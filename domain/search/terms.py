"""What a search box query means (pure): its terms, the tokens each may match, and which facts of an account
matched, folded the way the database folds them (migration 0029: `search_fold`, `search_tokens`, FTS5 unicode61).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field, replace

MAX_TERMS = 6
MAX_QUERY = 200
IDENT_KINDS = frozenset({"account", "email", "phone", "pod", "meter", "bill"})
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "þ": "th"})
_SEPARATORS = re.compile(r"[\W_]+")
# A phone number typed with spaces, dots or dashes ("06 12 34 56 78", "+44 20 7946 0958"): one term.
_PHONE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().\-/]{6,}\d(?![\w@])")


def fold(text: str) -> str:
    """Lower case without accents ("François Dupré" -> "francois dupre"), as `unaccent` + `lower` give it."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def compact(text: str) -> str:
    """An identifier without its separators: "F2026-000123" -> "f2026000123", "+33 6 12" -> "33612"."""
    return _SEPARATORS.sub("", fold(text))


def words(text: str) -> list[str]:
    return [w for w in _SEPARATORS.split(fold(text)) if w]


@lru_cache(maxsize=20000)
def fact_tokens(kind: str, value: str) -> frozenset[str]:
    """The tokens a fact is found by (without the identifiers' '_' twins); towns and common names repeat, hence
    the cache."""
    return frozenset(_fact_tokens(kind, value))


def _fact_tokens(kind: str, value: str) -> set[str]:
    if kind in ("name", "town"):
        return set(words(value))
    if kind == "postcode":
        return set(words(value)) | {compact(value)}
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return {digits, digits[-9:]} - {""}
    if kind == "account":
        return {compact(value), re.sub(r"\D", "", value).lstrip("0")} - {""}
    return {compact(value)} - {""}


@dataclass(frozen=True)
class Term:
    """One term of the query: it matches a token equal to one of `exact`, all of `parts` ("jean-pierre"),
    a token starting with `prefix`, or (typos) one of the close words found for `fuzzy_word`."""

    raw: str
    exact: tuple[str, ...]
    parts: tuple[str, ...] = ()
    prefix: str | None = None
    fuzzy_word: str | None = None
    close: tuple[str, ...] = field(default=())
    longer: tuple[str, ...] = field(default=())  # the tenant's words that begin with an alphabetic prefix

    @property
    def identifier_like(self) -> bool:
        return any(ch.isdigit() for ch in self.raw) or "@" in self.raw

    @property
    def word_prefix(self) -> bool:
        """A prefix of letters is looked up in the tenant's words (an index scan of a few rows) rather than in the
        search index, where a short prefix would gather the documents of every word it begins."""
        return bool(self.prefix) and self.prefix.isalpha()

    def with_close(self, close: list[str]) -> Term:
        return replace(self, close=tuple(close))

    def with_longer(self, longer: list[str]) -> Term:
        return replace(self, longer=tuple(w for w in longer if w != self.prefix and w.startswith(self.prefix or "")))


def parse(query: str) -> list[Term]:
    """The terms of a query, at most MAX_TERMS; a phone number written in groups is one term."""
    text = (query or "")[:MAX_QUERY]
    text = _PHONE.sub(lambda m: re.sub(r"\D", "", m.group(0)) if len(re.sub(r"\D", "", m.group(0))) >= 8
                      else m.group(0), text)
    terms = []
    for raw in text.split():
        whole = compact(raw)
        if not whole:
            continue
        exact = [whole]
        if whole.isdigit():
            if len(whole) >= 9:
                exact.append(whole[-9:])
            if whole.lstrip("0") and whole.lstrip("0") != whole:
                exact.append(whole.lstrip("0"))
        parts = words(raw)
        has_digit = any(ch.isdigit() for ch in whole)
        prefix = whole if len(whole) >= (4 if has_digit else 3) else None
        fuzzy = whole if whole.isalpha() and len(whole) >= 4 and len(parts) == 1 else None
        terms.append(Term(raw, tuple(dict.fromkeys(exact)), tuple(parts) if len(parts) > 1 else (), prefix, fuzzy))
        if len(terms) == MAX_TERMS:
            break
    return terms


def max_typos(word: str) -> int:
    return 1 if len(word) <= 5 else 2


def distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein with swapped neighbours: "duarnd"/"durand" is 1), or
    limit + 1 as soon as it is known to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return previous[-1]


def close_words(word: str, candidates, limit: int = 12) -> list[str]:
    """The candidates within `max_typos(word)` of `word` (itself excluded), closest first."""
    allowed = max_typos(word)
    scored = sorted((distance(word, c, allowed), c) for c in set(candidates) if c != word and c.isalpha())
    return [c for d, c in scored if d <= allowed][:limit]


@dataclass(frozen=True)
class Match:
    kind: str
    value: str
    how: str  # "exact", "prefix" or "close"


_HOW_ORDER = {"exact": 0, "prefix": 1, "close": 2}


def term_matches(term: Term, tokens: set[str]) -> str | None:
    if any(e in tokens for e in term.exact) or (term.parts and all(p in tokens for p in term.parts)):
        return "exact"
    if term.word_prefix and any(w in tokens for w in term.longer):
        return "prefix"
    if term.prefix and not term.word_prefix and any(t.startswith(term.prefix) for t in tokens):
        return "prefix"
    if term.close and any(c in tokens for c in term.close):
        return "close"
    return None


def matches(terms: list[Term], facts: list[tuple[str, str]]) -> list[Match]:
    """The facts of an account that the terms matched, each with the loosest way a term matched it ("camille
    duarnd": the name, by a close spelling)."""
    found: dict[tuple[str, str], str] = {}
    for kind, value in facts:
        tokens = fact_tokens(kind, value)
        for term in terms:
            how = term_matches(term, tokens)
            current = found.get((kind, value))
            if how is not None and (current is None or _HOW_ORDER[how] > _HOW_ORDER[current]):
                found[(kind, value)] = how
    return [Match(kind, value, how) for (kind, value), how in found.items()]


def parse_facts(text: str) -> list[tuple[str, str]]:
    facts = []
    for line in (text or "").split("\n"):
        kind, _, value = line.partition("\t")
        if value:
            facts.append((kind, value))
    return facts


def rank_key(terms: list[Term], found: list[Match], stage: int, name: str, number: str) -> tuple:
    """Exact identifier matches first, then accounts whose name matched best, then by name."""
    identifier = any(m.kind in IDENT_KINDS and m.how == "exact" for m in found)
    name_score = sum({"exact": 3, "prefix": 2, "close": 1}[m.how] for m in found if m.kind == "name")
    return (0 if identifier else 1, stage, -name_score, fold(name), number)
