"""Budget-billing job (queue `billing`): bill the instalments due by a date, then true up the plans whose year
has ended. Idempotent: run twice for the same date, it issues nothing twice."""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from domain.billing.down_payments import PlanRefused, due_true_ups, issue_due_instalments, true_up_plan
from domain.billing.plan_models import DownPaymentPlan
from domain.db import db, utcnow
from domain.tasks.models import Task, WorkGroup
from domain.tasks.services import create_task

log = logging.getLogger("billing.down_payments")


def _task_for(plan_id: int, error: PlanRefused) -> None:
    """A true-up the engine cannot compute (no tariff, missing meter...) goes to the billing work queue."""
    group_id = db.session.scalar(select(WorkGroup.id).where(WorkGroup.code == "billing"))
    plan = db.session.get(DownPaymentPlan, plan_id)
    if group_id is None or plan is None:
        return
    title = f"Budget billing true-up on {plan.true_up_on}: {error.code}"
    if db.session.scalar(select(Task.id).where(Task.subject_type == "Contract", Task.subject_id == plan.contract_id,
                                               Task.title == title, Task.status == "open")):
        return  # the run of another day found the same problem: one task is enough
    create_task(group_id=group_id, kind="billing_exception", subject_type="Contract",
                subject_id=plan.contract_id, now=utcnow(), details=str(error)[:2000], title=title,
                params={"true_up_on": plan.true_up_on.isoformat(), "code": error.code})


def bill_instalments(*, billing_date: str) -> dict:
    """Issue the instalments due by `billing_date` (ISO date), then the true-ups due by then (each plan in its
    own transaction, so one plan the engine cannot settle does not hold the others back), then the first
    instalments of the plans those true-ups started."""
    day = date.fromisoformat(billing_date)
    issued = issue_due_instalments(billing_date=day, now=utcnow())
    db.session.commit()
    trued_up, failed = 0, 0
    for plan_id in due_true_ups(on=day):
        try:
            true_up_plan(plan_id=plan_id, now=utcnow())
        except PlanRefused as exc:
            db.session.rollback()
            log.warning("true-up refused plan=%s code=%s: %s", plan_id, exc.code, exc)
            _task_for(plan_id, exc)
            failed += 1
        else:
            trued_up += 1
        db.session.commit()
    if trued_up:  # a new year's first instalment falls due on its true-up date
        issued += issue_due_instalments(billing_date=day, now=utcnow())
        db.session.commit()
    return {"instalments": len(issued), "true_ups": trued_up, "failed": failed}
