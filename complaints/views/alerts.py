"""Early-warning alerts in the browser: the list (filtered by status and category), acknowledge, close."""
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from servicedesk.fsm import TransitionRefused
from servicedesk.pages import page_number, require

from .. import selectors
from ..models import Alert, ComplaintCategory
from ..services import early_warning

ALERTS_PER_PAGE = 25
VIEW = "complaints.view_alert"
CHANGE = "complaints.change_alert"


class AlertFilterForm(forms.Form):
    """The list's filters; a value not understood is reported and ignored, never a 500."""

    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", gettext_lazy("Live (open or acknowledged)")), ("all", gettext_lazy("All statuses")), *Alert.Status.choices])
    category = forms.TypedChoiceField(label=gettext_lazy("Category"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories")), *ComplaintCategory.objects.order_by("code").values_list("pk", "name")]

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"status": data.get("status") or "", "category_id": data.get("category")}

    def query_string(self) -> str:
        data = getattr(self, "cleaned_data", {})
        return urlencode({k: v for k, v in (("status", data.get("status") or ""), ("category", data.get("category") or "")) if v})


def _list_page(request, *, status: int = 200, refused: str = ""):
    filters = AlertFilterForm(request.GET)
    wanted = filters.filters()
    shown = selectors.alerts(status="" if wanted["status"] == "all" else wanted["status"], category_id=wanted["category_id"])
    if not wanted["status"]:
        shown = shown.exclude(status=Alert.Status.CLOSED)
    page = Paginator(shown, ALERTS_PER_PAGE).get_page(page_number(request.GET))
    query = filters.query_string()
    return render(request, "complaints/alert_list.html", {
        "filters": filters, "page": page, "extra": f"{query}&" if query else "", "query": query,
        "can_change": request.user.has_perm(CHANGE), "refused": refused,
    }, status=status)


@login_required
@require_GET
def alert_list(request):
    require(request, VIEW)
    return _list_page(request)


def _back(request):
    query = request.POST.get("back", "")
    # Only our own list's query string goes back: never an address from the form.
    safe = query if query and all(c.isalnum() or c in "=&_-" for c in query) else ""
    return HttpResponseRedirect(reverse("complaints:alerts") + (f"?{safe}" if safe else ""))


def _act(request, alert_id: int, action, done: str):
    require(request, VIEW, CHANGE)
    try:
        alert = action(alert_id=alert_id, user=request.user)
    except Alert.DoesNotExist:
        return _list_page(request, status=404, refused=_("No such alert."))
    except TransitionRefused as exc:
        return _list_page(request, status=409, refused=str(exc.detail))
    messages.success(request, done % {"category": alert.category.name})
    return _back(request)


@login_required
@require_POST
def alert_acknowledge(request, alert_id: int):
    return _act(request, alert_id, early_warning.alert_acknowledge, _("Alert for “%(category)s” acknowledged."))


@login_required
@require_POST
def alert_close(request, alert_id: int):
    return _act(request, alert_id, early_warning.alert_close, _("Alert for “%(category)s” closed."))


urlpatterns = [
    path("alerts/", alert_list, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/close/", alert_close, name="alert_close"),
]
