"""Working a complaint in its department: transfer, start, resolve, escalate, appeal, notes; and the breach check.

Every step locks the complaint, runs its transition through ``run_transition`` (recorded in
``ComplaintTransition``; refused with 409 naming the allowed states) and moves its work
orders in the same transaction. Resolving moves straight on to the callback.
"""
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.fsm import TransitionRefused, allowed_targets, run_transition
from servicedesk.models import Department
from servicedesk.notices import staff_notice
from servicedesk.roles import Role

from ..models import Callback, Complaint, ComplaintNote, ComplaintTransition, WorkOrder
from .intake import work_order_open

CALLBACK_DELAY = timedelta(hours=24)
ESCALATION_REASONS = ("repeat", "vip", "regulator")
MAX_REASON = 500
MAX_NOTE = 2000


def locked_complaint(complaint_id: int) -> Complaint:
    try:
        return Complaint.objects.select_for_update(of=("self",)).select_related("category", "department").get(pk=complaint_id)
    except (Complaint.DoesNotExist, ValueError, TypeError) as exc:
        raise Complaint.DoesNotExist(_("No such complaint.")) from exc


def _step(complaint: Complaint, name: str, *, by, why: str = "", args: dict | None = None) -> Complaint:
    return run_transition(complaint, name, by=by, log_model=ComplaintTransition, log_fk="complaint", reason=why, args=args)


def refuse(complaint: Complaint, message: str, code: str = "transition_not_allowed") -> TransitionRefused:
    return TransitionRefused(message, code=code, allowed=allowed_targets(complaint), current=complaint.status)


def _require_department(by, complaint: Complaint) -> None:
    """Handlers work the complaints of their own department; admins any."""
    if by is None or by.is_superuser or by.has_role(Role.ADMIN):
        return
    if by.has_perm("complaints.work_complaint") and by.department_id and by.department_id == complaint.department_id:
        return
    if not by.has_perm("complaints.work_complaint"):
        raise PermissionDenied(_("Your role may not do this."))
    raise PermissionDenied(_("This complaint is with another department."))


def _close_work_orders(complaint: Complaint, *, status: str, kinds=None) -> int:
    open_orders = WorkOrder.objects.filter(complaint=complaint, status=WorkOrder.Status.OPEN)
    if kinds is not None:
        open_orders = open_orders.filter(kind__in=kinds)
    return open_orders.update(status=status, done_at=timezone.now())


@transaction.atomic
def complaint_transfer(*, complaint_id: int, department: Department, by, reason: str) -> Complaint:
    """Send it to another department: the open handling work order is closed as transferred and
    one opened for the new department, keeping the complaint's deadline."""
    complaint = locked_complaint(complaint_id)
    _require_department(by, complaint)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why it goes to another department.")]})
    if department is None:
        raise ValidationError({"department": [_("Choose a department.")]})
    if department.pk == complaint.department_id:
        raise ValidationError({"department": [_("The complaint is already with this department.")]})
    _step(complaint, "transfer", by=by, why=f"{department.name}: {reason}"[:MAX_REASON], args={"department": department})
    _close_work_orders(complaint, status=WorkOrder.Status.TRANSFERRED, kinds=[WorkOrder.Kind.HANDLING])
    work_order_open(complaint=complaint, department=department, due_at=complaint.due_at)
    return complaint


@transaction.atomic
def complaint_start(*, complaint_id: int, by) -> Complaint:
    complaint = locked_complaint(complaint_id)
    _require_department(by, complaint)
    _step(complaint, "start", by=by)
    WorkOrder.objects.filter(complaint=complaint, status=WorkOrder.Status.OPEN, kind=WorkOrder.Kind.HANDLING).update(handler=by)
    return complaint


@transaction.atomic
def complaint_resolve(*, complaint_id: int, by, resolution: str) -> Complaint:
    """Resolve: the work orders are done; the complaint goes straight on to the 100% callback."""
    complaint = locked_complaint(complaint_id)
    _require_department(by, complaint)
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": [_("Say how it was resolved.")]})
    if len(resolution) > 4000:
        raise ValidationError({"resolution": [_("At most %(n)s characters.") % {"n": 4000}]})
    _step(complaint, "resolve", by=by, args={"resolution": resolution})
    _close_work_orders(complaint, status=WorkOrder.Status.DONE)
    _step(complaint, "await_callback", by=None)
    due = timezone.now() + CALLBACK_DELAY
    Callback.objects.create(complaint=complaint, kind=Callback.Kind.SATISFACTION, due_at=due)
    if complaint.category.is_fault and not complaint.callbacks.filter(kind=Callback.Kind.REPAIR).exists():
        Callback.objects.create(complaint=complaint, kind=Callback.Kind.REPAIR, due_at=due)
    return complaint


@transaction.atomic
def complaint_escalate(*, complaint_id: int, by, reason: str) -> Complaint:
    complaint = locked_complaint(complaint_id)
    if reason not in ESCALATION_REASONS:
        raise ValidationError({"reason": [_("Choose why it is escalated.")]})
    _step(complaint, "escalate", by=by, why=reason, args={"reason": reason})
    return complaint


@transaction.atomic
def complaint_record_appeal(*, complaint_id: int, by, due_at: datetime) -> Complaint:
    """The customer appealed to the regulator: escalated, with the date the answer is due."""
    complaint = locked_complaint(complaint_id)
    if due_at is None or due_at <= timezone.now():
        raise ValidationError({"due_at": [_("The answer must be due in the future.")]})
    _step(complaint, "record_appeal", by=by, why="regulator", args={"due_at": due_at})
    return complaint


@transaction.atomic
def complaint_note_add(*, complaint_id: int, by, text: str) -> ComplaintNote:
    if by is None or not by.has_perm("complaints.add_complaintnote"):
        raise PermissionDenied(_("Your role may not add notes."))
    complaint = locked_complaint(complaint_id)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the note.")]})
    if len(text) > MAX_NOTE:
        raise ValidationError({"text": [_("At most %(n)s characters.") % {"n": MAX_NOTE}]})
    return ComplaintNote.objects.create(complaint=complaint, text=text, by=by)


@transaction.atomic
def work_orders_flag_breaches(now: datetime | None = None) -> int:
    """Flag once every open work order past its deadline, and notice the first-ask owner and the
    department head. Served by the partial index ``workorder_due_idx``; a second run finds nothing."""
    now = now or timezone.now()
    due = (
        WorkOrder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=WorkOrder.Status.OPEN, breached_at__isnull=True, due_at__lt=now)
        .select_related("complaint__first_ask_owner", "complaint__category", "department__head")
        .order_by("pk")
    )
    breached = list(due)
    for work_order in breached:
        work_order.breached_at = now
        complaint = work_order.complaint
        recipients = [u for u in {complaint.first_ask_owner, work_order.department.head} if u is not None]
        staff_notice(
            recipients=recipients, key=f"complaints.work_order_breach.{work_order.pk}",
            text=_("Complaint #%(id)s (%(category)s) passed its deadline in %(department)s.") % {
                "id": complaint.pk, "category": complaint.category.name, "department": work_order.department.name},
            url=reverse("complaints:detail", args=[complaint.pk]),
        )
    WorkOrder.objects.bulk_update(breached, ["breached_at"])
    return len(breached)


def register() -> None:
    """Work has nothing to add to the customer screen (intake registers the panel and timeline)."""

