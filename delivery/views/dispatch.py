"""The delivery clerk's dispatch: the pick list of accepted orders waiting for a shipment, the
shipments under way by stage, and one shipment's steps from the shelf to the customer's door.

Roles with ``delivery.move_shipment`` work it. Each step is offered only when the shipment's state
allows it; a refusal re-renders the page with the reason and the states possible now (409), bad
input with the form's errors (422). Nothing here is a 500.
"""
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition

from orders.models import Order, OrderStatus
from orders.selectors import orders_visible_to
from servicedesk.api.errors import Conflict
from servicedesk.masking import mask_address, mask_phone
from servicedesk.pages import page_number, put_errors_on, require
from servicedesk.sms import may_see_full_numbers

from .. import selectors_dispatch as selectors
from .. import selectors_support
from ..forms_dispatch import (
    CarrierForm,
    DeliverForm,
    DispatchFilterForm,
    HandOverForm,
    NoInputForm,
    ReasonForm,
)
from ..models import Shipment, ShipmentStatus
from ..services import shipments as services

ORDERS_PER_PAGE = 25
SHIPMENTS_PER_PAGE = 25
MOVE = selectors.MOVE


def _shown(user) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """How this role sees phone numbers and addresses: whole, or masked."""
    number = (lambda n: n) if may_see_full_numbers(user) else mask_phone
    address = (lambda a: a) if user.has_perm("servicedesk.view_full_address") else mask_address
    return number, address


def _order_number(order: Order) -> str:
    """The line the order is about: the new number it sells, or the existing line it changes."""
    return order.pool_number.number if order.pool_number_id else order.service_number


# --- The pick list and the shipments under way -----------------------------------------------

def _pick_list_page(request, *, status: int = 200, refused: dict | None = None) -> HttpResponse:
    user = request.user
    filters = DispatchFilterForm(request.GET)
    chosen = filters.filters()
    show_number, show_address = _shown(user)
    today = timezone.localdate()

    orders = Paginator(selectors.dispatch_pick_list(hall_id=chosen["hall_id"]), ORDERS_PER_PAGE).get_page(page_number(request.GET))
    page_orders = list(orders.object_list)
    halls = selectors.pick_list_halls(order_ids=[o.pk for o in page_orders])
    carriers = selectors.rule_carriers(item_kinds=[o.product.item_kind for o in page_orders])
    rows = [
        {
            "order": order,
            "number": show_number(_order_number(order)),
            "address": show_address(order.delivery_address),
            "hall": halls.get(order.pk),
            "carrier": carriers.get(order.product.item_kind),
            "due": order.appointment_date is not None and order.appointment_date <= today,
        }
        for order in page_orders
    ]

    shipments = Paginator(
        selectors.shipments_under_way(user=user, **chosen), SHIPMENTS_PER_PAGE,
    ).get_page(page_number(request.GET, "shipments_page"))
    shipment_rows = [
        {"shipment": s, "number": show_number(_order_number(s.order)), "address": show_address(s.order.delivery_address)}
        for s in shipments.object_list
    ]

    query = filters.query_string()
    base = f"{query}&" if query else ""
    return render(request, "delivery/dispatch_list.html", {
        "filters": filters,
        "orders": orders,
        "rows": rows,
        "shipments": shipments,
        "shipment_rows": shipment_rows,
        "stages": selectors.under_way_counts(user=user, carrier_id=chosen["carrier_id"], hall_id=chosen["hall_id"]),
        "stage": chosen["status"],
        "stage_query": filters.query_string(status=None),
        # Paging one list keeps the other where it was.
        "orders_extra": base + (f"shipments_page={shipments.number}&" if shipments.number > 1 else ""),
        "shipments_extra": base + (f"page={orders.number}&" if orders.number > 1 else ""),
        "refused": refused,
    }, status=status)


@login_required
@require_GET
def dispatch(request):
    require(request, MOVE)
    return _pick_list_page(request)


def _allowed_labels(allowed: list[str]) -> list[str]:
    # A refusal names the shipment's next states, or the order's when the orders app refused: the
    # shipment's labels win where both have the state ("failed" is "Delivery failed" here).
    labels = dict(OrderStatus.choices) | dict(ShipmentStatus.choices)
    return [str(labels.get(state, state)) for state in allowed]


