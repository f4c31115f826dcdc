"""The outbound team's pages: the callback worklist, one opportunity and its actions, search and export.

Views parse, call one service or selector, and render. A refused action (the opportunity is closed)
comes back as a message on the opportunity's page; bad input re-renders the form with its errors (422).
"""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk import notices as staff_notices
from servicedesk.exports import table_response
from servicedesk.fsm import TransitionRefused
from servicedesk.pages import page_number, put_errors_on, require

from .. import selectors, services
from ..forms_outbound import (
    AttemptForm, ConvertForm, LostForm, OpportunityEditForm, OpportunitySearchForm, WorklistFilterForm,
)
from ..models import Opportunity

PAGE_SIZE = 25
ATTEMPTS_PAGE_SIZE = 10




def _pager_extra(request, drop: str = "page") -> str:
    """The current filters, for the pager's links (``_pager.html`` appends ``page=N``)."""
    params = [(key, value) for key, values in request.GET.lists() if key != drop for value in values if value]
    return urlencode(params) + "&" if params else ""


def _with_numbers(user, opportunities):
    """Each row gets the customer's lines as this user may see them."""
    now = timezone.now()
    rows = list(opportunities)
    for opportunity in rows:
        opportunity.numbers = selectors.opportunity_service_numbers(user=user, opportunity=opportunity)
        opportunity.is_due = opportunity.callback_at <= now
    return rows


# --- The worklist ------------------------------------------------------------------

@login_required
@require_GET
def outbound(request):
    """Due and overdue callbacks first (oldest first), then the upcoming; with the user's unread notices."""
    require(request, "orders.change_opportunity")
    form = WorklistFilterForm(request.GET, products=selectors.opportunity_products(open_only=True))
    form.is_valid()  # a bad value is shown on the form and left out of the filter
    filters = form.cleaned_data
    callbacks = selectors.callbacks_due(
        user=request.user, include_future=True, intent=filters.get("intent", ""), assigned=filters.get("assigned", ""), product_id=filters.get("product"),
    )
    page = Paginator(callbacks, PAGE_SIZE).get_page(page_number(request.GET))
    page.object_list = _with_numbers(request.user, page.object_list)
    notices, notice_count = staff_notices.staff_notices_unread(user=request.user)
    context = {
        "form": form,
        "page": page,
        "extra": _pager_extra(request),
        "due_count": callbacks.filter(callback_at__lte=timezone.now()).count(),
        "overdue_count": callbacks.filter(overdue=True).count(),
        "notices": notices,
        "notice_count": notice_count,
    }
    return render(request, "orders/outbound_worklist.html", context)


@login_required
@require_POST
def notice_read(request, notice_id: int | None = None):
    """Mark one of the user's notices read, or all of them; only the user's own are touched."""
    staff_notices.staff_notice_mark_read(user=request.user, notice_id=notice_id)
    return HttpResponseRedirect(reverse("orders:outbound"))


# --- One opportunity ---------------------------------------------------------------

def _opportunity_or_404(request, opportunity_id: int) -> Opportunity:
    require(request, "orders.view_opportunity")
    try:
        return selectors.opportunity_detail(user=request.user, opportunity_id=opportunity_id)
    except Opportunity.DoesNotExist as exc:
        raise Http404(_("No such opportunity, or not one you may see.")) from exc


def _opportunity_url(opportunity_id: int) -> str:
    return reverse("orders:opportunity", args=[opportunity_id])


def _render_opportunity(request, opportunity: Opportunity, forms: dict | None = None, status: int = 200):
    user = request.user
    is_open = opportunity.status == Opportunity.Status.OPEN
    can_work = is_open and user.has_perm("orders.change_opportunity")
    can_convert = can_work and user.has_perm("orders.add_order")
    forms = forms or {}
    if can_work:
        forms.setdefault("attempt_form", AttemptForm())
        forms.setdefault("lost_form", LostForm())
    if can_convert:
        forms.setdefault("convert_form", ConvertForm(opportunity=opportunity, user=user))
    attempts = Paginator(selectors.opportunity_attempts(opportunity=opportunity), ATTEMPTS_PAGE_SIZE).get_page(page_number(request.GET, "attempts_page"))
    context = {
        "opportunity": opportunity,
        "customer": opportunity.customer,
        "numbers": selectors.opportunity_service_numbers(user=user, opportunity=opportunity),
        "id_number": opportunity.customer.id_number_for(user),
        "is_due": opportunity.callback_at <= timezone.now(),
        "attempts": attempts,
        "can_work": can_work,
        "can_convert": can_convert,
        "can_delete": user.has_perm("orders.delete_opportunity"),
        "pool_numbers": selectors.available_numbers(limit=20) if can_convert and opportunity.product.needs_number else [],
        **forms,
    }
    return render(request, "orders/opportunity_detail.html", context, status=status)


