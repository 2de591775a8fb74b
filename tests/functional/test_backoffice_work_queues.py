"""Staff open a work queue from the home page and read its tasks and the product's group names in their own
language, although processes store them in English; what a tenant or a customer wrote stays as written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.db import db, utcnow
from domain.identity.models import CustomerUser, StaffUser
from domain.identity.profile import request_closure
from domain.tasks.models import Task, WorkGroup
from tenants.context import tenant_scope

QUEUES = "/backoffice/queues"


def _group(code: str) -> WorkGroup:
    return db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))


@pytest.fixture
def tasks(app, two_tenants):
    """A closure request made the way the portal makes it, a reading check with its values, a billing exception
    and a true-up stored before tasks kept their values (English title only), and a customer's request."""
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        request_closure(user=user, now=utcnow())
        now = utcnow()
        db.session.add_all([
            Task(work_group_id=_group("metering").id, kind="reading_check", created_at=now,
                 title="Check reading of meter M-42 (2026-11-20)", params={"meter": "M-42", "day": "2026-11-20"}),
            Task(work_group_id=_group("billing").id, kind="billing_exception", created_at=now,
                 title="Billing run 2024-03-01: no_tariff on contract K0000007"),
            Task(work_group_id=_group("billing").id, kind="billing_exception", created_at=now,
                 title="Budget billing true-up on 2025-02-01: engine"),
            Task(work_group_id=_group("front_office").id, kind="service_request", created_at=now,
                 title="SR-2026-00001: Leak in the cellar"),
        ])
        db.session.commit()
    return a


def _office(app, browser, data, locale=None):
    if locale:
        with app.app_context(), tenant_scope(data.tenant_id):
            db.session.scalar(select(StaffUser).where(StaffUser.email == data.staff_emails["agent"])).locale = locale
            db.session.commit()
    office = browser(data.slug)
    office.login(data.staff_emails["agent"], area="/backoffice")
    return office


def test_a_french_staff_member_reads_the_work_groups_in_french_and_they_lead_to_their_queue(app, browser, tasks):
    office = _office(app, browser, tasks, "fr")

    home = office.get("/backoffice/").get_data(as_text=True)

    assert f'<a href="{QUEUES}/front_office">Accueil clientèle</a>' in home
    assert f'<a href="{QUEUES}/metering">Relève des compteurs</a>' in home
    assert f'<a href="{QUEUES}/collections">Recouvrement</a>' in home and ">Front office<" not in home


def test_a_french_staff_member_reads_task_titles_in_french(app, browser, tasks):
    office = _office(app, browser, tasks, "fr")

    front = office.get(f"{QUEUES}/front_office").get_data(as_text=True)
    metering = office.get(f"{QUEUES}/metering").get_data(as_text=True)
    billing = office.get(f"{QUEUES}/billing").get_data(as_text=True)

    assert "File de travail : Accueil clientèle" in front
    assert f"Fermer l’espace client de {tasks.customer_email}" in front
    assert "SR-2026-00001: Leak in the cellar" in front  # the customer's own words stay as written
    assert "Vérifier le relevé du compteur M-42 (20 nov. 2026)" in metering
    # Stored before tasks kept their values: read back from the English title.
    assert "Campagne de facturation du 1 mars 2024 : Aucun tarif en vigueur sur le contrat K0000007" in billing
    assert ("Régularisation annuelle de la mensualisation du 1 févr. 2025 : La régularisation annuelle ne peut pas "
            "être calculée") in billing
    assert "Close the online access" not in front and "Billing run" not in billing


def test_in_english_the_titles_read_as_before_with_the_dates_written_out(app, browser, tasks):
    office = _office(app, browser, tasks)

    front = office.get(f"{QUEUES}/front_office").get_data(as_text=True)
    billing = office.get(f"{QUEUES}/billing").get_data(as_text=True)

    assert f"Close the online access of {tasks.customer_email}" in front
    assert "Billing run of 1 Mar 2024: No tariff in force on contract K0000007" in billing


def test_a_work_group_the_tenant_renamed_and_a_task_of_an_unknown_kind_keep_their_stored_words(app, browser, tasks):
    with app.app_context(), tenant_scope(tasks.tenant_id):
        _group("billing").name = "Facturation Sud"
        db.session.add(Task(work_group_id=_group("billing").id, kind="meter_exchange", created_at=utcnow(),
                            title="Exchange meter M-7 before winter", params={"meter": "M-7"}))
        db.session.commit()
    office = _office(app, browser, tasks, "de")

    home = office.get("/backoffice/").get_data(as_text=True)
    billing = office.get(f"{QUEUES}/billing").get_data(as_text=True)

    assert f'<a href="{QUEUES}/billing">Facturation Sud</a>' in home
    assert f'<a href="{QUEUES}/metering">Messwesen</a>' in home
    assert "Exchange meter M-7 before winter" in billing


def test_a_spanish_staff_member_reads_a_reading_check_with_a_spanish_date(app, two_tenants):
    from flask_babel import force_locale

    from backoffice.texts import task_title

    task = Task(kind="reading_check", title="Check reading of meter X1 (2026-03-31)",
                params={"meter": "X1", "day": "2026-03-31"})

    with app.test_request_context(), force_locale("es"):
        title = task_title(task)

    assert title == "Revisar la lectura del contador X1 (31 mar 2026)"


def test_an_unknown_queue_is_not_found(app, browser, tasks):
    office = _office(app, browser, tasks)

    assert office.get(f"{QUEUES}/nothing_here").status_code == 404


def test_a_closure_request_keeps_the_address_it_was_made_for(app, two_tenants):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        task = request_closure(user=user, now=utcnow())
        db.session.commit()
        task = db.session.get(Task, task.id)

    assert task.params == {"email": a.customer_email}
    assert task.title == f"Close the online access of {a.customer_email}"  # English stays for logs
