"""The SMS hall's delivery commands: where is my shipment, confirm or change the appointment.

- ``SHIP [order no. or tracking no.]``: status, carrier, tracking number and appointment;
- ``CONFIRM [order no.]``: the customer confirms the next delivery appointment (recorded as
  a contact linked to the shipment);
- ``CHANGE <date> <time> [order no.]``: a new appointment, through the support desk's own
  service (``support.shipment_change_appointment``), which knows in which states that is
  possible; its refusal is the reply.

Without a number they take the sender's latest live shipment. Only the sender's own
shipments are ever found.
"""
import calendar
import re
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order
from servicedesk.sms_hall import (
    SmsAnswer, SmsMalformed, SmsRequest, join_sentences, not_found_reply, parse_id, register_sms_command,
)

from .models import Shipment, ShipmentStatus
from .services import support

S = ShipmentStatus
LIVE_STATES = (S.CREATED, S.PICKED, S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY, S.FAILED)
SLOTS = {
    "MORNING": Order.Slot.MORNING, "AM": Order.Slot.MORNING, "上午": Order.Slot.MORNING, "早上": Order.Slot.MORNING,
    "AFTERNOON": Order.Slot.AFTERNOON, "PM": Order.Slot.AFTERNOON, "下午": Order.Slot.AFTERNOON,
    "EVENING": Order.Slot.EVENING, "NIGHT": Order.Slot.EVENING, "晚上": Order.Slot.EVENING,
}
RELATIVE_DAYS = {"TODAY": 0, "今天": 0, "TOMORROW": 1, "明天": 1, "后天": 2}
# Chinese words of a CHANGE written without spaces ("明天上午"), cut apart before reading.
_CHINESE_WORDS = re.compile("(" + "|".join(w for w in [*SLOTS, *RELATIVE_DAYS] if not w.isascii()) + ")")
_FULL_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})[-/.](\d{1,2})")
_DAY = re.compile(r"\d{1,2}")


def _ship_usage() -> str:
    return _("Send SHIP for your latest delivery, or SHIP and the order or tracking number.")


def _confirm_usage() -> str:
    return _("Send CONFIRM to confirm your next delivery, or CONFIRM and the order number.")


def _change_usage() -> str:
    return _("Send CHANGE, the date and the time of day, e.g. CHANGE 11-28 morning (morning, afternoon or evening); "
             "add the order number if you have several deliveries.")


# --- Finding the sender's shipment --------------------------------------------------------------

def _shipments(request: SmsRequest):
    return Shipment.objects.filter(order__customer=request.customer).select_related("order__product", "carrier")


def _latest(shipments, *, live_only: bool = False) -> Shipment | None:
    live = shipments.filter(status__in=LIVE_STATES).order_by("-created_at", "-id").first()
    if live is not None or live_only:
        return live
    return shipments.order_by("-created_at", "-id").first()


def _by_order(shipments, order_id: int) -> Shipment | None:
    return shipments.filter(order_id=order_id).order_by("-created_at", "-id").first()


def _for_order_or_latest(request: SmsRequest, order_id: int | None) -> tuple[Shipment | None, str]:
    """The shipment asked about and, when there is none, the reply."""
    shipments = _shipments(request)
    if order_id is not None:
        shipment = _by_order(shipments, order_id)
        return shipment, "" if shipment else not_found_reply()
    shipment = _latest(shipments, live_only=True)
    return shipment, "" if shipment else _("You have no delivery under way.")


# --- Texts ---------------------------------------------------------------------------------------

def appointment_text(shipment: Shipment) -> str:
    if not shipment.appointment_date:
        return ""
    window = shipment.get_appointment_slot_display() if shipment.appointment_slot else ""
    return f"{shipment.appointment_date:%Y-%m-%d} {window}".strip()


def shipment_reply(shipment: Shipment) -> str:
    parts = [_("Delivery of order #%(order)s (%(product)s): %(status)s.") % {
        "order": shipment.order_id, "product": shipment.order.product.name, "status": shipment.get_status_display()}]
    if shipment.carrier_id:
        parts.append(_("Carrier: %(carrier)s.") % {"carrier": shipment.carrier.name})
    if shipment.tracking_number:
        parts.append(_("Tracking number: %(tracking)s.") % {"tracking": shipment.tracking_number})
    if shipment.status in LIVE_STATES and (when := appointment_text(shipment)):
        parts.append(_("Appointment: %(when)s.") % {"when": when})
    if shipment.status == S.FAILED and shipment.failure_reason:
        parts.append(_("The last attempt failed: %(reason)s.") % {"reason": shipment.failure_reason[:100]})
    if shipment.status in (S.CREATED, S.PICKED, S.HANDED_TO_CARRIER, S.FAILED):
        parts.append(_("Send CONFIRM to confirm it or CHANGE with a date and time to move it."))
    return join_sentences(parts)


# --- SHIP ------------------------------------------------------------------------------------------