def _refusal(exc: Conflict) -> dict:
    return {"message": str(exc.detail), "allowed": _allowed_labels(getattr(exc, "allowed", []))}


@login_required
@require_POST
def create_shipment(request, order_id: int):
    """Make the shipment of one order of the pick list; the rules choose its carrier."""
    require(request, MOVE)
    order = orders_visible_to(request.user).filter(pk=order_id).first()
    if order is None:
        raise Http404(_("No such order."))
    try:
        shipment = services.shipment_create(order=order, by=request.user)
    except Conflict as exc:  # not accepted (any more), or a shipment is already under way
        return _pick_list_page(request, status=409, refused=_refusal(exc))
    except ValidationError as exc:  # nothing to deliver, or no stock held
        return _pick_list_page(request, status=422, refused={"message": " ".join(exc.messages), "allowed": []})
    except Order.DoesNotExist as exc:
        raise Http404(_("No such order.")) from exc
    if shipment.carrier_id:
        messages.success(request, _("Shipment #%(id)s created for order #%(order)s: the rules chose %(carrier)s (promises %(hours)s h).") % {
            "id": shipment.pk, "order": order.pk, "carrier": shipment.carrier.name, "hours": shipment.carrier.promised_hours})
    else:
        messages.warning(request, _("Shipment #%(id)s created for order #%(order)s: no active carrier delivers this item; assign one before hand-over.") % {
            "id": shipment.pk, "order": order.pk})
    return HttpResponseRedirect(reverse("delivery:dispatch_shipment", args=[shipment.pk]))


# --- One shipment's steps ---------------------------------------------------------------------

def _shipment_or_404(request, shipment_id: int) -> Shipment:
    require(request, MOVE)
    try:
        return selectors_support.shipment_for_desk(user=request.user, shipment_id=shipment_id)
    except Shipment.DoesNotExist as exc:
        raise Http404(_("No such shipment, or not one of yours.")) from exc


STEP_LABELS = {
    selectors.ASSIGN_CARRIER: gettext_lazy("Change the carrier"),
    "pick": gettext_lazy("Pick"),
    "hand_to_carrier": gettext_lazy("Hand to the carrier"),
    "go_out_for_delivery": gettext_lazy("Go out for delivery"),
    "deliver": gettext_lazy("Record the delivery"),
    "fail": gettext_lazy("Record a failed attempt"),
    "return_to_stock": gettext_lazy("Return to stock"),
}


def render_shipment(request, shipment: Shipment, *, status: int = 200, refused: dict | None = None, forms: dict | None = None) -> HttpResponse:
    """The shipment's dispatch page; ``refused`` says why a step was refused, ``forms`` carries a posted form back with its errors."""
    user = request.user
    order = shipment.order
    show_number, show_address = _shown(user)
    steps, held_back = selectors.dispatch_steps(shipment=shipment, user=user)
    forms = forms or {}
    context = {
        "shipment": shipment,
        "order": order,
        "customer": order.customer,
        "number": show_number(_order_number(order)),
        "delivery_address": show_address(order.delivery_address),
        "history": selectors_support.shipment_history(shipment),
        "steps": steps,
        "held_back": [(STEP_LABELS[step], why) for step, why in held_back.items()],
        "reattempt": shipment.status == ShipmentStatus.FAILED,
        "refused": refused,
        "carrier_form": forms.get(selectors.ASSIGN_CARRIER) or CarrierForm(shipment=shipment),
        "hand_form": forms.get("hand_to_carrier") or HandOverForm(),
        "deliver_form": forms.get("deliver") or DeliverForm(initial={"amount_collected": shipment.amount_due}),
        "fail_form": forms.get("fail") or ReasonForm(auto_id="fail_%s"),
        "return_form": forms.get("return_to_stock") or ReasonForm(auto_id="return_%s", initial={"reason": shipment.failure_reason}),
    }
    return render(request, "delivery/dispatch_shipment.html", context, status=status)


@login_required
@require_GET
def shipment(request, shipment_id: int):
    return render_shipment(request, _shipment_or_404(request, shipment_id))



