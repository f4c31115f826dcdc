"""Selling from the customer screen, and the order page with its actions."""
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import ConcurrentTransition
from rest_framework.exceptions import PermissionDenied as TransitionPermissionDenied

from servicedesk.fsm import TransitionRefused
from servicedesk.masking import mask_address
from servicedesk.models import Customer
from servicedesk.pages import is_htmx, page_number, put_errors_on, require
from servicedesk.selectors import customer_for_screen

from .. import selectors, services
from ..forms import SaleForm
from ..models import Flow, NumberClass, NumberStatus, Order, OrderStatus, PoolNumber

NUMBERS_PER_PAGE = 10





def _local(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


# --- selling ------------------------------------------------------------------------

def _customer_or_404(request, customer_id: int) -> Customer:
    require(request, "servicedesk.view_customer", any_of=True)
    try:
        return customer_for_screen(user=request.user, customer_id=customer_id)
    except Customer.DoesNotExist as exc:
        raise Http404(_("No such customer, or not one of yours.")) from exc


def _numbers_context(params) -> dict:
    """One page of available pool numbers for the picker, filtered by digits and class,
    with the number already picked kept on top while it is still free."""
    digits = "".join(ch for ch in params.get("number_q", "") if ch.isdigit())[:11]
    number_class = params.get("number_class", "")
    if number_class not in NumberClass.values:
        number_class = ""
    page = Paginator(
        selectors.pool_numbers(status=NumberStatus.AVAILABLE, number_class=number_class, contains=digits), NUMBERS_PER_PAGE
    ).get_page(page_number(params))
    picked = (params.get("pool_number") or "").strip()[:20]
    picked_number = None
    if picked and picked not in {n.number for n in page.object_list}:
        picked_number = PoolNumber.objects.filter(number=picked, status=NumberStatus.AVAILABLE).first()
    return {
        "numbers": page, "picked": picked, "picked_number": picked_number,
        "number_q": digits, "number_class": number_class, "number_classes": NumberClass.choices,
    }


def _sale_context(request, customer: Customer, form: SaleForm, params) -> dict:
    context = {"customer": customer, "form": form, "product": form.chosen_product, "flow": form.sale_flow, "today": timezone.localdate()}
    if form.chosen_product is not None and form.chosen_product.needs_number and form.sale_flow != Flow.DEFERRED:
        context.update(_numbers_context({**params.dict(), "pool_number": form["pool_number"].value() or ""}))
    return context



def _sale_message(sale: services.Sale) -> str:
    if sale.opportunity is not None:
        return _("Callback booked for %(when)s: the outbound team will call the customer about %(product)s.") % {
            "when": _local(sale.opportunity.callback_at), "product": sale.opportunity.product.name,
        }
    order = sale.order
    if order.flow == Flow.DIRECT:
        return _("Direct: order #%(id)s is being provisioned in billing now.") % {"id": order.pk}
    return _("Back-office: the queue accepts order #%(id)s within %(hours)s hours (by %(when)s), then it goes to delivery.") % {
        "id": order.pk, "hours": order.product.category.acceptance_limit_hours, "when": _local(order.accept_by),
    }


@login_required
@require_http_methods(["GET", "POST"])
def sale(request, customer_id: int):
    """The sale form. Picking a product re-renders the form (HTMX) with the fields that product needs."""
    customer = _customer_or_404(request, customer_id)
    require(request, "orders.add_order", "orders.add_opportunity", any_of=True)
    if request.method == "GET":
        initial = {name: request.GET[name] for name in SaleForm.base_fields if name in request.GET}
        if "service_number" not in initial and "number" in request.GET:
            initial["service_number"] = request.GET["number"]  # the line the customer called about
        form = SaleForm(customer=customer, agent=request.user, initial=initial)
        template = "orders/sale_form.html" if is_htmx(request) else "orders/sale_page.html"
        return render(request, template, _sale_context(request, customer, form, request.GET))

    form = SaleForm(request.POST, customer=customer, agent=request.user)
    sale = None
    if form.is_valid():
        deferred = form.sale_flow == Flow.DEFERRED
        if not request.user.has_perm("orders.add_opportunity" if deferred else "orders.add_order"):
            form.add_error(None, _("Your role may not book callbacks.") if deferred else _("Your role may not open orders."))
        else:
            try:
                sale = services.sale_submit(agent=request.user, customer=customer, **form.sale_arguments())
            except ValidationError as exc:
                put_errors_on(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not sell to this customer."))
    if sale is None:
        context = _sale_context(request, customer, form, request.POST)
        if is_htmx(request):
            return render(request, "orders/sale_form.html", context, status=422)
        return render(request, "orders/sale_page.html", context, status=400)

    messages.success(request, _sale_message(sale))
    if sale.order is not None:
        target = reverse("orders:detail", args=[sale.order.pk])
    else:
        target = reverse("console:customer", args=[customer.pk])
    if is_htmx(request):
        response = HttpResponse()
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


@login_required
@require_GET
def sale_numbers(request):
    """The number picker's results (HTMX): available numbers by digits or tail, and class."""
    require(request, "orders.add_order", any_of=True)
    return render(request, "orders/sale_numbers.html", _numbers_context(request.GET))


# --- the order page -----------------------------------------------------------------

def order_or_404(request, order_id: int) -> Order:
    """The order if the user may see it; an area manager's view stops at the areas they manage."""
    require(request, "orders.view_order", any_of=True)
    try:
        return selectors.order_detail(user=request.user, order_id=order_id)
    except Order.DoesNotExist as exc:
        raise Http404(_("No such order, or not one of yours.")) from exc


def order_next_step(order: Order) -> str:
    """What happens next to the order, in the words an agent would tell the customer."""
    status, flow = order.status, order.flow
    if status == OrderStatus.SUBMITTED and flow == Flow.DIRECT:
        return _("Being provisioned in billing now.")
    if status == OrderStatus.SUBMITTED:
        return _("Waiting in the back-office queue: to be accepted by %(when)s, then delivery.") % {"when": _local(order.accept_by)} if order.accept_by else _("Waiting in the back-office queue, then delivery.")
    if status == OrderStatus.ACCEPTED:
        if order.urgent_activation:
            return _("Accepted; urgent activation requested from billing. Next it is handed to delivery.")
        return _("Accepted: next it is handed to delivery.")
    if status == OrderStatus.HANDED_TO_DELIVERY:
        if order.urgent_activation:
            return _("With delivery; urgent activation requested from billing.")
        return _("With delivery: the line is activated once delivery is confirmed.")
    if status == OrderStatus.DELIVERED:
        return _("Delivered: activation in billing is under way.")
    if status == OrderStatus.ACTIVATED:
        return _("Activated before delivery: complete once delivery is confirmed.") if order.urgent_activation else _("Activated.")
    if status in (OrderStatus.PROVISIONED, OrderStatus.COMPLETED):
        return _("Done: provisioned in billing.")
    return _("Closed: %(reason)s") % {"reason": order.closing_reason} if order.closing_reason else _("Closed.")


def order_history(order: Order) -> list[dict]:
    """The transition log in words: who, when, which step, from and to which state, why."""
    states = dict(OrderStatus.choices)
    steps = {
        "submit": _("Submitted"), "provision": _("Provisioned"), "fail": _("Failed in billing"), "complete": _("Completed"),
        "accept": _("Accepted"), "reject": _("Rejected"), "hand_to_delivery": _("Handed to delivery"),
        "mark_delivered": _("Delivered"), "activate": _("Activated"), "urgent_activate": _("Activated urgently"),
        "request_urgent_activation": _("Urgent activation requested"), "provisioning_failed": _("Billing refused"),
        "cancel": _("Cancelled"),
    }
    return [
        {
            "at": t.at, "by": t.by, "step": steps.get(t.transition, t.transition), "reason": t.reason,
            "from_state": states.get(t.from_state, t.from_state), "to_state": states.get(t.to_state, t.to_state),
        }
        for t in order.transitions.all()
    ]


def render_order(request, order: Order, *, status: int = 200, refused: dict | None = None, errors: dict | None = None) -> HttpResponse:
    """The order page; ``refused`` names why an action was refused and what is allowed next,
    ``errors`` maps an action to the messages for its form."""
    user = request.user
    may_see_address = user.has_perm("servicedesk.view_full_address")
    now = timezone.now()
    claim_live = bool(order.claimed_by_id and order.claim_expires_at and order.claim_expires_at > now)
    context = {
        "order": order,
        "customer": order.customer,
        "id_number": order.customer.id_number_for(user),
        "customer_address": order.customer.address_for(user),
        "delivery_address": order.delivery_address if may_see_address else mask_address(order.delivery_address),
        "history": order_history(order),
        "actions": selectors.order_available_actions(order=order, user=user),
        "next_step": order_next_step(order),
        "claim_live": claim_live,
        "claimed_by_me": claim_live and order.claimed_by_id == user.pk,
        "breached": bool(order.status == OrderStatus.SUBMITTED and order.accept_by and order.accept_by < now),
        "refused": refused,
        "errors": errors or {},
        "posted_reason": request.POST.get("reason", "") if request.method == "POST" else "",
    }
    return render(request, "orders/order_detail.html", context, status=status)


def run_order_action(request, order: Order, action: str, call: Callable[[], object], *, success: str, next_url: str) -> HttpResponse:
    """Call one service on the order; a refusal re-renders the page with why, never a 500."""
    try:
        call()
    except TransitionRefused as exc:
        labels = dict(OrderStatus.choices)
        refused = {"message": str(exc.detail), "allowed": [labels.get(s, s) for s in exc.allowed]}
        return render_order(request, order_or_404(request, order.pk), status=409, refused=refused)
    except ConcurrentTransition:
        refused = {"message": _("Someone else changed this order at the same time; check it and try again."), "allowed": []}
        return render_order(request, order_or_404(request, order.pk), status=409, refused=refused)
    except ValidationError as exc:
        return render_order(request, order_or_404(request, order.pk), status=422, errors={action: exc.messages})
    except (PermissionDenied, TransitionPermissionDenied) as exc:
        message = str(exc.detail) if isinstance(exc, TransitionPermissionDenied) else (str(exc) or _("Your role may not do this."))
        return render_order(request, order_or_404(request, order.pk), status=403, refused={"message": message, "allowed": []})
    except Order.DoesNotExist as exc:
        raise Http404(_("No such order.")) from exc
    messages.success(request, success)
    return HttpResponseRedirect(next_url)


@login_required
@require_GET
def detail(request, order_id: int):
    return render_order(request, order_or_404(request, order_id))


@login_required
@require_POST
def cancel(request, order_id: int):
    order = order_or_404(request, order_id)
    require(request, "orders.cancel_order", any_of=True)
    reason = request.POST.get("reason", "")[:500]
    return run_order_action(
        request, order, "cancel", lambda: services.order_cancel(order_id=order.pk, by=request.user, reason=reason),
        success=_("Order #%(id)s cancelled.") % {"id": order.pk}, next_url=reverse("orders:detail", args=[order.pk]),
    )


@login_required
@require_POST
def urgent_activation(request, order_id: int):
    order = order_or_404(request, order_id)
    require(request, "orders.urgent_activate_order", any_of=True)
    reason = request.POST.get("reason", "")[:500]
    return run_order_action(
        request, order, "urgent_activate",
        lambda: services.order_request_urgent_activation(order_id=order.pk, by=request.user, reason=reason),
        success=_("Urgent activation requested: billing activates the line now, before delivery."),
        next_url=reverse("orders:detail", args=[order.pk]),
    )


urlpatterns = [
    path("customers/<int:customer_id>/sell/", sale, name="sale"),
    path("sell/numbers/", sale_numbers, name="sale_numbers"),
    path("orders/<int:order_id>/", detail, name="detail"),
    path("orders/<int:order_id>/cancel/", cancel, name="order_cancel"),
    path("orders/<int:order_id>/urgent-activation/", urgent_activation, name="order_urgent_activation"),
]
