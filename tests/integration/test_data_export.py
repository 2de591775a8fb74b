"""The GDPR export holds the customer's own data only, and the archive has every table as JSON and CSV."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.contracts.models import Contract
from domain.db import db
from domain.identity.data_export import TABLE_ORDER, collect_customer_data, zip_chunks
from domain.identity.models import CustomerUser
from domain.identity.profile import set_marketing_consent
from tenants.context import tenant_scope
from tests.factories import (
    NOW,
    BillFactory,
    BillLineFactory,
    ContractFactory,
    CustomerAccessFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    RegisterFactory,
    RequestMessageFactory,
    ServiceRequestFactory,
    populate_tenant,
)


@pytest.fixture
def data(ctx, make_tenant):
    """Tenant A's customer, plus: a neighbour's account on the same tenant, a previous occupant's reading on the
    customer's meter, an internal staff note, and tenant B's customer."""
    a = populate_tenant(make_tenant("alpha"))
    b = populate_tenant(make_tenant("bravo"))
    with tenant_scope(a.tenant_id):
        neighbour = CustomerAccountFactory()
        BillFactory(account=neighbour, number="F2026-NEIGHBOUR")
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        account_id = user.accesses[0].account_id
        # The customer's point of delivery had an earlier occupant: readings before the contract are not theirs.
        contract = db.session.scalar(select(Contract).where(Contract.account_id == account_id))
        register = RegisterFactory(meter=MeterFactory(serial_number="M-SHARED"))
        MeterInstallationFactory(meter_id=register.meter_id, delivery_point_id=contract.delivery_point_id,
                                 installed_on=date(2020, 1, 1))
        MeterReadingFactory(register=register, read_on=date(2023, 6, 1), value=Decimal("111.000"))  # before
        MeterReadingFactory(register=register, read_on=date(2025, 6, 1), value=Decimal("222.000"))  # theirs
        other_dp = DeliveryPointFactory()
        ContractFactory(account=neighbour, delivery_point=other_dp)
        request = ServiceRequestFactory(account_id=account_id)
        RequestMessageFactory(request=request, author_kind="staff", body="Internal: customer is difficult",
                              internal=True)
        RequestMessageFactory(request=request, author_kind="staff", body="We are looking into it.")
        set_marketing_consent(user=user, consent=True, now=NOW)
        db.session.commit()
    return a, b


def _tables(a):
    with tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        return collect_customer_data(user=user)


def test_export_holds_own_accounts_bills_and_requests_only(data):
    a, b = data

    tables = _tables(a)

    text = json.dumps(tables)
    assert [r["account_number"] for r in tables["accounts"]] == [a.account_number]
    assert [r["number"] for r in tables["bills"]] == [a.bill_number]
    assert tables["bill_lines"] and all(r["bill_number"] == a.bill_number for r in tables["bill_lines"])
    assert "F2026-NEIGHBOUR" not in text
    assert b.account_number not in text and b.bill_number not in text and b.customer_email not in text
    assert {r["identifier"] for r in tables["points_of_delivery"]} == {a.delivery_point_identifier}
    assert len(tables["payments"]) == 1 and tables["payments"][0]["amount"] == "60.00"


def test_export_leaves_out_readings_before_the_customers_contract(data):
    a, _b = data

    readings = _tables(a)["meter_readings"]

    shared = [r["value"] for r in readings if r["meter"] == "M-SHARED"]
    assert shared == ["222.000"]


def test_export_leaves_out_internal_staff_notes(data):
    a, _b = data

    messages = [m["body"] for m in _tables(a)["request_messages"]]

    assert "We are looking into it." in messages
    assert not any("Internal" in m for m in messages)


def test_export_lists_consents_with_their_history(data):
    a, _b = data

    consents = _tables(a)["consents"]

    marketing = [c for c in consents if c["consent"] == "marketing"]
    assert marketing[0]["given"] is True
    assert any(c["given"] is True and c["recorded_at"] for c in marketing[1:])  # from the audit trail
    assert [c["account_number"] for c in consents if c["consent"] == "paperless_billing"] == [a.account_number]


def test_archive_has_every_table_as_json_and_csv(data):
    a, _b = data
    tables = _tables(a)

    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_chunks(tables, tenant_name="Alpha", generated_at=NOW))))

    names = set(archive.namelist())
    assert "README.txt" in names
    for table in TABLE_ORDER:
        assert f"json/{table}.json" in names and f"csv/{table}.csv" in names
    bills = list(csv.DictReader(io.StringIO(archive.read("csv/bills.csv").decode("utf-8-sig"))))
    assert bills[0]["number"] == a.bill_number and bills[0]["total_incl_tax"] == "60.00"
    assert json.loads(archive.read("json/party.json"))[0]["party_number"]
    assert archive.testzip() is None


def test_archive_is_streamed_in_several_chunks(data):
    a, _b = data

    chunks = list(zip_chunks(_tables(a), tenant_name="Alpha", generated_at=NOW))

    assert len([c for c in chunks if c]) > len(TABLE_ORDER)


def test_an_access_to_an_account_is_what_decides_what_is_exported(data):
    a, _b = data
    with tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        second = CustomerAccountFactory()
        BillLineFactory(bill=BillFactory(account=second, number="F2026-SECOND"))
        CustomerAccessFactory(user=user, account=second)
        db.session.commit()

    numbers = [r["number"] for r in _tables(a)["bills"]]

    assert sorted(numbers) == sorted([a.bill_number, "F2026-SECOND"])
