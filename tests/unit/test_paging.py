"""Paging: which page is shown and which numbers are offered, whatever the query string says."""
from __future__ import annotations

import pytest

from domain.paging import Page, page_of, requested_page


@pytest.mark.parametrize("raw, expected", [
    (None, 1), ("", 1), ("1", 1), ("3", 3), (" 4 ", 4), ("0", 1), ("-2", 1), ("2.5", 1), ("abc", 1),
    ("³", 1), ("99999999999999999999999", 10**9),
])
def test_requested_page_is_a_positive_whole_number_or_one(raw, expected):
    assert requested_page(raw) == expected


def test_a_page_past_the_end_is_the_last_page():
    page = page_of(requested="99", total=45, size=20)

    assert (page.number, page.pages, page.offset) == (3, 3, 40)
    assert (page.first_item, page.last_item) == (41, 45)
    assert page.has_previous and not page.has_next


def test_an_empty_list_has_one_empty_page():
    page = page_of(requested="7", total=0, size=20)

    assert (page.number, page.pages, page.offset, page.first_item, page.last_item) == (1, 1, 0, 0, 0)
    assert not page.has_previous and not page.has_next
    assert page.numbers() == [1]


def test_exactly_full_pages():
    assert page_of(requested="2", total=40, size=20).pages == 2
    assert page_of(requested="2", total=41, size=20).pages == 3


def test_page_numbers_show_first_last_and_neighbours_with_gaps():
    assert Page(number=1, size=20, total=200).numbers() == [1, 2, 3, None, 10]
    assert Page(number=6, size=20, total=300).numbers() == [1, None, 4, 5, 6, 7, 8, None, 15]
    assert Page(number=6, size=20, total=200).numbers() == [1, None, 4, 5, 6, 7, 8, 9, 10]
    assert Page(number=4, size=20, total=200).numbers() == [1, 2, 3, 4, 5, 6, None, 10]  # no gap of one
    assert Page(number=10, size=20, total=200).numbers() == [1, None, 8, 9, 10]
    assert Page(number=2, size=20, total=60).numbers() == [1, 2, 3]


def test_page_size_must_be_positive():
    with pytest.raises(ValueError):
        page_of(requested="1", total=3, size=0)
