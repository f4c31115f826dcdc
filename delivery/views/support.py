"""The delivery support desk: find a shipment from what the customer quotes, see where it is,
and change the appointment, activate urgently, cancel or record a refusal.

Roles with ``delivery.support_shipment`` work it. Every refusal re-renders the shipment page
with the reason (409), bad input with the form's errors (422); nothing here is a 500.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition
from rest_framework.exceptions import PermissionDenied as TransitionPermissionDenied

from orders.models import Order, OrderStatus
from servicedesk.fsm import TransitionRefused
from servicedesk.masking import mask_address, mask_phone
from servicedesk.pages import page_number, put_errors_on, require
from servicedesk.sms import may_see_full_numbers

from .. import selectors_support as selectors
from ..forms_support import AppointmentForm, ReasonForm, SupportSearchForm, UrgentActivationForm
from ..models import Shipment, ShipmentStatus
from ..services import notices
from ..services import support as services

SHIPMENTS_PER_PAGE = 20
DESK = "delivery.support_shipment"


@login_required
@require_GET
def support(request):
    """One search box; a single hit opens the shipment at once."""
    require(request, DESK)
    form = SupportSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    search = selectors.shipment_search(user=request.user, query=query)
    page = None
    if search.query and not search.error:
        page = Paginator(search.shipments, SHIPMENTS_PER_PAGE).get_page(page_number(request.GET))
        if page.paginator.count == 1:
            return HttpResponseRedirect(reverse("delivery:shipment", args=[page.object_list[0].pk]))
    by_labels = {"order": _("order number"), "tracking_number": _("tracking number"), "service_number": _("service number")}
    return render(request, "delivery/support_search.html", {
        "form": form, "search": search, "page": page, "found_by": [by_labels[b] for b in search.by],
        "extra": urlencode({"q": search.query}) + "&" if search.query else "",
    })


def _shipment_or_404(request, shipment_id: int) -> Shipment:
    require(request, DESK)
    try:
        return selectors.shipment_for_desk(user=request.user, shipment_id=shipment_id)
    except Shipment.DoesNotExist as exc:
        raise Http404(_("No such shipment, or not one of yours.")) from exc


def render_shipment(request, shipment: Shipment, *, status: int = 200, refused: dict | None = None, forms: dict | None = None) -> HttpResponse:
    """The shipment page; ``refused`` says why an action was refused, ``forms`` carries a bound form with its errors."""
    user = request.user
    order = shipment.order
    full_numbers = may_see_full_numbers(user)
    show = (lambda n: n) if full_numbers else mask_phone
    actions, not_now = selectors.shipment_support_actions(shipment=shipment, user=user)
    labels = {
        services.APPOINTMENT: _("Change the appointment"), services.URGENT_ACTIVATION: _("Request urgent activation"),
        services.CANCEL: _("Cancel"), services.REFUSAL: _("Record a refusal"),
    }
    forms = forms or {}
    context = {
        "shipment": shipment,
        "order": order,
        "customer": order.customer,
        "service_number": show(order.service_number),
        "new_number": show(order.pool_number.number) if order.pool_number_id else "",
        "notices_to": show(notices.notice_number(order, kind=notices.BEFORE_DELIVERY)),
        "delivery_address": order.delivery_address if user.has_perm("servicedesk.view_full_address") else mask_address(order.delivery_address),
        "history": selectors.shipment_history(shipment),
        "sms": selectors.shipment_sms(shipment=shipment, user=user),
        "may_see_sms": user.has_perm("servicedesk.view_smsmessage"),
        "actions": actions,
        "not_now": [(action, labels[action], why) for action, why in not_now.items()],
        "refused": refused,
        "appointment_form": forms.get(services.APPOINTMENT) or AppointmentForm(
            initial={"date": shipment.appointment_date, "slot": shipment.appointment_slot}, auto_id="appointment_%s",
        ),
        "urgent_form": forms.get(services.URGENT_ACTIVATION) or UrgentActivationForm(auto_id="urgent_%s"),
        "cancel_form": forms.get(services.CANCEL) or ReasonForm(auto_id="cancel_%s"),
        "refusal_form": forms.get(services.REFUSAL) or ReasonForm(auto_id="refusal_%s"),
    }
    return render(request, "delivery/shipment_detail.html", context, status=status)


@login_required
@require_GET
def shipment(request, shipment_id: int):
    return render_shipment(request, _shipment_or_404(request, shipment_id))



def _run(request, shipment: Shipment, action: str, form, call, *, success: str) -> HttpResponse:
    """Validate the form, call one service; a refusal or bad input re-renders the page saying why."""
    def again(status: int, refused: dict | None = None) -> HttpResponse:
        return render_shipment(request, _shipment_or_404(request, shipment.pk), status=status, refused=refused, forms={action: form})

    if not form.is_valid():
        return again(422)
    try:
        call(form.cleaned_data)
    except TransitionRefused as exc:
        labels = dict(OrderStatus.choices) | dict(ShipmentStatus.choices)  # the shipment's own words win
        return again(409, {"message": str(exc.detail), "allowed": [labels.get(s, s) for s in exc.allowed]})
    except ConcurrentTransition:
        return again(409, {"message": _("Someone else changed this shipment at the same time; check it and try again."), "allowed": []})
    except ValidationError as exc:
        put_errors_on(form, exc)
        return again(422)
    except (PermissionDenied, TransitionPermissionDenied) as exc:
        message = str(exc.detail) if isinstance(exc, TransitionPermissionDenied) else (str(exc) or _("Your role may not do this."))
        return again(403, {"message": message, "allowed": []})
    except (Shipment.DoesNotExist, Order.DoesNotExist) as exc:
        raise Http404(_("No such shipment.")) from exc
    messages.success(request, success)
    return HttpResponseRedirect(reverse("delivery:shipment", args=[shipment.pk]))


@login_required
@require_POST
def change_appointment(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    form = AppointmentForm(request.POST, auto_id="appointment_%s")
    return _run(
        request, shipment, services.APPOINTMENT, form,
        lambda data: services.shipment_change_appointment(shipment_id=shipment.pk, date=data["date"], slot=data["slot"], by=request.user),
        success=_("Appointment changed; the customer gets an SMS confirming it."),
    )


@login_required
@require_POST
def urgent_activation(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    form = UrgentActivationForm(request.POST, auto_id="urgent_%s")
    return _run(
        request, shipment, services.URGENT_ACTIVATION, form,
        lambda data: services.shipment_request_urgent_activation(shipment_id=shipment.pk, by=request.user, reason=data["reason"]),
        success=_("Urgent activation requested: billing activates the line now, before delivery."),
    )


@login_required
@require_POST
def cancel(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    form = ReasonForm(request.POST, auto_id="cancel_%s")
    return _run(
        request, shipment, services.CANCEL, form,
        lambda data: services.shipment_cancel(shipment_id=shipment.pk, reason=data["reason"], by=request.user),
        success=_("Shipment cancelled; the order is cancelled and its stock and number released."),
    )


@login_required
@require_POST
def record_refusal(request, shipment_id: int):
    shipment = _shipment_or_404(request, shipment_id)
    form = ReasonForm(request.POST, auto_id="refusal_%s")
    return _run(
        request, shipment, services.REFUSAL, form,
        lambda data: services.shipment_record_refusal(shipment_id=shipment.pk, reason=data["reason"], by=request.user),
        success=_("Refusal recorded: the shipment goes back to stock and the order is cancelled."),
    )


urlpatterns = [
    path("delivery/support/", support, name="support"),
    path("delivery/shipments/<int:shipment_id>/", shipment, name="shipment"),
    path("delivery/shipments/<int:shipment_id>/appointment/", change_appointment, name="shipment_appointment"),
    path("delivery/shipments/<int:shipment_id>/urgent-activation/", urgent_activation, name="shipment_urgent_activation"),
    path("delivery/shipments/<int:shipment_id>/cancel/", cancel, name="shipment_cancel"),
    path("delivery/shipments/<int:shipment_id>/refusal/", record_refusal, name="shipment_refusal"),
]
