"""Working a complaint: transfer, start, resolve, escalate, appeal, notes, and the breach check."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintNote, ComplaintStatus, ComplaintTransition, WorkOrder
from complaints.services import work
from complaints.tasks import work_orders_flag_breaches as breach_task
from servicedesk.fsm import TransitionRefused
from servicedesk.models import StaffNotice
from tests.factories import ComplaintCategoryFactory, DepartmentFactory, UserFactory

from .helpers_c1 import given_complaint, given_handler, given_resolved

pytestmark = pytest.mark.django_db


def _fresh(complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def test_a_handler_of_the_department_starts_and_resolves_and_the_complaint_goes_to_callback():
    # given an assigned complaint and a handler of its department
    complaint = given_complaint()
    handler = given_handler(complaint.department)

    # when the handler starts and resolves it
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    assert _fresh(complaint).status == ComplaintStatus.IN_PROGRESS
    assert WorkOrder.objects.get(complaint=complaint).handler == handler
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Replaced the modem")

    # then it waits for its callback, its work order is done, and one satisfaction callback is due in a day
    complaint = _fresh(complaint)
    assert complaint.status == ComplaintStatus.CALLBACK
    assert complaint.resolution == "Replaced the modem" and complaint.resolved_at is not None
    assert list(WorkOrder.objects.filter(complaint=complaint).values_list("status", flat=True)) == ["done"]
    callback = Callback.objects.get(complaint=complaint)
    assert callback.kind == Callback.Kind.SATISFACTION and callback.status == Callback.Status.DUE
    assert timedelta(hours=23) < callback.due_at - timezone.now() <= timedelta(hours=24)
    steps = list(ComplaintTransition.objects.filter(complaint=complaint).values_list("transition", "to_state"))
    assert steps[-3:] == [("start", "in_progress"), ("resolve", "resolved"), ("await_callback", "callback")]


def test_a_fault_complaint_gets_a_repair_callback_too_and_both_work_orders_are_done():
    # given a fault complaint (handling and repair work orders)
    complaint, _ = given_resolved(category=ComplaintCategoryFactory(is_fault=True))

    # then both work orders are done and both callbacks are due
    assert set(WorkOrder.objects.filter(complaint=complaint).values_list("kind", "status")) == {("handling", "done"), ("repair", "done")}
    assert set(Callback.objects.filter(complaint=complaint).values_list("kind", flat=True)) == {"satisfaction", "repair"}


def test_resolving_without_a_resolution_is_refused_and_nothing_changes():
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    work.complaint_start(complaint_id=complaint.pk, by=handler)

    with pytest.raises(ValidationError) as caught:
        work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="  ")

    assert "resolution" in caught.value.message_dict
    assert _fresh(complaint).status == ComplaintStatus.IN_PROGRESS
    assert not Callback.objects.exists()


@pytest.mark.parametrize("step", ["resolve_before_start", "start_twice"])
def test_steps_out_of_order_are_refused_with_409_and_the_allowed_states(step):
    # given an assigned complaint
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    if step == "start_twice":
        work.complaint_start(complaint_id=complaint.pk, by=handler)

    # when a step is taken that its state does not allow
    with pytest.raises(TransitionRefused) as caught:
        if step == "resolve_before_start":
            work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="x")
        else:
            work.complaint_start(complaint_id=complaint.pk, by=handler)

    # then it is a 409 naming the states allowed next
    assert caught.value.status_code == 409
    expected = {"resolve_before_start": ["assigned", "in_progress"], "start_twice": ["assigned", "resolved"]}[step]
    assert set(expected) <= set(caught.value.allowed)
    assert caught.value.current == ("assigned" if step == "resolve_before_start" else "in_progress")


def test_a_resolved_complaint_cannot_be_started_transferred_or_resolved_again():
    complaint, handler = given_resolved()
    other = DepartmentFactory()
    for call in (
        lambda: work.complaint_start(complaint_id=complaint.pk, by=handler),
        lambda: work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="again"),
        lambda: work.complaint_transfer(complaint_id=complaint.pk, department=other, by=handler, reason="wrong team"),
    ):
        with pytest.raises(TransitionRefused):
            call()
    assert _fresh(complaint).status == ComplaintStatus.CALLBACK


def test_a_handler_of_another_department_and_an_agent_may_not_work_it():
    complaint = given_complaint()
    stranger = given_handler(DepartmentFactory())
    agent = UserFactory(roles=["agent"])
    for user in (stranger, agent):
        with pytest.raises(PermissionDenied):
            work.complaint_start(complaint_id=complaint.pk, by=user)
    assert _fresh(complaint).status == ComplaintStatus.ASSIGNED


@pytest.mark.parametrize("started", [False, True])
def test_transfer_closes_the_work_order_and_opens_one_for_the_new_department_keeping_the_deadline(started):
    # given a complaint (assigned or in progress) and another department
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    if started:
        work.complaint_start(complaint_id=complaint.pk, by=handler)
    billing = DepartmentFactory(name="Billing")

    # when the handler transfers it
    work.complaint_transfer(complaint_id=complaint.pk, department=billing, by=handler, reason="It is a billing error")

    # then it is assigned to billing, the old work order transferred, a new one open with the same deadline
    fresh = _fresh(complaint)
    assert (fresh.status, fresh.department) == (ComplaintStatus.ASSIGNED, billing)
    orders = list(WorkOrder.objects.filter(complaint=complaint).order_by("id"))
    assert [(o.department_id, o.status) for o in orders] == [(complaint.department_id, "transferred"), (billing.pk, "open")]
    assert orders[1].due_at == fresh.due_at == complaint.due_at
    assert ComplaintTransition.objects.get(complaint=complaint, transition="transfer").reason.endswith("It is a billing error")


@pytest.mark.parametrize(("department", "reason", "field"), [("same", "why", "department"), ("other", " ", "reason")])
def test_transfer_needs_another_department_and_a_reason(department, reason, field):
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    target = complaint.department if department == "same" else DepartmentFactory()
    with pytest.raises(ValidationError) as caught:
        work.complaint_transfer(complaint_id=complaint.pk, department=target, by=handler, reason=reason)
    assert field in caught.value.message_dict
    assert WorkOrder.objects.filter(complaint=complaint, status="open").count() == 1


def test_escalate_keeps_the_state_and_is_recorded():
    complaint = given_complaint()
    handler = given_handler(complaint.department)

    work.complaint_escalate(complaint_id=complaint.pk, by=handler, reason="regulator")

    fresh = _fresh(complaint)
    assert (fresh.status, fresh.escalated, fresh.escalation_reason) == (ComplaintStatus.ASSIGNED, True, "regulator")
    assert ComplaintTransition.objects.filter(complaint=complaint, transition="escalate", from_state="assigned", to_state="assigned").exists()


def test_escalate_is_refused_for_an_agent_for_an_unknown_reason_and_on_a_closed_complaint():
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    with pytest.raises(PermissionDenied):
        work.complaint_escalate(complaint_id=complaint.pk, by=UserFactory(roles=["agent"]), reason="vip")
    with pytest.raises(ValidationError):
        work.complaint_escalate(complaint_id=complaint.pk, by=handler, reason="boredom")
    Complaint.objects.filter(pk=complaint.pk).update(status=ComplaintStatus.CLOSED)
    with pytest.raises(TransitionRefused):
        work.complaint_escalate(complaint_id=complaint.pk, by=handler, reason="vip")


def test_an_appeal_is_recorded_even_on_a_closed_complaint_with_its_due_date():
    complaint = given_complaint()
    manager = UserFactory(roles=["manager"])
    Complaint.objects.filter(pk=complaint.pk).update(status=ComplaintStatus.CLOSED)
    due = timezone.now() + timedelta(days=5)

    work.complaint_record_appeal(complaint_id=complaint.pk, by=manager, due_at=due)

    fresh = _fresh(complaint)
    assert (fresh.appeal, fresh.appeal_due_at, fresh.escalation_reason, fresh.status) == (True, due, "regulator", ComplaintStatus.CLOSED)


def test_an_appeal_due_in_the_past_is_refused():
    complaint = given_complaint()
    with pytest.raises(ValidationError):
        work.complaint_record_appeal(complaint_id=complaint.pk, by=UserFactory(roles=["manager"]), due_at=timezone.now() - timedelta(hours=1))
    assert not _fresh(complaint).appeal


def test_notes_are_added_by_roles_that_may_and_must_have_text():
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    work.complaint_note_add(complaint_id=complaint.pk, by=handler, text="Called the field team")
    with pytest.raises(ValidationError):
        work.complaint_note_add(complaint_id=complaint.pk, by=handler, text="")
    with pytest.raises(PermissionDenied):
        work.complaint_note_add(complaint_id=complaint.pk, by=UserFactory(roles=["delivery_clerk"]), text="hi")
    assert list(ComplaintNote.objects.values_list("text", flat=True)) == ["Called the field team"]


def test_an_unknown_complaint_is_does_not_exist():
    with pytest.raises(Complaint.DoesNotExist):
        work.complaint_start(complaint_id=999999, by=UserFactory(roles=["complaint_handler"]))


def test_breaches_are_flagged_once_and_the_owner_and_department_head_are_noticed():
    # given a complaint whose work order is past due, one not yet due, and a department head
    head = UserFactory(roles=["complaint_handler"])
    department = DepartmentFactory(head=head)
    agent = UserFactory(roles=["agent"])
    late = given_complaint(agent=agent, category=ComplaintCategoryFactory(department=department))
    given_complaint(agent=agent, category=ComplaintCategoryFactory(department=department))
    WorkOrder.objects.filter(complaint=late).update(due_at=timezone.now() - timedelta(minutes=1))

    # when the check runs twice
    first = work.work_orders_flag_breaches()
    flagged_at = WorkOrder.objects.get(complaint=late).breached_at
    second = work.work_orders_flag_breaches(now=timezone.now() + timedelta(seconds=1))

    # then the late work order is flagged once, and owner and head are each noticed once
    assert (first, second) == (1, 0)
    assert flagged_at is not None and WorkOrder.objects.get(complaint=late).breached_at == flagged_at
    assert WorkOrder.objects.filter(breached_at__isnull=False).count() == 1
    assert set(StaffNotice.objects.values_list("recipient_id", flat=True)) == {agent.pk, head.pk}
    assert StaffNotice.objects.count() == 2


def test_the_breach_task_runs_the_check():
    complaint = given_complaint()
    WorkOrder.objects.filter(complaint=complaint).update(due_at=timezone.now() - timedelta(minutes=1))
    breach_task.apply()
    assert WorkOrder.objects.get(complaint=complaint).breached_at is not None


def test_a_done_work_order_past_due_is_not_flagged():
    complaint, _ = given_resolved()
    WorkOrder.objects.filter(complaint=complaint).update(due_at=timezone.now() - timedelta(hours=1))
    assert work.work_orders_flag_breaches() == 0
