"""The SMS hall's complaint commands: COMPLAINT on the sender's own complaints, and a callback
scored by reply (3–5 solved and closed; 1–2 reopened, with a contact waiting for an agent)."""
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from complaints.models import Callback, ComplaintStatus, WorkOrder
from servicedesk.models import InboundSms
from tests.factories import CallbackFactory, ComplaintCategoryFactory, ComplaintFactory, SubscriptionFactory
from tests.sms_hall import NUMBER, linked, receive

@pytest.fixture
def customer(db):
    return SubscriptionFactory(service_number=NUMBER).customer


def awaiting_callback(customer, **kwargs):
    complaint = ComplaintFactory(customer=customer, status=ComplaintStatus.CALLBACK, **kwargs)
    return CallbackFactory(complaint=complaint)


# --- COMPLAINT --------------------------------------------------------------------------------------

def test_complaint_alone_answers_about_the_latest_with_its_due_time(customer):
    # given
    ComplaintFactory(customer=customer, received_at=timezone.now() - timedelta(days=3))
    latest = ComplaintFactory(customer=customer, category=ComplaintCategoryFactory(name="Network"), status=ComplaintStatus.IN_PROGRESS)
    # when
    inbound = receive("COMPLAINT")
    # then
    assert inbound.reply.startswith(f"Complaint #{latest.pk} (Network): In progress.")
    assert f"We answer by {timezone.localtime(latest.due_at):%Y-%m-%d %H:%M}" in inbound.reply
    assert linked(inbound) == latest


@pytest.mark.parametrize(
    "status, expected",
    [
        (ComplaintStatus.CALLBACK, "reply with a score from 1 to 5"),
        (ComplaintStatus.RESOLVED, "we will call you to check"),
        (ComplaintStatus.CLOSED, "Closed on 2026-11-20"),
    ],
)
def test_complaint_status_texts(customer, status, expected):
    # given
    complaint = ComplaintFactory(customer=customer, status=status, closed_at=timezone.make_aware(datetime(2026, 11, 20, 10, 0)))
    # when
    inbound = receive(f"投诉 {complaint.pk}")
    # then
    assert inbound.language == "zh-hans"
    assert linked(inbound) == complaint
    with_language = receive(f"COMPLAINT {complaint.pk}")
    assert expected in with_language.reply


def test_another_customers_complaint_is_not_found(customer):
    # given
    theirs = ComplaintFactory(category=ComplaintCategoryFactory(name="Billing secret"))
    # when
    inbound = receive(f"COMPLAINT {theirs.pk}")
    # then
    assert inbound.reply.startswith("Not found")
    assert "Billing secret" not in inbound.reply


def test_a_customer_without_complaints_is_told_so(customer):
    # when
    inbound = receive("TS")
    # then
    assert inbound.reply in ("You have no complaints with us.", "您没有投诉记录。")  # in the language the customer wrote in


def test_a_malformed_complaint_command_gets_the_syntax(customer):
    # when
    inbound = receive("COMPLAINT abc")
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
    assert "COMPLAINT 1234" in inbound.reply


# --- Scoring the callback ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, score", [("5", 5), ("SCORE 4", 4), ("评价3", 3), ("pj 5", 5), ("５", 5), ("4分", 4)])
def test_a_good_score_completes_the_callback_and_closes_the_complaint(customer, text, score):
    # given
    callback = awaiting_callback(customer)
    # when
    inbound = receive(text)
    # then
    assert inbound.outcome == InboundSms.Outcome.ANSWERED
    callback.refresh_from_db()
    assert (callback.status, callback.reached, callback.satisfaction, callback.solved, callback.by) == (
        Callback.Status.COMPLETED, True, score, True, None)
    assert callback.notes == "Scored by SMS"
    callback.complaint.refresh_from_db()
    assert callback.complaint.status == ComplaintStatus.CLOSED
    assert inbound.contact.awaiting_agent is False
    assert linked(inbound) == callback.complaint


@pytest.mark.parametrize("text", ["1", "SCORE 2"])
def test_a_low_score_reopens_the_complaint_and_waits_for_an_agent(customer, text):
    # given
    callback = awaiting_callback(customer)
    # when
    inbound = receive(text)
    # then
    callback.refresh_from_db()
    assert (callback.status, callback.solved) == (Callback.Status.COMPLETED, False)
    complaint = callback.complaint
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS and complaint.reopen_count == 1
    assert WorkOrder.objects.filter(complaint=complaint, status=WorkOrder.Status.OPEN).exists()
    assert "reopened" in inbound.reply or "重新受理" in inbound.reply
    assert inbound.contact.awaiting_agent is True
    assert linked(inbound) == complaint


def test_the_latest_due_callback_is_the_one_scored(customer):
    # given
    older = awaiting_callback(customer)
    newer = awaiting_callback(customer)
    # when
    receive("5")
    # then
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status) == (Callback.Status.DUE, Callback.Status.COMPLETED)


def test_without_a_due_callback_the_customer_is_told_so(customer):
    # given a completed callback of the customer's and another customer's due one
    CallbackFactory(complaint=ComplaintFactory(customer=customer, status=ComplaintStatus.CALLBACK), status=Callback.Status.COMPLETED)
    theirs = awaiting_callback(SubscriptionFactory().customer)
    # when
    inbound = receive("5")
    # then
    assert "none of your complaints is waiting for a score" in inbound.reply or "没有待评价的投诉" in inbound.reply
    theirs.refresh_from_db()
    assert theirs.status == Callback.Status.DUE


@pytest.mark.parametrize("text", ["SCORE 7", "SCORE", "评价 好", "SCORE 0"])
def test_a_score_outside_1_to_5_gets_the_syntax(customer, text):
    # given
    callback = awaiting_callback(customer)
    # when
    inbound = receive(text)
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
    assert "score from 1" in inbound.reply or "1（非常不满意）至5" in inbound.reply
    callback.refresh_from_db()
    assert callback.status == Callback.Status.DUE


def test_a_bare_digit_outside_1_to_5_gets_the_syntax(customer):
    # when
    inbound = receive("8")
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
