"""Reads of the delivery support desk: finding a shipment from what the customer quotes, and
everything its page shows (history, SMS sent, what can be done now)."""
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order, PoolNumber
from orders.selectors import orders_visible_to
from servicedesk.models import SmsMessage, Subscription
from servicedesk.phones import looks_like_service_number, normalize_service_number
from servicedesk.sms import sms_for_display

from .models import Carrier, Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent
from .services import support

_ORDER_NUMBER = re.compile(r"^#?(\d{1,10})$")
_TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9-]{4,40}$")
# A lookup never gathers more than this many shipments per kind of key.
_MAX_HITS = 200


def shipments_visible_to(user) -> QuerySet[Shipment]:
    orders = orders_visible_to(user)
    if orders.query.has_filters():
        return Shipment.objects.filter(order__in=orders)
    return Shipment.objects.all()


@dataclass(frozen=True)
class ShipmentSearch:
    query: str
    by: list[str] = field(default_factory=list)  # "order", "tracking_number", "service_number": the readings that found something
    shipments: QuerySet[Shipment] = field(default_factory=Shipment.objects.none)
    error: str = ""


def _by_order(number: int) -> list[int]:
    return list(Shipment.objects.filter(order_id=number).values_list("pk", flat=True)[:_MAX_HITS])


def _by_tracking_number(value: str) -> list[int]:
    # The unique index leads with the carrier: asking for every carrier (a handful) lets it serve the lookup.
    carriers = list(Carrier.objects.values_list("pk", flat=True))
    numbers = sorted({value, value.upper()})
    return list(Shipment.objects.filter(carrier_id__in=carriers, tracking_number__in=numbers).values_list("pk", flat=True)[:_MAX_HITS])


def _by_service_number(number: str) -> list[int]:
    """The shipments of the customers holding the line, and of the order that sells it as a new number."""
    customers = list(Subscription.objects.filter(service_number=number).values_list("customer_id", flat=True))
    pool_numbers = list(PoolNumber.objects.filter(number=number).values_list("pk", flat=True))
    if not customers and not pool_numbers:
        return []
    orders = Order.objects.filter(Q(customer_id__in=customers) | Q(pool_number_id__in=pool_numbers)).values_list("pk", flat=True)
    return list(Shipment.objects.filter(order_id__in=list(orders[:_MAX_HITS])).values_list("pk", flat=True)[:_MAX_HITS])


def shipment_search(*, user, query: str) -> ShipmentSearch:
    """One search box: an order number (``123`` or ``#123``), a tracking number, or a service number
    (the customer's line or the new number an order sells). Every reading the text allows is tried."""
    query = (query or "").strip()[:60]
    if not query:
        return ShipmentSearch("")
    readings: dict[str, list[int]] = {}
    understood = False
    order_match = _ORDER_NUMBER.match(query)
    if order_match and int(order_match.group(1)) <= 2**31 - 1:
        understood = True
        readings["order"] = _by_order(int(order_match.group(1)))
    if _TRACKING_NUMBER.match(query):
        understood = True
        readings["tracking_number"] = _by_tracking_number(query)
    number_error = ""
    if looks_like_service_number(query):
        try:
            number = normalize_service_number(query)
        except ValidationError as exc:
            number_error = exc.messages[0]
        else:
            understood = True
            readings["service_number"] = _by_service_number(number)
    if not understood:
        return ShipmentSearch(query, error=number_error or _("Enter an order number, a tracking number or a service number."))
    ids = {pk for hits in readings.values() for pk in hits}
    shipments = (
        shipments_visible_to(user).filter(pk__in=ids)
        .select_related("order__customer", "order__product", "carrier")
        .order_by("-created_at", "-id")
    )
    return ShipmentSearch(query, by=[kind for kind, hits in readings.items() if hits], shipments=shipments)


def shipment_for_desk(*, user, shipment_id: int) -> Shipment:
    return (
        shipments_visible_to(user)
        .select_related("order__customer", "order__product__tariff_plan", "order__pool_number", "carrier", "warehouse")
        .prefetch_related(
            Prefetch("transitions", queryset=ShipmentTransition.objects.select_related("by").order_by("at", "id")),
            Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id")),
        )
        .get(pk=shipment_id)
    )


STEP_LABELS = {
    "create": gettext_lazy("Shipment created"), "pick": gettext_lazy("Picked"), "hand_to_carrier": gettext_lazy("Handed to the carrier"),
    "go_out_for_delivery": gettext_lazy("Out for delivery"), "deliver": gettext_lazy("Delivered"), "fail": gettext_lazy("Delivery failed"),
    "return_to_stock": gettext_lazy("Returned to stock"), "cancel": gettext_lazy("Cancelled"), "assign_carrier": gettext_lazy("Carrier assigned"),
    "change_appointment": gettext_lazy("Appointment changed"), "request_urgent_activation": gettext_lazy("Urgent activation requested"),
}


def shipment_history(shipment: Shipment) -> list[dict]:
    """The steps recorded on our side and the events the carrier reported, oldest first."""
    states = dict(ShipmentStatus.choices)
    codes = dict(TrackingEvent.Code.choices)
    rows = [
        {
            "at": t.at, "source": "step", "what": str(STEP_LABELS.get(t.transition, t.transition)),
            "who": (t.by.get_full_name() or t.by.username) if t.by else "",
            "state": states.get(t.to_state, t.to_state), "note": t.reason,
        }
        for t in shipment.transitions.all()
    ]
    rows += [
        {
            "at": e.occurred_at, "source": "event", "what": codes.get(e.code, e.code), "who": shipment.carrier.name if shipment.carrier_id else "",
            "state": "", "note": "" if e.applied else _("not applied (older or repeated)"),
        }
        for e in shipment.events.all()
    ]
    return sorted(rows, key=lambda r: r["at"])


def shipment_sms(*, shipment: Shipment, user, limit: int = 50) -> list[dict]:
    """The notices sent about this shipment (index sms_customer_idx, then their key), newest first."""
    if not user.has_perm("servicedesk.view_smsmessage"):
        return []
    messages = (
        SmsMessage.objects.filter(customer_id=shipment.order.customer_id, key__startswith=f"shipment:{shipment.pk}:")
        .order_by("-created_at", "-id")[:limit]
    )
    return [sms_for_display(m, user) for m in messages]


def shipment_support_actions(*, shipment: Shipment, user) -> tuple[list[str], dict[str, str]]:
    """The actions the user may take now, and, for those the role holds but the state forbids, why not."""
    possible, not_now = [], {}
    for action in support.ACTIONS:
        if not support.may(user, action):
            continue
        why = support.support_refusal(shipment, action)
        if why:
            not_now[action] = why
        else:
            possible.append(action)
    return possible, not_now
