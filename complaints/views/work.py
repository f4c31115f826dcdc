"""The department queue and the steps of the complaint page (transfer, start, resolve, escalate, appeal, note)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition

from servicedesk.api.errors import Conflict
from servicedesk.pages import page_number, put_errors_on, require

from .. import selectors
from ..forms import (
    AppealForm,
    EscalateForm,
    NoteForm,
    QueueFilterForm,
    ResolveForm,
    TransferForm,
)
from ..services import work
from .intake import complaint_or_404, render_detail

PER_PAGE = 25


@login_required
@require_GET
def queue(request):
    """Open work orders of the user's department, earliest deadline first; a bad filter is ignored with a message."""
    require(request, "complaints.work_complaint")
    form = QueueFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"kind": data["kind"], "breached_only": data["breached_only"], "category_id": data["category"].pk if data["category"] else None}
    department = request.user.department
    orders = selectors.department_queue(department_id=department.pk if department else None, **filters)
    page = Paginator(orders, PER_PAGE).get_page(page_number(request.GET))
    kept = {k: v for k, v in request.GET.items() if k != "page" and k in form.fields}
    return render(request, "complaints/queue.html", {
        "form": form, "page": page, "department": department, "now": timezone.now(), "extra": (urlencode(kept) + "&") if kept else "",
    })


def _do(request, complaint_id: int, form_key: str, form, call):
    """Run one step: a form error re-renders the page (422), a refused step says why (409)."""
    complaint_or_404(request, complaint_id)
    if form is not None and not form.is_valid():
        return render_detail(request, complaint_id, forms={form_key: form}, status=422)
    try:
        call(form.cleaned_data if form is not None else {})
    except ValidationError as exc:
        if form is None:
            messages.error(request, " ".join(exc.messages))
            return render_detail(request, complaint_id, status=422)
        put_errors_on(form, exc)
        return render_detail(request, complaint_id, forms={form_key: form}, status=422)
    except (Conflict, ConcurrentTransition) as exc:
        messages.error(request, str(exc) if isinstance(exc, Conflict) else _("Someone else changed this complaint; look again."))
        return render_detail(request, complaint_id, status=409)
    except PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, _("Done."))
    return HttpResponseRedirect(reverse("complaints:detail", args=[complaint_id]))


@login_required
@require_POST
def transfer(request, complaint_id: int):
    return _do(request, complaint_id, "transfer", TransferForm(request.POST), lambda d: work.complaint_transfer(
        complaint_id=complaint_id, department=d["department"], by=request.user, reason=d["reason"]))


@login_required
@require_POST
def start(request, complaint_id: int):
    return _do(request, complaint_id, "", None, lambda d: work.complaint_start(complaint_id=complaint_id, by=request.user))


@login_required
@require_POST
def resolve(request, complaint_id: int):
    return _do(request, complaint_id, "resolve", ResolveForm(request.POST), lambda d: work.complaint_resolve(
        complaint_id=complaint_id, by=request.user, resolution=d["resolution"]))


@login_required
@require_POST
def escalate(request, complaint_id: int):
    return _do(request, complaint_id, "escalate", EscalateForm(request.POST, auto_id="escalate_%s"), lambda d: work.complaint_escalate(
        complaint_id=complaint_id, by=request.user, reason=d["reason"]))


@login_required
@require_POST
def appeal(request, complaint_id: int):
    return _do(request, complaint_id, "appeal", AppealForm(request.POST), lambda d: work.complaint_record_appeal(
        complaint_id=complaint_id, by=request.user, due_at=d["due_at"]))


@login_required
@require_POST
def note(request, complaint_id: int):
    return _do(request, complaint_id, "note", NoteForm(request.POST), lambda d: work.complaint_note_add(
        complaint_id=complaint_id, by=request.user, text=d["text"]))


urlpatterns = [
    path("complaints/queue/", queue, name="queue"),
    path("complaints/<int:complaint_id>/transfer/", transfer, name="transfer"),
    path("complaints/<int:complaint_id>/start/", start, name="start"),
    path("complaints/<int:complaint_id>/resolve/", resolve, name="resolve"),
    path("complaints/<int:complaint_id>/escalate/", escalate, name="escalate"),
    path("complaints/<int:complaint_id>/appeal/", appeal, name="appeal"),
    path("complaints/<int:complaint_id>/note/", note, name="note"),
]
