"""The callback queue: due callbacks by due time, and recording a callback's result."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import ConcurrentTransition

from servicedesk.api.errors import Conflict
from servicedesk.pages import page_number, put_errors_on, require
from servicedesk.selectors import customers_visible_to

from .. import selectors
from ..forms import CallbackFilterForm, CallbackForm
from ..models import Callback
from ..services import callbacks
from .intake import complaint_or_404, render_detail

PER_PAGE = 25


@login_required
@require_GET
def callback_list(request):
    require(request, "complaints.callback_complaint")
    form = CallbackFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {"kind": form.cleaned_data["kind"], "overdue_only": form.cleaned_data["overdue_only"]}
    page = Paginator(selectors.callbacks_due(**filters), PER_PAGE).get_page(page_number(request.GET))
    kept = {k: v for k, v in request.GET.items() if k != "page" and k in form.fields}
    return render(request, "complaints/callback_list.html", {
        "form": form, "page": page, "now": timezone.now(), "extra": (urlencode(kept) + "&") if kept else "",
    })


def _callback_or_404(request, callback_id: int) -> Callback:
    require(request, "complaints.callback_complaint")
    callback = Callback.objects.select_related("complaint__customer", "complaint__category", "complaint__first_ask_owner").filter(pk=callback_id).first()
    if callback is None or not customers_visible_to(request.user).filter(pk=callback.complaint.customer_id).exists():
        raise Http404(_("No such callback."))
    return callback


@login_required
@require_http_methods(["GET", "POST"])
def callback_record(request, callback_id: int):
    callback = _callback_or_404(request, callback_id)
    if request.method == "GET":
        return render(request, "complaints/callback_record.html", {"callback": callback, "form": CallbackForm()})
    form = CallbackForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            callbacks.callback_record(callback_id=callback.pk, by=request.user, **form.arguments())
        except ValidationError as exc:
            put_errors_on(form, exc)
        except (Conflict, ConcurrentTransition) as exc:
            form.add_error(None, str(exc) if isinstance(exc, Conflict) else _("Someone else changed this complaint; look again."))
            status = 409
        else:
            messages.success(request, _("Callback recorded."))
            return HttpResponseRedirect(reverse("complaints:detail", args=[callback.complaint_id]))
    return render(request, "complaints/callback_record.html", {"callback": callback, "form": form}, status=status)


@login_required
@require_POST
def close_unreached(request, complaint_id: int):
    require(request, "complaints.callback_complaint")
    complaint_or_404(request, complaint_id)
    try:
        callbacks.complaint_close_unreached(complaint_id=complaint_id, by=request.user)
    except (Conflict, ConcurrentTransition) as exc:
        messages.error(request, str(exc) if isinstance(exc, Conflict) else _("Someone else changed this complaint; look again."))
        return render_detail(request, complaint_id, status=409)
    messages.success(request, _("Complaint closed: the customer could not be reached."))
    return HttpResponseRedirect(reverse("complaints:detail", args=[complaint_id]))


urlpatterns = [
    path("complaints/callbacks/", callback_list, name="callbacks"),
    path("complaints/callbacks/<int:callback_id>/", callback_record, name="callback_record"),
    path("complaints/<int:complaint_id>/close-unreached/", close_unreached, name="close_unreached"),
]
