"""Taking a complaint and routing it to its department at once.

The agent who takes the call becomes the complaint's first-ask owner. The deadline is the
category's time limit shortened by severity and the customer's VIP tier; a repeat within
30 days or a diamond/gold customer escalates the complaint on intake. Routing assigns it to
the category's department with a HANDLING work order carrying the complaint's deadline
(and, for fault categories, a REPAIR work order with the repair time limit).
"""
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.api.errors import Conflict
from servicedesk.fsm import run_transition
from servicedesk.models import Channel, Customer, VipTier

from ..models import (
    SEVERITY_FACTOR,
    VIP_FACTOR,
    Complaint,
    ComplaintCategory,
    ComplaintTransition,
    Severity,
    WorkOrder,
)

REPEAT_WINDOW = timedelta(days=30)
ESCALATING_TIERS = {VipTier.DIAMOND, VipTier.GOLD}
MAX_DESCRIPTION = 4000


def complaint_deadline(*, category: ComplaintCategory, severity: str, vip_tier: str, received_at: datetime) -> datetime:
    """received + time limit × severity factor × VIP factor."""
    hours = category.time_limit_hours * SEVERITY_FACTOR[Severity(severity)] * VIP_FACTOR[VipTier(vip_tier)]
    return received_at + timedelta(hours=hours)


def work_order_open(*, complaint: Complaint, department, kind: str = WorkOrder.Kind.HANDLING, due_at: datetime) -> WorkOrder:
    """One open work order per complaint and kind (a constraint); callers close the previous one first."""
    return WorkOrder.objects.create(complaint=complaint, department=department, kind=kind, due_at=due_at)


def _validate(*, customer, category, severity, description, service_number, channel) -> dict:
    errors: dict[str, list[str]] = {}
    if category is None or not category.active:
        errors["category"] = [_("Choose an active complaint category.")]
    if severity not in Severity.values:
        errors["severity"] = [_("Choose a severity.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Describe the complaint.")]
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = [_("At most %(n)s characters.") % {"n": MAX_DESCRIPTION}]
    service_number = (service_number or "").strip()
    if service_number and not customer.subscriptions.filter(service_number=service_number).exists():
        errors["service_number"] = [_("This number is not one of the customer's lines.")]
    if errors:
        raise ValidationError(errors)
    return {"description": description, "service_number": service_number}


@transaction.atomic
def complaint_take(
    *, agent, customer: Customer, category: ComplaintCategory, severity: str, description: str, service_number: str = "",
    channel: str = Channel.HOTLINE, contact=None, external_id: str = "",
) -> Complaint:
    """Take a complaint: the agent owns it; it is escalated if it must be, and routed at once."""
    if agent is None or not agent.has_perm("complaints.add_complaint"):
        raise PermissionDenied(_("Your role may not take complaints."))
    clean = _validate(customer=customer, category=category, severity=severity, description=description,
                      service_number=service_number, channel=channel)
    external_id = (external_id or "").strip()[:100]
    if external_id:
        existing = Complaint.objects.filter(created_by=agent, external_id=external_id).first()
        if existing is not None:
            return existing  # the same submission again: the first result
    # Lock the customer so that two complaints taken at once both see each other as repeats.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    now = timezone.now()
    repeat = Complaint.objects.filter(customer=customer, received_at__gte=now - REPEAT_WINDOW).exists()
    complaint = Complaint(
        customer=customer, category=category, severity=severity, channel=channel, first_ask_owner=agent, created_by=agent,
        area_id=customer.area_id, contact=contact, received_at=now, external_id=external_id,
        due_at=complaint_deadline(category=category, severity=severity, vip_tier=customer.vip_tier, received_at=now), **clean,
    )
    try:
        with transaction.atomic():
            complaint.save()
    except IntegrityError as exc:
        raise Conflict(_("This complaint was already submitted."), code="complaint_exists") from exc
    ComplaintTransition.objects.create(complaint=complaint, from_state="", to_state=complaint.status, transition="take", by=agent)
    if repeat or customer.vip_tier in ESCALATING_TIERS:
        reason = "repeat" if repeat else "vip"
        # The system escalates, not the agent (whose role may not escalate by hand).
        run_transition(complaint, "escalate", by=None, log_model=ComplaintTransition, log_fk="complaint", reason=reason,
                       args={"reason": reason})
    complaint_route(complaint=complaint, by=agent)
    return complaint


def complaint_route(*, complaint: Complaint, by) -> Complaint:
    """Assign to the category's department with its work orders (inside the caller's transaction)."""
    category = complaint.category
    run_transition(complaint, "assign", by=by, log_model=ComplaintTransition, log_fk="complaint",
                   args={"department": category.department})
    work_order_open(complaint=complaint, department=category.department, due_at=complaint.due_at)
    if category.is_fault:
        work_order_open(complaint=complaint, department=category.department, kind=WorkOrder.Kind.REPAIR,
                        due_at=complaint.received_at + timedelta(hours=category.repair_limit_hours))
    return complaint


def register() -> None:
    """The customer screen's "New complaint" button, its open-complaints panel and timeline entries."""
    from servicedesk import registry

    from .. import selectors

    registry.register_customer_action(selectors.complaint_customer_action)
    registry.register_panel(selectors.open_complaints_panel)
    registry.register_timeline_source(selectors.complaint_timeline_entries)
