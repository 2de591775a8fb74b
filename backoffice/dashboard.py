"""Figures for the back-office home page."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import func, select

from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.readings.models import MeterReading
from domain.requests.models import ServiceRequest
from domain.tasks.services import open_tasks_by_group


def home_figures() -> dict:
    """The figures of the signed-in staff member's home (the queues count what is theirs)."""
    staff_id, now = current_user.user.id, utcnow()
    count = lambda stmt: db.session.scalar(stmt) or 0  # noqa: E731
    return {
        "accounts": count(select(func.count(CustomerAccount.id)).where(CustomerAccount.status == "active")),
        "contracts": count(select(func.count(Contract.id)).where(Contract.status == "active")),
        "pending_readings": count(select(func.count(MeterReading.id)).where(MeterReading.status == "pending")),
        "open_requests": count(select(func.count(ServiceRequest.id))
                               .where(ServiceRequest.status.in_(("open", "in_progress", "waiting_customer")))),
        "queues": open_tasks_by_group(staff_id=staff_id, now=now),
    }
