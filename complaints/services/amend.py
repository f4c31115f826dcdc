"""Correcting what a complaint says (its description and severity) while it is open.

Used by the TMF621 PATCH. A new severity moves the complaint's deadline (and its open
handling work order's) by the same rule as at intake, counted from when it was received.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Complaint, ComplaintStatus, Severity, WorkOrder
from .intake import MAX_DESCRIPTION, complaint_deadline
from .work import locked_complaint, refuse


@transaction.atomic
def complaint_amend(*, complaint_id: int, by, description: str | None = None, severity: str | None = None) -> Complaint:
    if by is None or not by.has_perm("complaints.change_complaint"):
        raise PermissionDenied(_("Your role may not change complaints."))
    complaint = locked_complaint(complaint_id)
    if complaint.status == ComplaintStatus.CLOSED:
        raise refuse(complaint, _("A closed complaint can no longer be changed."))
    errors: dict[str, list[str]] = {}
    if description is not None:
        description = description.strip()
        if not description:
            errors["description"] = [_("Describe the complaint.")]
        elif len(description) > MAX_DESCRIPTION:
            errors["description"] = [_("At most %(n)s characters.") % {"n": MAX_DESCRIPTION}]
    if severity is not None and severity not in Severity.values:
        errors["severity"] = [_("Choose a severity.")]
    if errors:
        raise ValidationError(errors)
    changed = []
    if description is not None and description != complaint.description:
        complaint.description = description
        changed.append("description")
    if severity is not None and severity != complaint.severity:
        complaint.severity = severity
        complaint.due_at = complaint_deadline(
            category=complaint.category, severity=severity, vip_tier=complaint.customer.vip_tier, received_at=complaint.received_at,
        )
        changed += ["severity", "due_at"]
        WorkOrder.objects.filter(complaint=complaint, status=WorkOrder.Status.OPEN, kind=WorkOrder.Kind.HANDLING).update(due_at=complaint.due_at)
    if changed:
        complaint.save(update_fields=changed)
    return complaint
