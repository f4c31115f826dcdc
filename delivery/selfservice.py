"""The delivery app's part of the self-service halls (registered on import, from ``DeliveryConfig.ready()``).

- The *shipments* section: tracking number, carrier, status, appointment and progress (the
  carrier's tracking events and the hall's own steps) of the customer's recent shipments,
  each pointing at its order.
- The *change appointment* action: the support desk's own service
  (``support.shipment_change_appointment``) decides whether and to what it may change and
  sends the confirming SMS; the hall's system user acts, and the customer's contact is recorded.
"""
from django import forms
from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from orders.models import Order
from servicedesk import selfservice

from .models import Shipment, ShipmentTransition, TrackingEvent
from .selectors_support import STEP_LABELS
from .services import support

CHANGE_APPOINTMENT = "delivery.appointment"
RECENT = 10


class AppointmentForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("New delivery date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    slot = forms.ChoiceField(label=gettext_lazy("Time window"), choices=Order.Slot.choices)


def _appointment(shipment: Shipment) -> str:
    if not shipment.appointment_date:
        return ""
    return f"{shipment.appointment_date:%Y-%m-%d} {shipment.get_appointment_slot_display()}".strip()


def _progress(shipment: Shipment) -> list[tuple]:
    """The carrier's tracking events and the steps taken on our side (a carrier's event moves the
    shipment with no one acting, so those steps are the events themselves), oldest first.
    No staff names: this is the customer's view."""
    codes = dict(TrackingEvent.Code.choices)
    rows = [(e.occurred_at, codes.get(e.code, e.code)) for e in shipment.events.all()]
    rows += [(t.at, STEP_LABELS.get(t.transition, t.transition)) for t in shipment.transitions.all() if t.by_id is not None]
    return sorted(rows, key=lambda row: row[0])


def shipment_item(shipment: Shipment) -> selfservice.Item:
    is_open = shipment.status not in support.CLOSED_STATES
    refusal = support.support_refusal(shipment, support.APPOINTMENT)
    carrier = shipment.carrier.name if shipment.carrier_id else _("to be assigned")
    fields = [
        (_("Order"), f"#{shipment.order_id} {shipment.order.product.name}"),
        (_("Carrier"), carrier),
        (_("Tracking number"), shipment.tracking_number or _("to be assigned")),
        (_("Appointment"), _appointment(shipment) or _("to be agreed")),
    ]
    if shipment.status == "delivered" and shipment.delivered_at:
        fields.append((_("Delivered"), timezone.localtime(shipment.delivered_at).strftime("%Y-%m-%d %H:%M")))
    return selfservice.Item(
        kind="shipment", id=shipment.pk,
        title=_("Delivery of order #%(order)s") % {"order": shipment.order_id},
        state=shipment.get_status_display(), state_code=shipment.status, open=is_open, at=shipment.created_at,
        fields=fields,
        data={
            "order": shipment.order_id, "carrier": shipment.carrier.code if shipment.carrier_id else "",
            "carrier_name": shipment.carrier.name if shipment.carrier_id else "", "tracking_number": shipment.tracking_number,
            "appointment_date": shipment.appointment_date, "appointment_slot": shipment.appointment_slot,
            "amount_due": f"{shipment.amount_due:.2f}", "delivered_at": shipment.delivered_at,
        },
        events=_progress(shipment),
        refs={"order": shipment.order_id},
        actions=[CHANGE_APPOINTMENT] if not refusal else [],
        note=refusal if is_open else "",
    )


def _shipments(customer):
    return (
        Shipment.objects.filter(order__customer=customer)
        .select_related("order__product", "carrier")
        .prefetch_related(
            Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id")),
            Prefetch("transitions", queryset=ShipmentTransition.objects.order_by("at", "id")),
        )
        .order_by("-created_at", "-id")
    )


def shipments_items(customer, open_only: bool) -> list[selfservice.Item]:
    shipments = _shipments(customer)
    if open_only:
        shipments = shipments.exclude(status__in=support.CLOSED_STATES)
    return [shipment_item(s) for s in shipments[:RECENT]]


def shipment_item_of(customer, shipment_id: int) -> selfservice.Item | None:
    shipment = _shipments(customer).filter(pk=shipment_id).first()
    return shipment_item(shipment) if shipment else None


@transaction.atomic
def change_appointment(request: selfservice.ActionRequest, shipment_id: int, data: dict) -> str:
    """Only the customer's own shipment (else DoesNotExist: 404); the support service refuses the rest."""
    if not Shipment.objects.filter(pk=shipment_id, order__customer=request.customer).exists():
        raise Shipment.DoesNotExist
    shipment = support.shipment_change_appointment(
        shipment_id=shipment_id, date=data["date"], slot=data["slot"], by=selfservice.selfservice_user(),
    )
    with translation.override(settings.LANGUAGE_CODE):  # the record is read by staff
        selfservice.selfservice_contact(
            request=request, reason=_("Changed the delivery appointment"), target=shipment,
            label=_("Shipment of order #%(order)s") % {"order": shipment.order_id},
            business=_("Delivery"), notes=_appointment(shipment),
        )
    return _("The delivery of order #%(order)s is now on %(when)s. An SMS confirms it.") % {
        "order": shipment.order_id, "when": _appointment(shipment)}


def _initial(item: selfservice.Item) -> dict:
    return {"date": item.data.get("appointment_date"), "slot": item.data.get("appointment_slot") or Order.Slot.AFTERNOON}


def register() -> None:
    selfservice.register_section(selfservice.Section(
        key="shipments", title=pgettext_lazy("self-service section", "Deliveries"), items=shipments_items, item=shipment_item_of,
        empty_text=gettext_lazy("No deliveries."), order=20,
    ))
    selfservice.register_action(selfservice.Action(
        key=CHANGE_APPOINTMENT, label=gettext_lazy("Change the delivery appointment"), form_class=AppointmentForm,
        run=change_appointment, section="shipments", initial=_initial, submit_label=gettext_lazy("Save the new appointment"),
    ))
    selfservice.require_permissions("delivery.support_shipment")


register()