def _refused(request, opportunity_id: int, exc: TransitionRefused):
    messages.error(request, str(exc.detail))
    return HttpResponseRedirect(_opportunity_url(opportunity_id))


@login_required
@require_GET
def opportunity(request, opportunity_id: int):
    return _render_opportunity(request, _opportunity_or_404(request, opportunity_id))


def _act(request, opportunity: Opportunity, form, form_name: str, action, success: str):
    """Run one action on a valid form: done -> back to the page with a message; refused -> the page says why;
    bad input -> the page again with the form's errors, nothing written."""
    if form.is_valid():
        try:
            result = action(form)
        except TransitionRefused as exc:
            return _refused(request, opportunity.pk, exc)
        except Opportunity.DoesNotExist as exc:
            raise Http404(_("No such opportunity, or not one you may see.")) from exc
        except ValidationError as exc:
            put_errors_on(form, exc)
        else:
            messages.success(request, success)
            return result or HttpResponseRedirect(_opportunity_url(opportunity.pk))
    return _render_opportunity(request, opportunity, {form_name: form}, status=422)


@login_required
@require_POST
def opportunity_attempt(request, opportunity_id: int):
    opportunity = _opportunity_or_404(request, opportunity_id)
    require(request, "orders.change_opportunity")

    def record(form):
        services.opportunity_record_attempt(opportunity_id=opportunity.pk, by=request.user, **form.cleaned_data)

    return _act(request, opportunity, AttemptForm(request.POST), "attempt_form", record, _("Attempt recorded."))


@login_required
@require_POST
def opportunity_convert(request, opportunity_id: int):
    opportunity = _opportunity_or_404(request, opportunity_id)
    require(request, "orders.change_opportunity", "orders.add_order")

    def convert(form):
        order = services.opportunity_convert(opportunity_id=opportunity.pk, by=request.user, **form.order_kwargs())
        return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))

    form = ConvertForm(request.POST, opportunity=opportunity, user=request.user)
    return _act(request, opportunity, form, "convert_form", convert, _("Converted into an order."))


