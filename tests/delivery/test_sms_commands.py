"""The SMS hall's delivery commands: SHIP, CONFIRM and CHANGE, on the sender's own shipments only;
CHANGE goes through the support desk's service, whose refusal is the reply."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from delivery.models import Shipment, ShipmentStatus, ShipmentTransition
from delivery.sms_commands import parse_change, parse_day
from orders.models import Order
from servicedesk.models import InboundSms, SmsMessage
from servicedesk.sms_hall import SmsMalformed
from tests.delivery.support_helpers import make_shipment
from tests.factories import SubscriptionFactory
from tests.sms_hall import NUMBER, linked, receive

S = ShipmentStatus
@pytest.fixture
def customer(db):
    return SubscriptionFactory(service_number=NUMBER).customer


# --- SHIP ------------------------------------------------------------------------------------------

def test_ship_alone_answers_about_the_latest_live_shipment(customer):
    # given
    shipment = make_shipment(S.HANDED_TO_CARRIER, customer=customer)
    # when
    inbound = receive("SHIP")
    # then
    assert inbound.outcome == InboundSms.Outcome.ANSWERED
    assert f"order #{shipment.order_id}" in inbound.reply
    assert "Handed to carrier" in inbound.reply
    assert "SF Express" in inbound.reply and shipment.tracking_number in inbound.reply
    assert f"{shipment.appointment_date:%Y-%m-%d}" in inbound.reply
    assert linked(inbound) == shipment


@pytest.mark.parametrize("how", ["order", "tracking", "tracking lower"])
def test_ship_finds_a_shipment_by_order_or_tracking_number(customer, how):
    # given
    wanted = make_shipment(S.OUT_FOR_DELIVERY, customer=customer)
    make_shipment(S.PICKED, customer=customer)
    argument = {"order": str(wanted.order_id), "tracking": wanted.tracking_number, "tracking lower": wanted.tracking_number.lower()}[how]
    # when
    inbound = receive(f"物流 {argument}")
    # then
    assert inbound.language == "zh-hans"
    assert linked(inbound) == wanted


def test_ship_never_tells_about_another_customers_shipment(customer):
    # given
    theirs = make_shipment(S.HANDED_TO_CARRIER)
    # when
    by_order = receive(f"SHIP {theirs.order_id}")
    by_tracking = receive(f"SHIP {theirs.tracking_number}")
    # then
    for inbound in (by_order, by_tracking):
        assert inbound.reply.startswith("Not found")
        assert theirs.tracking_number not in inbound.reply
        assert linked(inbound) is None


def test_ship_without_deliveries_says_so(customer):
    # when
    inbound = receive("WL")
    # then
    assert inbound.reply in ("You have no deliveries with us.", "您没有配送记录。")  # in the language the customer wrote in


@pytest.mark.parametrize("text", ["SHIP a b", "SHIP SF*1"])
def test_a_malformed_ship_gets_the_syntax(customer, text):
    # when
    inbound = receive(text)
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
    assert "SHIP" in inbound.reply


# --- CONFIRM ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.CREATED, S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY])
def test_confirm_records_a_contact_linked_to_the_shipment(customer, status):
    # given
    shipment = make_shipment(status, customer=customer)
    # when
    inbound = receive("CONFIRM")
    # then
    assert inbound.reply.startswith("Thank you: delivery of order")
    assert inbound.contact.reason == "Appointment confirmed by SMS"
    assert linked(inbound) == shipment


def test_confirm_a_delivered_shipment_is_refused_with_the_desks_reason(customer):
    # given
    shipment = make_shipment(S.DELIVERED, customer=customer)
    # when
    inbound = receive(f"CONFIRM {shipment.order_id}")
    # then
    assert "delivered and signed for" in inbound.reply
    assert inbound.contact.reason != "Appointment confirmed by SMS"


def test_confirm_after_a_failed_attempt_asks_for_a_new_date(customer):
    # given
    make_shipment(S.FAILED, customer=customer)
    # when
    inbound = receive("QR")
    # then
    assert "no delivery appointment to confirm" in inbound.reply or "暂无可确认的预约配送时间" in inbound.reply
    assert "CHANGE" in inbound.reply or "改约" in inbound.reply


def test_confirm_another_customers_order_is_not_found(customer):
    # given
    theirs = make_shipment(S.CREATED)
    # when
    inbound = receive(f"CONFIRM {theirs.order_id}")
    # then
    assert inbound.reply.startswith("Not found")


# --- CHANGE: reading the date and time --------------------------------------------------------------

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-11-28", date(2026, 11, 28)),
        ("2026/12/01", date(2026, 12, 1)),
        ("11-28", date(2026, 11, 28)),
        ("1-5", date(2027, 1, 5)),  # past this year: next year
        ("28", date(2026, 11, 28)),
        ("23", date(2026, 11, 23)),
        ("20", date(2026, 12, 20)),  # past this month: next month
        ("31", date(2026, 12, 31)),
        ("tomorrow", date(2026, 11, 24)),
        ("明天", date(2026, 11, 24)),
        ("后天", date(2026, 11, 25)),
        ("2026-02-30", None),
        ("13-01", None),
        ("32", None),
        ("soon", None),
    ],
)
def test_parse_day(raw, expected):
    assert parse_day(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    "args, expected",
    [
        (["11-28", "morning"], (date(2026, 11, 28), "morning", None)),
        (["28", "PM", "1234"], (date(2026, 11, 28), "afternoon", 1234)),
        (["AM", "28"], (date(2026, 11, 28), "morning", None)),
        (["明天上午"], (date(2026, 11, 24), "morning", None)),
        (["11-28", "晚上"], (date(2026, 11, 28), "evening", None)),
    ],
)
def test_parse_change(args, expected):
    assert parse_change(args, today=TODAY) == expected


@pytest.mark.parametrize("args", [[], ["morning"], ["11-28"], ["soon", "morning"], ["11-28", "morning", "x"], ["11-28", "morning", "1", "2"]])
def test_parse_change_refuses_what_is_not_a_change(args):
    with pytest.raises(SmsMalformed):
        parse_change(args, today=TODAY)


# --- CHANGE through the support desk's service ------------------------------------------------------

def test_change_moves_the_appointment_of_shipment_and_order_and_tells_the_customer(customer):
    # given
    shipment = make_shipment(S.HANDED_TO_CARRIER, customer=customer)
    new_day = timezone.localdate() + timedelta(days=3)
    # when
    inbound = receive(f"CHANGE {new_day:%Y-%m-%d} evening")
    # then
    assert inbound.outcome == InboundSms.Outcome.ANSWERED
    assert inbound.reply.startswith(f"Done: order #{shipment.order_id} will be delivered on {new_day:%Y-%m-%d}")
    shipment.refresh_from_db()
    assert (shipment.appointment_date, shipment.appointment_slot) == (new_day, "evening")
    order = Order.objects.get(pk=shipment.order_id)
    assert (order.appointment_date, order.appointment_slot) == (new_day, "evening")
    change = ShipmentTransition.objects.filter(shipment=shipment, transition="change_appointment").get()
    assert change.by is None  # the platform, for the customer
    assert SmsMessage.objects.filter(template="delivery.appointment_changed").exists()
    assert inbound.contact.reason == "Appointment changed by SMS"
    assert linked(inbound) == shipment


def test_change_in_chinese_without_spaces(customer):
    # given
    shipment = make_shipment(S.CREATED, customer=customer)
    # when
    inbound = receive("改约明天上午")
    # then
    shipment.refresh_from_db()
    assert (shipment.appointment_date, shipment.appointment_slot) == (timezone.localdate() + timedelta(days=1), "morning")
    assert inbound.language == "zh-hans"


@pytest.mark.parametrize("status", [S.OUT_FOR_DELIVERY, S.DELIVERED])
def test_change_refused_by_the_desk_replies_its_reason_and_changes_nothing(customer, status):
    # given
    shipment = make_shipment(status, customer=customer)
    before = (shipment.appointment_date, shipment.appointment_slot)
    # when
    inbound = receive(f"CHANGE 28 morning {shipment.order_id}")
    # then
    expected = "courier is already on the way" if status == S.OUT_FOR_DELIVERY else "delivered and signed for"
    assert expected in inbound.reply
    shipment.refresh_from_db()
    assert (shipment.appointment_date, shipment.appointment_slot) == before
    assert not ShipmentTransition.objects.filter(shipment=shipment, transition="change_appointment").exists()


@pytest.mark.parametrize(
    "when, expected",
    [
        (lambda today: f"{today - timedelta(days=1):%Y-%m-%d}", "cannot be in the past"),
        (lambda today: f"{today + timedelta(days=45):%Y-%m-%d}", "at most 30 days ahead"),
    ],
)
def test_change_to_a_date_the_desk_does_not_take_is_refused_with_its_words(customer, when, expected):
    # given
    shipment = make_shipment(S.PICKED, customer=customer)
    # when
    inbound = receive(f"CHANGE {when(timezone.localdate())} morning")
    # then
    assert expected in inbound.reply
    assert Shipment.objects.get(pk=shipment.pk).appointment_date == shipment.appointment_date


def test_change_to_the_same_appointment_says_so(customer):
    # given
    shipment = make_shipment(S.CREATED, customer=customer, appointment_slot="afternoon")
    # when
    inbound = receive(f"CHANGE {shipment.appointment_date:%Y-%m-%d} PM")
    # then
    assert "already the appointment" in inbound.reply


@pytest.mark.parametrize("text", ["CHANGE", "CHANGE morning", "改约 明天", "GG soon evening"])
def test_a_change_without_date_or_time_gets_the_syntax(customer, text):
    # given
    make_shipment(S.CREATED, customer=customer)
    # when
    inbound = receive(text)
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
    assert "CHANGE 11-28 morning" in inbound.reply or "改约11-28上午" in inbound.reply


def test_change_another_customers_order_is_not_found_and_changes_nothing(customer):
    # given
    theirs = make_shipment(S.CREATED)
    before = theirs.appointment_date
    # when
    inbound = receive(f"CHANGE 28 morning {theirs.order_id}")
    # then
    assert inbound.reply.startswith("Not found")
    assert Shipment.objects.get(pk=theirs.pk).appointment_date == before


def test_change_without_a_delivery_says_so(customer):
    # when
    inbound = receive("CHANGE 28 morning")
    # then
    assert inbound.reply == "You have no delivery under way."