def shipment_status(request: SmsRequest) -> SmsAnswer:
    if len(request.args) > 1:
        raise SmsMalformed(_ship_usage())
    shipments = _shipments(request)
    if not request.args:
        shipment = _latest(shipments)
        if shipment is None:
            return SmsAnswer(reply=_("You have no deliveries with us."))
        return SmsAnswer(reply=shipment_reply(shipment), target=shipment)
    wanted = request.args[0].lstrip("#").upper()
    if not re.fullmatch(r"[0-9A-Z-]{1,40}", wanted):
        raise SmsMalformed(_ship_usage())
    shipment = None
    if wanted.isdigit() and len(wanted) <= 12:
        shipment = _by_order(shipments, int(wanted))
    if shipment is None:
        shipment = shipments.filter(tracking_number__iexact=wanted).order_by("-created_at", "-id").first()
    if shipment is None:
        return SmsAnswer(reply=not_found_reply())
    return SmsAnswer(reply=shipment_reply(shipment), target=shipment)


# --- CONFIRM ---------------------------------------------------------------------------------------

def appointment_confirm(request: SmsRequest) -> SmsAnswer:
    order_id = parse_id(request.args, usage=_confirm_usage())
    shipment, reply = _for_order_or_latest(request, order_id)
    if shipment is None:
        return SmsAnswer(reply=reply)
    if shipment.status != S.OUT_FOR_DELIVERY and (why := support.support_refusal(shipment, support.APPOINTMENT)):
        return SmsAnswer(reply=why, target=shipment)
    if shipment.status == S.FAILED or not shipment.appointment_date or shipment.appointment_date < timezone.localdate():
        return SmsAnswer(reply=_("Order #%(order)s has no delivery appointment to confirm. %(usage)s") % {
            "order": shipment.order_id, "usage": _change_usage()}, target=shipment)
    return SmsAnswer(
        reply=_("Thank you: delivery of order #%(order)s on %(when)s is confirmed. Have your ID card ready.") % {
            "order": shipment.order_id, "when": appointment_text(shipment)},
        target=shipment,
        contact_reason=gettext_lazy("Appointment confirmed by SMS"),
    )


# --- CHANGE ----------------------------------------------------------------------------------------

def parse_day(raw: str, *, today: date) -> date | None:
    """``2026-11-28``, ``11-28`` (this year, or next once past), ``28`` (this month, or next once
    past), ``tomorrow``/``明天``; None for anything else or a day that does not exist."""
    raw = raw.upper()
    if raw in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[raw])
    try:
        if match := _FULL_DATE.fullmatch(raw):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _MONTH_DAY.fullmatch(raw):
            month, day = int(match.group(1)), int(match.group(2))
            found = date(today.year, month, day)
            return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None
    if _DAY.fullmatch(raw):
        day = int(raw)
        year, month = today.year, today.month
        for _months_ahead in range(3):  # the next month that has this day
            if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
                return date(year, month, day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def parse_change(args: list[str], *, today: date) -> tuple[date, str, int | None]:
    """The day, the time of day and the optional order number of a CHANGE, or SmsMalformed."""
    words = _CHINESE_WORDS.sub(r" \1 ", " ".join(args)).split()
    slot, day_word, rest = "", "", []
    for word in words:
        if not slot and word.upper() in SLOTS:
            slot = SLOTS[word.upper()]
        elif not day_word:
            day_word = word
        else:
            rest.append(word)
    day = parse_day(day_word, today=today) if day_word else None
    if day is None or not slot:
        raise SmsMalformed(_change_usage())
    return day, slot, parse_id(rest, usage=_change_usage())


def appointment_change(request: SmsRequest) -> SmsAnswer:
    day, slot, order_id = parse_change(request.args, today=timezone.localdate())
    shipment, reply = _for_order_or_latest(request, order_id)
    if shipment is None:
        return SmsAnswer(reply=reply)
    # The desk's own service: its refusal (TransitionRefused) or its objection to the date
    # (ValidationError) becomes the reply, and nothing is changed.
    shipment = support.shipment_change_appointment(shipment_id=shipment.pk, date=day, slot=slot, by=request.by)
    return SmsAnswer(
        reply=_("Done: order #%(order)s will be delivered on %(when)s.") % {"order": shipment.order_id, "when": appointment_text(shipment)},
        target=shipment,
        contact_reason=gettext_lazy("Appointment changed by SMS"),
    )


def register() -> None:
    register_sms_command(("SHIP", "物流", "快递", "WL"), shipment_status, gettext_lazy("SHIP [order or tracking no.]: delivery status"),
                         name="ship", pinyin=("WL",))
    register_sms_command(("CONFIRM", "确认", "QR"), appointment_confirm, gettext_lazy("CONFIRM [order no.]: confirm the delivery appointment"),
                         name="confirm", pinyin=("QR",))
    register_sms_command(("CHANGE", "改约", "GG"), appointment_change,
                         gettext_lazy("CHANGE <date> <morning/afternoon/evening> [order no.]: change the delivery appointment"),
                         name="change", pinyin=("GG",))
