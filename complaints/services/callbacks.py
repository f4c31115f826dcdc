"""The 100% callback: every resolved complaint is called back before it closes.

Not reached: one more attempt, exhausted at ``max_attempts`` (the complaint may then be closed
as unreached). Reached: satisfaction 1–5 and whether the problem is solved; solved closes the
complaint, unsolved reopens it with a new handling work order for its department. The repair
callback of a fault complaint asks about repair time and the technician and moves nothing.
"""
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Callback, Complaint, ComplaintStatus
from .intake import work_order_open
from .work import _step, locked_complaint, refuse

RETRY_AFTER = timedelta(hours=2)
MAX_NOTES = 500


def _require(by) -> None:
    """``None`` is the platform recording the customer's own answer (an SMS reply), which may."""
    if by is not None and not by.has_perm("complaints.callback_complaint"):
        raise PermissionDenied(_("Your role may not make callbacks."))


def _score(value, field: str, errors: dict, *, required: bool) -> int | None:
    if value in (None, ""):
        if required:
            errors[field] = [_("Give a score from 1 to 5.")]
        return None
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        errors[field] = [_("Give a score from 1 to 5.")]
        return None
    return score


@transaction.atomic
def callback_record(
    *, callback_id: int, by, reached: bool, satisfaction: int | None = None, solved: bool | None = None,
    repair_time_score: int | None = None, technician_score: int | None = None, notes: str = "",
) -> Callback:
    _require(by)
    try:
        callback = Callback.objects.select_for_update().get(pk=callback_id)
    except (Callback.DoesNotExist, ValueError, TypeError) as exc:
        raise Callback.DoesNotExist(_("No such callback.")) from exc
    complaint = locked_complaint(callback.complaint_id)
    if callback.status != Callback.Status.DUE:
        raise refuse(complaint, _("This callback has already been recorded."), code="callback_done")
    if callback.kind == Callback.Kind.SATISFACTION and complaint.status != ComplaintStatus.CALLBACK:
        raise refuse(complaint, _("The complaint is not waiting for its callback."))
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ValidationError({"notes": [_("At most %(n)s characters.") % {"n": MAX_NOTES}]})
    now = timezone.now()
    callback.by = by
    callback.notes = notes
    if not reached:
        callback.attempts += 1
        callback.reached = False
        if callback.attempts >= callback.max_attempts:
            callback.status = Callback.Status.EXHAUSTED
            callback.completed_at = now
        else:
            callback.due_at = now + RETRY_AFTER
        callback.save()
        return callback

    errors: dict[str, list[str]] = {}
    if callback.kind == Callback.Kind.SATISFACTION:
        callback.satisfaction = _score(satisfaction, "satisfaction", errors, required=True)
        if solved is None:
            errors["solved"] = [_("Say whether the problem is solved.")]
    else:
        callback.satisfaction = _score(satisfaction, "satisfaction", errors, required=False)
        callback.repair_time_score = _score(repair_time_score, "repair_time_score", errors, required=True)
        callback.technician_score = _score(technician_score, "technician_score", errors, required=True)
    if errors:
        raise ValidationError(errors)
    callback.attempts += 1
    callback.reached = True
    callback.solved = solved
    callback.status = Callback.Status.COMPLETED
    callback.completed_at = now
    callback.save()
    if callback.kind == Callback.Kind.SATISFACTION:
        if solved:
            _step(complaint, "close", by=by, why=_("Solved, satisfaction %(n)s") % {"n": callback.satisfaction})
        else:
            _reopen(complaint, by=by, why=notes or _("Not solved at the callback"))
    return callback


def _reopen(complaint: Complaint, *, by, why: str) -> None:
    """Back to the department: in progress again, with a fresh handling work order and time limit."""
    limit = complaint.due_at - complaint.received_at
    _step(complaint, "reopen", by=by, why=why[:500])
    work_order_open(complaint=complaint, department=complaint.department, due_at=timezone.now() + limit)


def _satisfaction_callback(complaint: Complaint) -> Callback | None:
    return complaint.callbacks.filter(kind=Callback.Kind.SATISFACTION).order_by("-id").first()


@transaction.atomic
def complaint_close(*, complaint_id: int, by) -> Complaint:
    """Close by hand: only once the satisfaction callback is completed (or exhausted)."""
    _require(by)
    complaint = locked_complaint(complaint_id)
    callback = _satisfaction_callback(complaint)
    if callback is None or callback.status == Callback.Status.DUE:
        raise refuse(complaint, _("A complaint closes only after its callback."), code="callback_required")
    _step(complaint, "close", by=by, why=_("Callback not reached") if callback.status == Callback.Status.EXHAUSTED else "")
    return complaint


@transaction.atomic
def complaint_close_unreached(*, complaint_id: int, by) -> Complaint:
    """Close a complaint whose customer was not reached after every callback attempt."""
    _require(by)
    complaint = locked_complaint(complaint_id)
    callback = _satisfaction_callback(complaint)
    if callback is None or callback.status != Callback.Status.EXHAUSTED:
        raise refuse(complaint, _("Only a complaint whose callback failed every attempt closes unreached."), code="callback_required")
    _step(complaint, "close", by=by, why=_("Callback not reached"))
    return complaint


def register() -> None:
    """Callbacks add nothing to the customer screen (intake registers the panel and timeline)."""