@login_required
@require_POST
def opportunity_lost(request, opportunity_id: int):
    opportunity = _opportunity_or_404(request, opportunity_id)
    require(request, "orders.change_opportunity")

    def close(form):
        services.opportunity_close_lost(opportunity_id=opportunity.pk, by=request.user, reason=form.cleaned_data["reason"])

    return _act(request, opportunity, LostForm(request.POST), "lost_form", close, _("Closed as lost."))


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request, opportunity_id: int):
    opportunity = _opportunity_or_404(request, opportunity_id)
    require(request, "orders.change_opportunity")
    if opportunity.status != Opportunity.Status.OPEN:
        messages.error(request, _("This opportunity is already closed (%(outcome)s); nothing more can be done with it.") % {
            "outcome": opportunity.get_status_display()})
        return HttpResponseRedirect(_opportunity_url(opportunity.pk))
    form = OpportunityEditForm.for_opportunity(opportunity, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(opportunity_id=opportunity.pk, by=request.user, **form.cleaned_data)
        except TransitionRefused as exc:
            return _refused(request, opportunity.pk, exc)
        except ValidationError as exc:
            put_errors_on(form, exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return HttpResponseRedirect(_opportunity_url(opportunity.pk))
    status = 422 if form.is_bound else 200
    return render(request, "orders/opportunity_edit.html", {"opportunity": opportunity, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_delete(request, opportunity_id: int):
    opportunity = _opportunity_or_404(request, opportunity_id)
    require(request, "orders.delete_opportunity")
    if request.method == "POST":
        try:
            services.opportunity_delete(opportunity_id=opportunity.pk, by=request.user)
        except Opportunity.DoesNotExist as exc:
            raise Http404(_("No such opportunity, or not one you may see.")) from exc
        messages.success(request, _("Opportunity #%(id)s deleted.") % {"id": opportunity.pk})
        target = "orders:outbound" if request.user.has_perm("orders.change_opportunity") else "orders:opportunity_search"
        return HttpResponseRedirect(reverse(target))
    return render(request, "orders/opportunity_delete.html", {"opportunity": opportunity})


# --- Search and export -------------------------------------------------------------

def _search(request):
    require(request, "orders.view_opportunity")
    form = OpportunitySearchForm(request.GET, products=selectors.opportunity_products())
    form.is_valid()
    if "q" in form.errors:
        # A mistyped number finds nobody rather than everybody.
        return form, Opportunity.objects.none()
    return form, selectors.opportunity_search(user=request.user, **form.filters())


@login_required
@require_GET
def opportunity_search(request):
    form, results = _search(request)
    page = Paginator(results, PAGE_SIZE).get_page(page_number(request.GET))
    page.object_list = _with_numbers(request.user, page.object_list)
    query = _pager_extra(request)
    context = {
        "form": form,
        "page": page,
        "extra": query,
        "export_query": query.rstrip("&"),
        "can_delete": request.user.has_perm("orders.delete_opportunity"),
    }
    return render(request, "orders/outbound_search.html", context)


def _when(value) -> str:
    # To the minute, as the pages show it (the shared export would add seconds).
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@login_required
@require_GET
def opportunity_export(request):
    """The search result, every page of it, as CSV; numbers as the user's role may see them."""
    _form, results = _search(request)
    user = request.user
    header = [_("Opportunity"), _("Customer"), _("Service numbers"), _("Product"), _("Intent"), _("Status"), _("Callback at"),
              _("Overdue"), _("Outbound agent"), _("Created"), _("Lost because")]

    def rows():
        for op in results.iterator(chunk_size=500):
            yield [
                op.pk, op.customer.name, " ".join(selectors.opportunity_service_numbers(user=user, opportunity=op)), op.product.name,
                op.get_intent_display(), op.get_status_display(), _when(op.callback_at), _("yes") if op.overdue else "",
                (op.assigned_to.get_full_name() or op.assigned_to.username) if op.assigned_to else "", _when(op.created_at), op.lost_reason,
            ]

    return table_response(name="opportunities", header=header, rows=rows(), fmt="csv")


@login_required
@require_GET
def opportunity_follow_up(request):
    """Open high-intent opportunities: the list for a dedicated follow-up campaign."""
    require(request, "orders.view_opportunity")
    user = request.user
    header = [_("Customer"), _("Service numbers"), _("Product"), _("Callback at"), _("Outbound agent"), _("Opportunity")]

    def rows():
        for op in selectors.opportunities_follow_up(user=user).iterator(chunk_size=500):
            yield [
                op.customer.name, " ".join(selectors.opportunity_service_numbers(user=user, opportunity=op)), op.product.name,
                _when(op.callback_at), (op.assigned_to.get_full_name() or op.assigned_to.username) if op.assigned_to else "", op.pk,
            ]

    return table_response(name="follow-up-high-intent", header=header, rows=rows(), fmt="csv")


urlpatterns = [
    path("outbound/", outbound, name="outbound"),
    path("outbound/notices/read/", notice_read, name="notices_read"),
    path("outbound/notices/<int:notice_id>/read/", notice_read, name="notice_read"),
    path("opportunities/", opportunity_search, name="opportunity_search"),
    path("opportunities/export.csv", opportunity_export, name="opportunity_export"),
    path("opportunities/follow-up.csv", opportunity_follow_up, name="opportunity_follow_up"),
    path("opportunities/<int:opportunity_id>/", opportunity, name="opportunity"),
    path("opportunities/<int:opportunity_id>/attempts/", opportunity_attempt, name="opportunity_attempt"),
    path("opportunities/<int:opportunity_id>/convert/", opportunity_convert, name="opportunity_convert"),
    path("opportunities/<int:opportunity_id>/lost/", opportunity_lost, name="opportunity_lost"),
    path("opportunities/<int:opportunity_id>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:opportunity_id>/delete/", opportunity_delete, name="opportunity_delete"),
]
