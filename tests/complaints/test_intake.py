"""Taking a complaint: the deadline, escalation on intake, routing to the department."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus, ComplaintTransition, Severity, WorkOrder
from complaints.services import intake
from servicedesk.models import VipTier
from tests.factories import ComplaintCategoryFactory, CustomerFactory, SubscriptionFactory, UserFactory

from .helpers_c1 import given_complaint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("severity", "tier", "hours"), [
    (Severity.NORMAL, VipTier.ORDINARY, 48),
    (Severity.LOW, VipTier.ORDINARY, 48),
    (Severity.HIGH, VipTier.ORDINARY, 24),
    (Severity.CRITICAL, VipTier.ORDINARY, 12),
    (Severity.NORMAL, VipTier.SILVER, 43.2),
    (Severity.NORMAL, VipTier.GOLD, 36),
    (Severity.HIGH, VipTier.DIAMOND, 12),
    (Severity.CRITICAL, VipTier.DIAMOND, 6),
])
def test_the_deadline_is_the_category_limit_shortened_by_severity_and_vip_tier(severity, tier, hours):
    # given a 48-hour category and a customer of the tier
    category = ComplaintCategoryFactory(time_limit_hours=48)
    customer = CustomerFactory(vip_tier=tier)

    # when an agent takes a complaint of that severity
    complaint = given_complaint(customer=customer, category=category, severity=severity)

    # then it is due that many hours after it was received, and its work order with it
    assert complaint.due_at - complaint.received_at == timedelta(hours=hours)
    assert WorkOrder.objects.get(complaint=complaint).due_at == complaint.due_at


def test_taking_a_complaint_makes_the_agent_owner_and_routes_it_to_the_category_department():
    # given an agent and a customer with an area
    agent = UserFactory(roles=["agent"])
    category = ComplaintCategoryFactory()
    customer = CustomerFactory()

    # when the agent takes a complaint
    complaint = given_complaint(agent=agent, customer=customer, category=category)

    # then the agent owns it, it is assigned to the department with one open handling work order
    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.first_ask_owner == agent
    assert complaint.status == ComplaintStatus.ASSIGNED
    assert complaint.department == category.department
    assert complaint.area_id == customer.area_id
    assert not complaint.escalated
    orders = list(WorkOrder.objects.filter(complaint=complaint))
    assert [(o.kind, o.status, o.department_id) for o in orders] == [("handling", "open", category.department_id)]
    assert list(ComplaintTransition.objects.filter(complaint=complaint).values_list("transition", flat=True)) == ["take", "assign"]


def test_a_fault_complaint_also_gets_a_repair_work_order_due_in_the_repair_limit():
    # given a fault category with a 6-hour repair limit
    category = ComplaintCategoryFactory(is_fault=True, repair_limit_hours=6)

    # when a complaint of it is taken
    complaint = given_complaint(category=category)

    # then a repair work order is open besides the handling one
    repair = WorkOrder.objects.get(complaint=complaint, kind=WorkOrder.Kind.REPAIR)
    assert repair.due_at - complaint.received_at == timedelta(hours=6)
    assert WorkOrder.objects.filter(complaint=complaint, kind=WorkOrder.Kind.HANDLING, status="open").count() == 1


def test_a_second_complaint_within_30_days_is_escalated_as_a_repeat():
    # given a customer who complained 10 days ago
    customer = CustomerFactory()
    first = given_complaint(customer=customer)
    Complaint.objects.filter(pk=first.pk).update(received_at=timezone.now() - timedelta(days=10))

    # when they complain again
    second = given_complaint(customer=customer)

    # then the second one is escalated as a repeat, recorded as its own transition
    second = Complaint.objects.get(pk=second.pk)
    assert (second.escalated, second.escalation_reason) == (True, "repeat")
    assert ComplaintTransition.objects.filter(complaint=second, transition="escalate", reason="repeat").exists()


def test_a_complaint_older_than_30_days_is_not_a_repeat():
    # given a customer who complained 31 days ago
    customer = CustomerFactory()
    first = given_complaint(customer=customer)
    Complaint.objects.filter(pk=first.pk).update(received_at=timezone.now() - timedelta(days=31))

    # when they complain again, then it is not escalated
    assert not given_complaint(customer=customer).escalated


@pytest.mark.parametrize(("tier", "escalated"), [(VipTier.DIAMOND, True), (VipTier.GOLD, True), (VipTier.SILVER, False), (VipTier.ORDINARY, False)])
def test_diamond_and_gold_customers_are_escalated_on_intake(tier, escalated):
    # when a customer of the tier complains for the first time
    complaint = given_complaint(customer=CustomerFactory(vip_tier=tier))

    # then only diamond and gold escalate, with the reason "vip"
    assert complaint.escalated is escalated
    assert complaint.escalation_reason == ("vip" if escalated else "")


def test_a_role_that_may_not_take_complaints_is_refused_and_nothing_is_written():
    # given a delivery clerk
    clerk = UserFactory(roles=["delivery_clerk"])

    # when they try to take a complaint, then it is refused
    with pytest.raises(PermissionDenied):
        given_complaint(agent=clerk)
    assert not Complaint.objects.exists()


@pytest.mark.parametrize(("field", "kwargs"), [
    ("description", {"description": "   "}),
    ("severity", {"severity": "apocalyptic"}),
    ("service_number", {"service_number": "13999999999"}),
    ("channel", {"channel": "pigeon"}),
])
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(field, kwargs):
    # when a complaint is taken with one bad field
    with pytest.raises(ValidationError) as caught:
        given_complaint(**kwargs)

    # then that field is named and nothing is written
    assert field in caught.value.message_dict
    assert not Complaint.objects.exists() and not WorkOrder.objects.exists()


def test_an_inactive_category_is_refused():
    with pytest.raises(ValidationError) as caught:
        given_complaint(category=ComplaintCategoryFactory(active=False))
    assert "category" in caught.value.message_dict


def test_the_service_number_must_be_one_of_the_customers_lines():
    # given a customer with a line
    line = SubscriptionFactory(service_number="13912345678")

    # when the complaint names it, then it is kept
    complaint = given_complaint(customer=line.customer, service_number="13912345678")
    assert complaint.service_number == "13912345678"


def test_the_same_external_id_from_the_same_client_returns_the_first_complaint():
    # given a complaint submitted with an external reference
    agent = UserFactory(roles=["agent"])
    customer = CustomerFactory()
    category = ComplaintCategoryFactory()
    first = intake.complaint_take(agent=agent, customer=customer, category=category, severity="normal", description="x", external_id="ext-1")

    # when it is submitted again
    again = intake.complaint_take(agent=agent, customer=customer, category=category, severity="normal", description="x", external_id="ext-1")

    # then it is the same complaint
    assert again.pk == first.pk and Complaint.objects.count() == 1
