"""The 100% callback: a complaint closes only after it; an unsolved problem reopens the complaint."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from complaints.models import Callback, Complaint, ComplaintStatus, ComplaintTransition, WorkOrder
from complaints.services import callbacks, work
from servicedesk.fsm import TransitionRefused
from tests.factories import ComplaintCategoryFactory, UserFactory

from .helpers_c1 import given_complaint, given_resolved

pytestmark = pytest.mark.django_db


def _fresh(complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def _satisfaction(complaint) -> Callback:
    return Callback.objects.get(complaint=complaint, kind=Callback.Kind.SATISFACTION)


def test_reached_satisfied_and_solved_closes_the_complaint():
    # given a resolved complaint waiting for its callback, and an agent
    complaint, _ = given_resolved()
    agent = UserFactory(roles=["agent"])

    # when the agent reaches the customer, who is satisfied and whose problem is solved
    callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=agent, reached=True, satisfaction=5, solved=True)

    # then the callback is completed and the complaint closed by the close transition
    callback = _satisfaction(complaint)
    assert (callback.status, callback.reached, callback.satisfaction, callback.solved, callback.by) == ("completed", True, 5, True, agent)
    fresh = _fresh(complaint)
    assert fresh.status == ComplaintStatus.CLOSED and fresh.closed_at is not None
    assert ComplaintTransition.objects.filter(complaint=complaint, transition="close", by=agent).exists()


def test_not_solved_reopens_the_complaint_with_a_new_handling_work_order():
    # given a resolved complaint
    complaint, _ = given_resolved()

    # when the customer says the problem is not solved
    callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=UserFactory(roles=["outbound"]), reached=True,
                              satisfaction=2, solved=False, notes="Still no signal")

    # then it is in progress again, reopened once, with a new open handling work order for its department
    fresh = _fresh(complaint)
    assert (fresh.status, fresh.reopen_count, fresh.resolved_at) == (ComplaintStatus.IN_PROGRESS, 1, None)
    open_orders = WorkOrder.objects.filter(complaint=complaint, status="open")
    assert [(o.kind, o.department_id) for o in open_orders] == [("handling", complaint.department_id)]
    assert ComplaintTransition.objects.get(complaint=complaint, transition="reopen").reason == "Still no signal"


def test_not_reached_counts_an_attempt_until_exhausted():
    # given a resolved complaint with a 3-attempt callback
    complaint, _ = given_resolved()
    agent = UserFactory(roles=["agent"])
    callback_id = _satisfaction(complaint).pk

    # when the customer is not reached twice, then still due with two attempts
    for _ in range(2):
        callbacks.callback_record(callback_id=callback_id, by=agent, reached=False)
    assert (_satisfaction(complaint).status, _satisfaction(complaint).attempts) == ("due", 2)

    # when a third attempt fails, then it is exhausted and the complaint still waits
    callbacks.callback_record(callback_id=callback_id, by=agent, reached=False)
    assert (_satisfaction(complaint).status, _satisfaction(complaint).attempts) == ("exhausted", 3)
    assert _fresh(complaint).status == ComplaintStatus.CALLBACK

    # and a further record is refused
    with pytest.raises(TransitionRefused):
        callbacks.callback_record(callback_id=callback_id, by=agent, reached=False)


def test_closing_is_refused_while_the_callback_is_due():
    # given a resolved complaint whose callback has not been made
    complaint, _ = given_resolved()
    agent = UserFactory(roles=["agent"])

    # when someone tries to close it directly or as unreached
    for close in (callbacks.complaint_close, callbacks.complaint_close_unreached):
        with pytest.raises(TransitionRefused) as caught:
            close(complaint_id=complaint.pk, by=agent)
        # then it is refused with 409 and the complaint stays waiting
        assert caught.value.status_code == 409 and caught.value.get_codes() == "callback_required"
    assert _fresh(complaint).status == ComplaintStatus.CALLBACK


def test_closing_after_the_callback_is_exhausted_is_allowed_as_unreached():
    # given a complaint whose callback failed every attempt
    complaint, _ = given_resolved()
    agent = UserFactory(roles=["agent"])
    for _ in range(3):
        callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=agent, reached=False)

    # when it is closed as unreached
    callbacks.complaint_close_unreached(complaint_id=complaint.pk, by=agent)

    # then it is closed and the reason recorded
    assert _fresh(complaint).status == ComplaintStatus.CLOSED
    assert ComplaintTransition.objects.get(complaint=complaint, transition="close").reason == "Callback not reached"


def test_closing_a_complaint_still_being_worked_is_refused():
    complaint = given_complaint()
    with pytest.raises(TransitionRefused):
        callbacks.complaint_close(complaint_id=complaint.pk, by=UserFactory(roles=["agent"]))
    assert _fresh(complaint).status == ComplaintStatus.ASSIGNED


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"satisfaction": None, "solved": True}, "satisfaction"),
    ({"satisfaction": 6, "solved": True}, "satisfaction"),
    ({"satisfaction": 0, "solved": True}, "satisfaction"),
    ({"satisfaction": 4, "solved": None}, "solved"),
])
def test_a_reached_callback_needs_satisfaction_1_to_5_and_whether_solved(kwargs, field):
    complaint, _ = given_resolved()
    with pytest.raises(ValidationError) as caught:
        callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=UserFactory(roles=["agent"]), reached=True, **kwargs)
    assert field in caught.value.message_dict
    assert _satisfaction(complaint).status == "due" and _fresh(complaint).status == ComplaintStatus.CALLBACK


def test_a_role_without_callback_permission_is_refused():
    complaint, _ = given_resolved()
    with pytest.raises(PermissionDenied):
        callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=UserFactory(roles=["delivery_clerk"]), reached=True,
                                  satisfaction=5, solved=True)
    with pytest.raises(PermissionDenied):
        callbacks.complaint_close(complaint_id=complaint.pk, by=UserFactory(roles=["delivery_clerk"]))


def test_the_repair_callback_records_scores_and_moves_nothing():
    # given a resolved fault complaint
    complaint, _ = given_resolved(category=ComplaintCategoryFactory(is_fault=True))
    repair = Callback.objects.get(complaint=complaint, kind=Callback.Kind.REPAIR)
    agent = UserFactory(roles=["agent"])

    # when scores are missing, then refused
    with pytest.raises(ValidationError) as caught:
        callbacks.callback_record(callback_id=repair.pk, by=agent, reached=True, repair_time_score=4)
    assert "technician_score" in caught.value.message_dict

    # when recorded with both scores
    callbacks.callback_record(callback_id=repair.pk, by=agent, reached=True, repair_time_score=4, technician_score=5)

    # then it is completed and the complaint still waits for its satisfaction callback
    repair.refresh_from_db()
    assert (repair.status, repair.repair_time_score, repair.technician_score) == ("completed", 4, 5)
    assert _fresh(complaint).status == ComplaintStatus.CALLBACK


def test_a_reopened_complaint_can_be_resolved_again_and_gets_a_new_callback():
    # given a complaint reopened at its callback
    complaint, handler = given_resolved()
    agent = UserFactory(roles=["agent"])
    callbacks.callback_record(callback_id=_satisfaction(complaint).pk, by=agent, reached=True, satisfaction=1, solved=False)

    # when the department resolves it again and the new callback finds it solved
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Replaced the antenna")
    new = Callback.objects.filter(complaint=complaint, status="due").get()
    callbacks.callback_record(callback_id=new.pk, by=agent, reached=True, satisfaction=4, solved=True)

    # then it is closed
    assert _fresh(complaint).status == ComplaintStatus.CLOSED
