"""Reads of the complaints app, by area."""


# --- Intake -------------------------------------------------------------------------------------
from django.db.models import Prefetch as _Prefetch
from django.db.models import QuerySet as _QuerySet
from django.urls import reverse as _reverse
from django.utils import timezone as _timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext as _pgettext


def complaint_customer_action(customer, user):
    """The customer screen's "New complaint" button, for roles that take complaints."""
    from servicedesk.registry import CustomerAction

    if not user.has_perm("complaints.add_complaint"):
        return None
    return CustomerAction(key="complaint", label=_("New complaint"), url=_reverse("complaints:new", args=[customer.pk]), shortcut="c", order=20)


def open_complaints_panel(customer, user):
    from servicedesk.registry import Panel

    from .models import OPEN_COMPLAINT_STATES, Complaint

    if not user.has_perm("complaints.view_complaint"):
        return None
    now = _timezone.now()
    complaints = Complaint.objects.filter(customer=customer, status__in=OPEN_COMPLAINT_STATES).select_related("category").order_by("-received_at")[:10]
    items = [
        {"label": f"#{c.pk} {c.category.name}", "state": c.get_status_display(), "url": _reverse("complaints:detail", args=[c.pk]),
         "breached": c.due_at < now and c.status in ("received", "assigned", "in_progress")}
        for c in complaints
    ]
    return Panel(key="complaints", title=_("Open complaints"), items=items, empty_text=_("No open complaints."), order=30)


def complaint_timeline_entries(customer, user, limit: int):
    from servicedesk.registry import TimelineEntry

    from .models import ComplaintStatus, ComplaintTransition

    if not user.has_perm("complaints.view_complaint"):
        return []
    transitions = (
        ComplaintTransition.objects.filter(complaint__customer=customer)
        .select_related("complaint__category", "by").order_by("-at", "-id")[:limit]
    )
    labels = dict(ComplaintStatus.choices)
    return [
        TimelineEntry(
            at=t.at, kind="complaint",
            title=_("Complaint #%(id)s %(category)s: %(state)s") % {
                "id": t.complaint_id, "category": t.complaint.category.name, "state": labels.get(t.to_state, t.to_state)},
            detail=t.reason, channel=t.complaint.get_channel_display(), actor=(t.by.get_full_name() or t.by.username) if t.by else _("system"),
            url=_reverse("complaints:detail", args=[t.complaint_id]), badge=_pgettext("timeline badge", "Complaint"),
        )
        for t in transitions
    ]


def complaint_categories():
    from .models import ComplaintCategory

    return ComplaintCategory.objects.filter(active=True).select_related("department").order_by("code")


def complaint_detail(*, complaint_id: int):
    from .models import (
        Callback,
        Complaint,
        ComplaintNote,
        ComplaintTransition,
        WorkOrder,
    )

    return (
        Complaint.objects.select_related("customer", "category", "department", "first_ask_owner", "area")
        .prefetch_related(
            _Prefetch("work_orders", queryset=WorkOrder.objects.select_related("department", "handler").order_by("opened_at", "id")),
            _Prefetch("callbacks", queryset=Callback.objects.select_related("by").order_by("due_at", "id")),
            _Prefetch("transitions", queryset=ComplaintTransition.objects.select_related("by").order_by("at", "id")),
            _Prefetch("notes", queryset=ComplaintNote.objects.select_related("by").order_by("at", "id")),
        )
        .get(pk=complaint_id)
    )


def complaints_owned(*, owner, open_only: bool = True) -> _QuerySet:
    """The first-ask owner's complaints (index complaint_owner_idx), earliest deadline first."""
    from .models import OPEN_COMPLAINT_STATES, Complaint

    found = Complaint.objects.filter(first_ask_owner=owner).select_related("customer", "category", "department")
    if open_only:
        found = found.filter(status__in=OPEN_COMPLAINT_STATES)
    return found.order_by("due_at", "id")


# --- Work ---------------------------------------------------------------------------------------

def department_queue(*, department_id: int | None, kind: str = "", breached_only: bool = False, category_id: int | None = None) -> _QuerySet:
    """Open work orders of a department by deadline (index workorder_queue_idx)."""
    from .models import WorkOrder

    found = (
        WorkOrder.objects.filter(department_id=department_id, status=WorkOrder.Status.OPEN)
        .select_related("complaint__customer", "complaint__category", "complaint__first_ask_owner", "handler")
    )
    if kind:
        found = found.filter(kind=kind)
    if breached_only:
        found = found.filter(due_at__lt=_timezone.now())
    if category_id is not None:
        found = found.filter(complaint__category_id=category_id)
    return found.order_by("due_at", "id")


# --- Callbacks ----------------------------------------------------------------------------------

def callbacks_due(*, kind: str = "", overdue_only: bool = False) -> _QuerySet:
    """Callbacks still to make, by due time (index callback_due_idx)."""
    from .models import Callback

    found = Callback.objects.filter(status=Callback.Status.DUE).select_related("complaint__customer", "complaint__category", "complaint__first_ask_owner")
    if kind:
        found = found.filter(kind=kind)
    if overdue_only:
        found = found.filter(due_at__lte=_timezone.now())
    return found.order_by("due_at", "id")
# --- End of intake, work, callbacks


# --- Early warning ------------------------------------------------------------------------------

def alerts(*, status: str = "", category_id: int | None = None):
    """Alerts newest first (index alert_status_idx when filtered by status), with what the list shows."""
    from django.db.models import Count

    from .models import Alert

    found = Alert.objects.select_related("category__department", "area", "acknowledged_by", "closed_by").annotate(told=Count("notices"))
    if status:
        found = found.filter(status=status)
    if category_id is not None:
        found = found.filter(category_id=category_id)
    return found.order_by("-raised_at", "-id")


def alert_live_count() -> int:
    from .models import Alert

    return Alert.objects.exclude(status=Alert.Status.CLOSED).count()
# --- End of early warning
