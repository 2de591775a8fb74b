"""Staff see an account's bills with their PDF, and billing staff cancel and re-bill one."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.billing.models import Bill
from domain.db import db
from tenants.context import tenant_scope
from tests.integration.test_billing_runs import _jobs_in_process, _start  # noqa: F401  (fixture reused)


def test_billing_staff_cancel_and_rebill_a_bill_from_the_customer_file(app, two_tenants, browser):
    a, _ = two_tenants
    run_id = _start(app, a.tenant_id, mode="issue")
    with app.app_context(), tenant_scope(a.tenant_id):
        number = db.session.scalar(select(Bill.number).where(Bill.billing_run_id == run_id))
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    path = f"/backoffice/customers/{a.account_number}"

    before = office.get(path).get_data(as_text=True)
    response = office.submit(path, {"confirm": "y"}, action=f"/backoffice/bills/{number}/correct",
                             follow_redirects=True)
    after = response.get_data(as_text=True)

    assert number in before and "Cancel and re-bill" in before
    # asked first: the button is inside a disclosure that names the bill, not a one-click button beside it
    disclosures = [d[:d.index("</details>")] for d in before.split('<details class="review-form bo-rebill">')[1:]]
    (confirm,) = [d for d in disclosures if f"/backoffice/bills/{number}/correct" in d]
    assert f"Cancel bill {number} and re-bill it" in confirm
    assert f"Bill {number} is cancelled by credit note" in after
    assert "credit note" in after and "corrective bill" in after


def test_agents_see_bills_but_cannot_rebill(app, two_tenants, browser):
    a, _ = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    refused = office.submit(f"/backoffice/customers/{a.account_number}", {},
                            action=f"/backoffice/bills/{a.bill_number}/correct")
    pdf = office.get(f"/backoffice/bills/{a.bill_number}.pdf")

    assert a.bill_number in page and "Cancel and re-bill" not in page
    assert refused.status_code == 403
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"


def test_with_several_contracts_each_bill_says_which_energy_and_contract_it_is_for(app, two_tenants, browser):
    from domain.contracts.models import Contract, CustomerAccount
    from tests.factories import BillFactory, ContractFactory, DeliveryPointFactory

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        power = db.session.scalar(select(Contract).where(Contract.account_id == account.id))
        gas = ContractFactory(account=account, delivery_point=DeliveryPointFactory(activity="gas"),
                              offer_id=power.offer_id)
        BillFactory(account=account, contract_id=power.id, number="F2026-900001")
        BillFactory(account=account, contract_id=gas.id, number="F2026-900002")
        db.session.commit()
        power_number, gas_number = power.contract_number, gas.contract_number
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    def cell(number):
        start = page.index(f">{number}</a>")
        return page[start:page.index("</td>", start)]
    assert f"Electricity · {power_number}" in cell("F2026-900001")
    assert f"Gas · {gas_number}" in cell("F2026-900002")


def test_an_account_without_contract_or_bill_says_so_instead_of_empty_tables(app, two_tenants, browser):
    from tests.factories import CustomerAccountFactory, PartyFactory

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        number = CustomerAccountFactory(holder=PartyFactory()).account_number
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{number}").get_data(as_text=True)

    assert '<td colspan="7">No contract yet.</td>' in page and "No bill yet." in page


@pytest.mark.parametrize(("entries", "shown"), [
    ([("debit", "80.00"), ("credit", "20.00")], "€60.00 <span class=\"muted\">owed by the customer</span>"),
    ([("debit", "20.00"), ("credit", "35.50")], "€15.50 <span class=\"muted\">in the customer's favour</span>"),
    ([], "€0.00 <span class=\"muted\">nothing owed</span>"),
])
def test_the_balance_says_who_owes_whom(app, two_tenants, browser, entries, shown):
    from tests.factories import CustomerAccountFactory, LedgerEntryFactory, PartyFactory

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = CustomerAccountFactory(holder=PartyFactory())
        for direction, amount in entries:
            LedgerEntryFactory(account=account, direction=direction, amount=Decimal(amount))
        db.session.commit()
        number = account.account_number
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{number}").get_data(as_text=True)

    assert f"<dt>Balance</dt><dd>{shown}</dd>" in page


def test_each_bill_shows_whether_it_is_paid_and_what_is_left_with_its_last_day_billed(app, two_tenants, browser):
    from datetime import date

    from tests.factories import (BillFactory, CustomerAccountFactory, LedgerEntryFactory, PartyFactory,
                                 PaymentAllocationFactory, PaymentFactory)

    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = CustomerAccountFactory(holder=PartyFactory())
        paid = BillFactory(account=account, number="F2026-910001", period_start=date(2026, 5, 1),
                           period_end=date(2026, 7, 1), due_date=date(2026, 7, 15), total_incl_tax=Decimal("80.00"))
        BillFactory(account=account, number="F2026-910002", period_start=date(2026, 7, 1),
                    period_end=date(2026, 9, 1), due_date=date(2026, 9, 15), total_incl_tax=Decimal("70.00"))
        BillFactory(account=account, number="F2099-910003", period_start=date(2099, 9, 1),
                    period_end=date(2099, 11, 1), due_date=date(2099, 11, 15), total_incl_tax=Decimal("65.40"))
        payment = PaymentFactory(account_id=account.id, amount=Decimal("80.00"), status="succeeded")
        PaymentAllocationFactory(payment_id=payment.id, bill_id=paid.id, amount=Decimal("80.00"))
        LedgerEntryFactory(account=account, direction="debit", amount=Decimal("215.40"))
        db.session.commit()
        number = account.account_number
    office = browser(a.slug)
    office.login(a.staff_emails["collections"], area="/backoffice")

    page = office.get(f"/backoffice/customers/{number}").get_data(as_text=True)

    def row(bill_number):
        start = page.index(f">{bill_number}</a>")
        return page[start:page.index("</tr>", start)]
    assert "Paid</span>" in row("F2026-910001") and "—" in row("F2026-910001")
    assert "Overdue</span>" in row("F2026-910002") and "€70.00" in row("F2026-910002")
    assert "Due</span>" in row("F2099-910003") and "€65.40" in row("F2099-910003")
    # the period ends on its last day billed, as the customer's bill says (the stored end is exclusive)
    assert "1 May 2026</span> – <span class=\"nowrap\">30 Jun 2026" in row("F2026-910001")
