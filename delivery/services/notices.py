"""SMS notices to the customer about a shipment: before delivery, on failure, after activation,
and when the appointment changes.

``shipment_notice(shipment=..., kind=...)`` is called by the shipment services
inside the transaction of the change it tells about. The text is the editable
``SmsTemplate`` of the notice (``delivery.notice_templates``); sending goes
through ``servicedesk.sms`` and so through the outbox, after commit. A notice
has the key ``shipment:<id>:<kind>:<attempt>``: asking twice for the same
notice of the same delivery attempt sends one SMS.
"""
from datetime import date

from django.conf import settings
from django.utils import translation

from orders.models import Order
from servicedesk.models import SmsMessage, SmsTemplate, Subscription
from servicedesk.sms import register_template_placeholders, sms_send

from .. import notice_templates as templates
from ..models import Shipment

BEFORE_DELIVERY = "before_delivery"
FAILED = "failed"
ACTIVATED = "activated"
APPOINTMENT_CHANGED = "appointment_changed"

# notice kind -> template code
TEMPLATES = {
    BEFORE_DELIVERY: templates.BEFORE_DELIVERY,
    FAILED: templates.FAILED,
    ACTIVATED: templates.ACTIVATED,
    APPOINTMENT_CHANGED: templates.APPOINTMENT_CHANGED,
}


def register() -> None:
    """Tell the core which placeholders each notice fills (the admin shows and checks them)."""
    for code, placeholders in templates.PLACEHOLDERS.items():
        register_template_placeholders(code, placeholders)


def shipment_notice(*, shipment: Shipment, kind: str, language: str | None = None, key_suffix: str = "") -> SmsMessage | None:
    """Queue the ``kind`` notice for ``shipment`` (one of the constants above); call inside the
    transaction of the change. Returns the message, or None when the customer has no number.

    ``key_suffix`` tells apart notices that may rightly repeat within one attempt
    (each appointment change is one)."""
    if kind not in TEMPLATES:
        raise ValueError(f"unknown shipment notice {kind!r}")
    shipment = (
        Shipment.objects.select_related("order__customer", "order__product__tariff_plan", "order__pool_number", "carrier")
        .get(pk=shipment.pk)
    )
    number = notice_number(shipment.order, kind=kind)
    if not number:
        return None
    language = language or settings.SMS_DEFAULT_LANGUAGE
    code = TEMPLATES[kind]
    if not SmsTemplate.objects.filter(code=code).exists():
        templates.notice_templates_load()
    key = f"shipment:{shipment.pk}:{kind}:{shipment.attempts}" + (f":{key_suffix}" if key_suffix else "")
    return sms_send(
        to_number=number, template=code, context=notice_context(shipment, kind=kind, language=language, number=number),
        language=language, key=key, customer=shipment.order.customer,
    )


def notice_number(order: Order, *, kind: str) -> str:
    """Where the notice goes. The activation notice goes to the line just activated; the others to a
    line the customer already has, since a new SIM cannot receive anything before it is delivered
    and activated; failing both, whichever number the order has."""
    new_line = order.pool_number.number if order.pool_number_id else ""
    existing = order.service_number or (
        Subscription.objects.filter(customer_id=order.customer_id, status=Subscription.Status.ACTIVE)
        .exclude(service_number=new_line).order_by("id").values_list("service_number", flat=True).first()
    ) or ""
    if kind == ACTIVATED:
        return new_line or existing
    return existing or new_line


def _date(day: date | None, language: str) -> str:
    if day is None:
        return ""
    if language.startswith("zh"):
        return f"{day.month}月{day.day}日"
    return f"{day.day} {day:%b} {day.year}"


def notice_context(shipment: Shipment, *, kind: str, language: str, number: str) -> dict:
    order = shipment.order
    fillers = templates.FILLERS.get(language, templates.FILLERS[settings.SMS_DEFAULT_LANGUAGE])
    with translation.override(language):
        window = str(Order.Slot(shipment.appointment_slot).label) if shipment.appointment_slot in Order.Slot.values else ""
    day = shipment.appointment_date or order.appointment_date
    context = {
        "customer": order.customer.name,
        "order": str(order.pk),
        "product": order.product.name,
        "date": _date(day, language),
        "window": window or fillers["window_any"],
        "carrier": shipment.carrier.name if shipment.carrier_id else fillers["carrier_unknown"],
        "tracking": shipment.tracking_number or fillers["tracking_unknown"],
        "amount": f"{shipment.amount_due:.2f}",
        "reason": shipment.failure_reason or fillers["none"],
        "hotline": settings.SMS_HOTLINE,
    }
    if kind == ACTIVATED:
        plan = order.product.tariff_plan
        if plan is None:
            plan = Subscription.objects.filter(service_number=number).select_related("tariff_plan").first()
            plan = plan.tariff_plan if plan else None
        context.update({
            "number": number,
            "tariff": plan.name if plan else fillers["none"],
            "monthly_fee": f"{plan.monthly_fee:.2f}" if plan else "0.00",
            "services": order.product.name,
        })
    return context