def _run(request, shipment: Shipment, step: str, form: forms.Form, call: Callable[[dict], object], *, success: str) -> HttpResponse:
    """Validate the form and call one service; a refusal or bad input re-renders the page saying why."""
    def again(status: int, refused: dict | None = None) -> HttpResponse:
        return render_shipment(request, _shipment_or_404(request, shipment.pk), status=status, refused=refused, forms={step: form})

    if not form.is_valid():
        return again(422)
    try:
        call(form.cleaned_data)
    except ConcurrentTransition:
        return again(409, {"message": _("Someone else changed this shipment at the same time; check it and try again."), "allowed": []})
    except Conflict as exc:
        return again(409, _refusal(exc))
    except ValidationError as exc:
        put_errors_on(form, exc)
        return again(422)
    except PermissionDenied as exc:
        return again(403, {"message": str(exc) or _("Your role may not do this."), "allowed": []})
    except (Shipment.DoesNotExist, Order.DoesNotExist) as exc:
        raise Http404(_("No such shipment.")) from exc
    messages.success(request, success)
    return HttpResponseRedirect(reverse("delivery:dispatch_shipment", args=[shipment.pk]))


@login_required
@require_POST
def assign_carrier(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    form = CarrierForm(request.POST, shipment=shipment)
    return _run(
        request, shipment, selectors.ASSIGN_CARRIER, form,
        lambda data: services.shipment_assign_carrier(shipment_id=shipment.pk, carrier_id=data["carrier"], by=request.user),
        success=_("Carrier changed."),
    )


@login_required
@require_POST
def pick(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "pick", NoInputForm(request.POST),
        lambda data: services.shipment_pick(shipment_id=shipment.pk, by=request.user),
        success=_("Picked: the item is packed and waits for the carrier."),
    )


@login_required
@require_POST
def hand_to_carrier(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "hand_to_carrier", HandOverForm(request.POST),
        lambda data: services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=request.user, tracking_number=data["tracking_number"]),
        success=_("Handed to the carrier: the stock has left the hall."),
    )


@login_required
@require_POST
def go_out_for_delivery(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "go_out_for_delivery", NoInputForm(request.POST),
        lambda data: services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=request.user),
        success=_("Out for delivery: the customer gets an SMS with the time window."),
    )


@login_required
@require_POST
def deliver(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "deliver", DeliverForm(request.POST),
        lambda data: services.shipment_deliver(
            shipment_id=shipment.pk, by=request.user, signed_by=data["signed_by"], id_checked=data["id_checked"],
            amount_collected=data["amount_collected"], payment_method=data["payment_method"], pos_reference=data["pos_reference"],
        ),
        success=_("Delivered: billing activates the order now."),
    )


@login_required
@require_POST
def fail(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "fail", ReasonForm(request.POST, auto_id="fail_%s"),
        lambda data: services.shipment_fail(shipment_id=shipment.pk, by=request.user, reason=data["reason"]),
        success=_("Failed attempt recorded: re-attempt the delivery or return it to stock."),
    )


@login_required
@require_POST
def return_to_stock(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    return _run(
        request, shipment, "return_to_stock", ReasonForm(request.POST, auto_id="return_%s"),
        lambda data: services.shipment_return_to_stock(shipment_id=shipment.pk, by=request.user, reason=data["reason"]),
        success=_("Returned to stock: the order is cancelled and its number released."),
    )


urlpatterns = [
    path("delivery/dispatch/", dispatch, name="dispatch"),
    path("delivery/dispatch/orders/<int:order_id>/shipment/", create_shipment, name="dispatch_create"),
    path("delivery/dispatch/shipments/<int:shipment_id>/", shipment, name="dispatch_shipment"),
    path("delivery/dispatch/shipments/<int:shipment_id>/carrier/", assign_carrier, name="dispatch_carrier"),
    path("delivery/dispatch/shipments/<int:shipment_id>/pick/", pick, name="dispatch_pick"),
    path("delivery/dispatch/shipments/<int:shipment_id>/hand-over/", hand_to_carrier, name="dispatch_hand_over"),
    path("delivery/dispatch/shipments/<int:shipment_id>/out/", go_out_for_delivery, name="dispatch_out"),
    path("delivery/dispatch/shipments/<int:shipment_id>/deliver/", deliver, name="dispatch_deliver"),
    path("delivery/dispatch/shipments/<int:shipment_id>/fail/", fail, name="dispatch_fail"),
    path("delivery/dispatch/shipments/<int:shipment_id>/return/", return_to_stock, name="dispatch_return"),
]
