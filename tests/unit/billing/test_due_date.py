from datetime import UTC, date, datetime

from domain.billing.issuing import due_date


def test_terms_run_from_the_bill_date_when_issued_that_day_or_before():
    assert due_date(issue_date=date(2026, 11, 1), issued_at=datetime(2026, 11, 1, 6, tzinfo=UTC),
                    payment_terms_days=14) == date(2026, 11, 15)


def test_a_run_dated_earlier_than_its_issue_gives_the_full_terms_from_the_issue_day():
    assert due_date(issue_date=date(2026, 11, 1), issued_at=datetime(2026, 11, 28, 9, tzinfo=UTC),
                    payment_terms_days=15) == date(2026, 12, 13)
