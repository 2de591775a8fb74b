"""What a search query means, without a database: folding, terms, phone numbers in groups, typo distance, and
which facts of an account a query matched."""
from __future__ import annotations

from domain.search import terms as t


def test_folding_removes_accents_and_case_as_unaccent_does():
    assert t.fold("François DUPRÉ") == "francois dupre"
    assert t.fold("Größer Øster") == "grosser oster"
    assert t.compact("F2026-000123") == "f2026000123"


def test_a_phone_number_typed_in_groups_is_one_term():
    terms = t.parse("06 12 34 56 78")

    assert [term.exact for term in terms] == [("0612345678", "612345678")]


def test_an_international_phone_number_also_matches_its_last_nine_digits():
    (term,) = t.parse("+33 6 12 34 56 78")

    assert term.exact == ("33612345678", "612345678")


def test_a_name_and_a_postcode_stay_two_terms():
    terms = t.parse("Durand 69002")

    assert [term.exact for term in terms] == [("durand",), ("69002",)]
    assert terms[0].fuzzy_word == "durand" and terms[1].fuzzy_word is None


def test_a_number_with_leading_zeros_also_matches_without_them():
    (term,) = t.parse("0001234")

    assert term.exact == ("0001234", "1234") and term.prefix == "0001234"


def test_a_hyphenated_name_matches_whole_or_by_its_parts():
    (term,) = t.parse("Jean-Pierre")

    assert term.exact == ("jeanpierre",) and term.parts == ("jean", "pierre")


def test_at_most_six_terms_and_nothing_for_punctuation():
    assert len(t.parse("a b c d e f g h")) == t.MAX_TERMS
    assert t.parse(" - / ") == []


def test_swapped_letters_count_as_one_typo():
    assert t.distance("duarnd", "durand", 2) == 1
    assert t.distance("martin", "martine", 2) == 1
    assert t.distance("dupont", "durand", 2) == 3  # more than allowed: stops at limit + 1


def test_close_words_allow_one_typo_in_short_words_and_two_in_long_ones():
    words = ["durand", "durant", "dupont", "moreau", "morel", "mora"]

    assert t.close_words("duarnd", words) == ["durand", "durant"]
    assert t.close_words("morl", words) == ["mora", "morel"]


def test_what_matched_names_each_fact_and_how():
    facts = [("account", "C00001234"), ("name", "François Dupré"), ("town", "Lyon"), ("meter", "LKY-0042"),
             ("phone", "+33 4 72 10 20 30")]
    terms = [term.with_close(["dupre"]) if term.fuzzy_word else term for term in t.parse("francois duprre")]

    found = t.matches(terms, facts)

    assert found == [t.Match("name", "François Dupré", "close")]  # the loosest way a term matched it
    assert t.matches(t.parse("lky0042"), facts) == [t.Match("meter", "LKY-0042", "exact")]
    assert t.matches(t.parse("04 72 10 20 30"), facts) == [t.Match("phone", "+33 4 72 10 20 30", "exact")]
    assert t.matches(t.parse("C000012"), facts) == [t.Match("account", "C00001234", "prefix")]
