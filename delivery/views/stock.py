"""Stock pages: levels by store and item, goods in, the movements ledger, transfers, unit lookup and the demand report.

Delivery clerks and back-office work them; every other role that may see stock reads them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import ConcurrentTransition

from servicedesk.exports import table_response
from servicedesk.fsm import TransitionRefused
from servicedesk.pages import page_number, put_errors_on, require

from .. import selectors
from ..forms_stock import (
    DemandForm, MovementFilterForm, StockFilterForm, StockReceiveForm, TransferFilterForm, TransferLineFormSet, TransferRejectForm,
    TransferRequestForm, TransferShipForm, UnitLookupForm, transfer_lines,
)
from ..models import StockMovement, Transfer
from ..services import stock as services

LEVELS_PER_PAGE = 50
MOVEMENTS_PER_PAGE = 50
TRANSFERS_PER_PAGE = 25
UNITS_PER_PAGE = 50
DEMAND_PER_PAGE = 50



def _extra(query: str) -> str:
    return f"{query}&" if query else ""


# --- levels --------------------------------------------------------------------------------

@login_required
@require_GET
def stock(request):
    require(request, "delivery.view_stocklevel")
    filters = StockFilterForm(request.GET)
    chosen = filters.filters()
    levels = selectors.stock_levels(
        warehouse_id=chosen.get("warehouse"), sku_id=chosen.get("sku"), item_kind=chosen.get("item_kind", ""),
        only_available=chosen.get("only_available", False),
    )
    page = Paginator(levels, LEVELS_PER_PAGE).get_page(page_number(request.GET))
    return render(request, "delivery/stock_levels.html", {
        "filters": filters, "page": page, "totals": selectors.stock_totals(levels), "extra": _extra(filters.query_string()), "tab": "stock",
    })


@login_required
@require_http_methods(["GET", "POST"])
def receive(request):
    """Goods in from the supplier: a quantity of top-up cards, or the serials of SIMs and handsets."""
    require(request, "delivery.add_stockmovement")
    form = StockReceiveForm(request.POST if request.method == "POST" else None, initial={"warehouse": request.GET.get("warehouse")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                level = services.stock_receive(
                    warehouse=data["warehouse"], sku=data["sku"], by=request.user, note=data["note"],
                    quantity=data["quantity"], serials=data["serials"],
                )
            except ValidationError as exc:
                put_errors_on(form, exc)
            else:
                messages.success(request, _("Booked in: %(item)s at %(store)s now %(on_hand)s on hand.") % {
                    "item": data["sku"].name, "store": data["warehouse"].name, "on_hand": level.on_hand})
                return HttpResponseRedirect(reverse("delivery:stock_receive") + f"?warehouse={data['warehouse'].pk}")
        status = 422
    return render(request, "delivery/stock_receive.html", {"form": form, "tab": "receive"}, status=status)


# --- movements -----------------------------------------------------------------------------

def _movements(filters: MovementFilterForm):
    chosen = filters.filters()
    return selectors.stock_movements(
        warehouse_id=chosen.get("warehouse"), sku_id=chosen.get("sku"), kind=chosen.get("kind", ""),
        date_from=chosen.get("date_from"), date_to=chosen.get("date_to"),
    )


@login_required
@require_GET
def movements(request):
    require(request, "delivery.view_stockmovement")
    filters = MovementFilterForm(request.GET)
    page = Paginator(_movements(filters), MOVEMENTS_PER_PAGE).get_page(page_number(request.GET))
    query = filters.query_string()
    return render(request, "delivery/stock_movements.html", {
        "filters": filters, "page": page, "extra": _extra(query), "tab": "movements",
        "export_url": reverse("delivery:movements_export") + (f"?{query}" if query else ""),
    })


MOVEMENT_FIELDS = ["at", "kind", "warehouse__code", "sku__code", "unit__serial", "quantity", "order_id", "transfer_id", "by__username", "note"]


@login_required
@require_GET
def movements_export(request):
    """The filtered ledger as CSV, streamed row by row from the database, never all in memory."""
    require(request, "delivery.view_stockmovement")
    ledger = _movements(MovementFilterForm(request.GET)).select_related(None).values_list(*MOVEMENT_FIELDS)
    kinds = dict(StockMovement.Kind.choices)

    header = [_("at"), _("movement"), _("store"), _("item"), _("serial"), _("quantity"), _("order"), _("transfer"), _("by"), _("note")]
    rows = ([row[0], kinds.get(row[1], row[1]), *row[2:]] for row in ledger.iterator(chunk_size=2000))
    return table_response(name="stock-movements", header=header, rows=rows, fmt="csv")


# --- transfers -----------------------------------------------------------------------------

@login_required
@require_GET
def transfers(request):
    require(request, "delivery.view_transfer")
    filters = TransferFilterForm(request.GET)
    chosen = filters.filters()
    listed = selectors.stock_transfers(status=chosen.get("status", ""), warehouse_id=chosen.get("warehouse"))
    page = Paginator(listed, TRANSFERS_PER_PAGE).get_page(page_number(request.GET))
    return render(request, "delivery/transfer_list.html", {"filters": filters, "page": page, "extra": _extra(filters.query_string()), "tab": "transfers"})


@login_required
@require_http_methods(["GET", "POST"])
def transfer_request(request):
    require(request, "delivery.add_transfer")
    posted = request.POST if request.method == "POST" else None
    form = TransferRequestForm(posted, initial={"to_warehouse": request.GET.get("to")})
    lines = TransferLineFormSet(posted, prefix="lines")
    status = 200
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            try:
                created = services.transfer_request(
                    to_warehouse=form.cleaned_data["to_warehouse"], lines=transfer_lines(lines), by=request.user, note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                put_errors_on(form, exc)
            else:
                messages.success(request, _("Transfer #%(id)s asked of %(store)s.") % {"id": created.pk, "store": created.from_warehouse.name})
                return HttpResponseRedirect(reverse("delivery:transfer", args=[created.pk]))
        status = 422
    return render(request, "delivery/transfer_request.html", {"form": form, "lines": lines, "tab": "transfers"}, status=status)


def _transfer_or_404(transfer_id: int) -> Transfer:
    try:
        return selectors.stock_transfer_detail(transfer_id=transfer_id)
    except Transfer.DoesNotExist as exc:
        raise Http404(_("No such transfer.")) from exc


def _transfer_page(request, transfer_id: int, *, status: int = 200, refused: str = "", ship_form=None, reject_form=None, errors=()):
    transfer = _transfer_or_404(transfer_id)
    units = Paginator(selectors.stock_transfer_units(transfer_id=transfer.pk), UNITS_PER_PAGE).get_page(page_number(request.GET))
    may_act = request.user.has_perm("delivery.change_transfer")
    labels = dict(Transfer.Status.choices)
    return render(request, "delivery/transfer_detail.html", {
        "transfer": transfer, "units": units, "refused": refused, "errors": list(errors), "tab": "transfers",
        "history": [(t, labels.get(t.to_state, t.to_state)) for t in transfer.transitions.all()],
        "can_ship": may_act and transfer.status == Transfer.Status.REQUESTED,
        "can_receive": may_act and transfer.status == Transfer.Status.SHIPPED,
        "ship_form": ship_form or TransferShipForm(), "reject_form": reject_form or TransferRejectForm(),
    }, status=status)


@login_required
@require_GET
def transfer(request, transfer_id: int):
    require(request, "delivery.view_transfer")
    return _transfer_page(request, transfer_id)


def _transfer_action(request, transfer_id: int, call, *, success: str, form=None, form_key: str = ""):
    """Run one transfer service; a refusal re-renders the transfer with why (409 state, 422 input), never a 500."""
    require(request, "delivery.change_transfer")
    _transfer_or_404(transfer_id)
    forms = {form_key: form} if form_key else {}
    if form is not None and not form.is_valid():
        return _transfer_page(request, transfer_id, status=422, **forms)
    try:
        call()
    except TransitionRefused as exc:
        labels = dict(Transfer.Status.choices)
        refused = str(exc.detail) + " " + _("Now possible: %(allowed)s.") % {"allowed": ", ".join(str(labels.get(s, s)) for s in exc.allowed) or "—"}
        return _transfer_page(request, transfer_id, status=409, refused=refused, **forms)
    except ConcurrentTransition:
        return _transfer_page(request, transfer_id, status=409, refused=_("Someone else changed this transfer at the same time; check it and try again."), **forms)
    except PermissionDenied as exc:
        return _transfer_page(request, transfer_id, status=403, refused=str(exc) or _("Your role may not do this."), **forms)
    except Transfer.DoesNotExist as exc:
        raise Http404(_("No such transfer.")) from exc
    except ValidationError as exc:
        return _transfer_page(request, transfer_id, status=422, errors=exc.messages, **forms)
    messages.success(request, success)
    return HttpResponseRedirect(reverse("delivery:transfer", args=[transfer_id]))


@login_required
@require_POST
def transfer_ship(request, transfer_id: int):
    form = TransferShipForm(request.POST)
    return _transfer_action(
        request, transfer_id, lambda: services.transfer_ship(transfer_id=transfer_id, by=request.user, serials=form.cleaned_data["serials"]),
        success=_("Transfer #%(id)s shipped.") % {"id": transfer_id}, form=form, form_key="ship_form",
    )


@login_required
@require_POST
def transfer_receive(request, transfer_id: int):
    return _transfer_action(
        request, transfer_id, lambda: services.transfer_receive(transfer_id=transfer_id, by=request.user),
        success=_("Transfer #%(id)s received and booked in.") % {"id": transfer_id},
    )


@login_required
@require_POST
def transfer_reject(request, transfer_id: int):
    form = TransferRejectForm(request.POST)
    return _transfer_action(
        request, transfer_id, lambda: services.transfer_reject(transfer_id=transfer_id, by=request.user, reason=form.cleaned_data["reason"]),
        success=_("Transfer #%(id)s rejected.") % {"id": transfer_id}, form=form, form_key="reject_form",
    )


# --- unit lookup ---------------------------------------------------------------------------

@login_required
@require_GET
def unit(request):
    """Where a SIM or handset is, by its ICCID or IMEI, with every movement it made."""
    require(request, "delivery.view_stocklevel")
    form = UnitLookupForm(request.GET if "serial" in request.GET else None)
    found, history, status = None, None, 200
    if form.is_bound:
        if form.is_valid():
            found = selectors.stock_unit(serial=form.cleaned_data["serial"])
            if found is None:
                status = 404
            else:
                history = Paginator(selectors.stock_unit_movements(unit_id=found.pk), UNITS_PER_PAGE).get_page(page_number(request.GET))
        else:
            status = 422
    return render(request, "delivery/stock_unit.html", {
        "form": form, "unit": found, "history": history, "tab": "unit",
        "extra": _extra(f"serial={form.cleaned_data['serial']}" if found else ""),
    }, status=status)


# --- demand ----------------------------------------------------------------------------------

@login_required
@require_GET
def demand(request):
    """The handset models customers asked for most, from orders and opportunities."""
    require(request, "delivery.view_stocklevel")
    form = DemandForm(request.GET)
    date_from, date_to = form.range()
    rows = selectors.handset_demand(date_from=date_from, date_to=date_to)
    page = Paginator(rows, DEMAND_PER_PAGE).get_page(page_number(request.GET))
    query = f"date_from={date_from.isoformat()}&date_to={date_to.isoformat()}"
    return render(request, "delivery/stock_demand.html", {
        "form": form, "page": page, "date_from": date_from, "date_to": date_to, "extra": _extra(query), "tab": "demand",
        "export_url": reverse("delivery:demand_export") + "?" + query,
    })


@login_required
@require_GET
def demand_export(request):
    require(request, "delivery.view_stocklevel")
    date_from, date_to = DemandForm(request.GET).range()
    rows = selectors.handset_demand(date_from=date_from, date_to=date_to)

    header = [_("model"), _("asked"), _("orders"), _("opportunities"), _("of which ordered"), _("available in hall stores")]
    lines = ([r["item_model"], r["asked"], r["orders"], r["opportunities"], r["converted"], r["available"]] for r in rows)
    return table_response(name=f"handset-demand-{date_from.isoformat()}-{date_to.isoformat()}", header=header, rows=lines, fmt="csv")


urlpatterns = [
    path("stock/", stock, name="stock"),
    path("stock/receive/", receive, name="stock_receive"),
    path("stock/movements/", movements, name="movements"),
    path("stock/movements/export.csv", movements_export, name="movements_export"),
    path("stock/transfers/", transfers, name="transfers"),
    path("stock/transfers/new/", transfer_request, name="transfer_request"),
    path("stock/transfers/<int:transfer_id>/", transfer, name="transfer"),
    path("stock/transfers/<int:transfer_id>/ship/", transfer_ship, name="transfer_ship"),
    path("stock/transfers/<int:transfer_id>/receive/", transfer_receive, name="transfer_receive"),
    path("stock/transfers/<int:transfer_id>/reject/", transfer_reject, name="transfer_reject"),
    path("stock/units/", unit, name="unit"),
    path("stock/demand/", demand, name="demand"),
    path("stock/demand/export.csv", demand_export, name="demand_export"),
]
