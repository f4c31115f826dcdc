"""The delivery support desk in real Chromium: a clerk finds a shipment by the customer's number,
changes the appointment and sees the SMS that tells the customer."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery.models import Shipment, ShipmentStatus
from orders.models import Order
from servicedesk.models import SmsMessage
from tests.delivery.support_helpers import make_shipment
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINE = "13912345678"


def test_clerk_finds_a_shipment_by_service_number_changes_the_appointment_and_sees_the_sms(page, login):
    # given a delivery clerk and a customer's SIM with the carrier, due tomorrow afternoon
    UserFactory(username="desk1", roles=["delivery_clerk"], first_name="Hui", last_name="Chen")
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=LINE)
    new_day = timezone.localdate() + timedelta(days=4)

    # when the clerk opens the support desk and types the number the customer calls about
    login("desk1")
    page.goto(page.base_url + "/delivery/support/")
    page.fill("#id_q", "139 1234 5678")
    page.keyboard.press("Enter")

    # then the shipment opens: with the carrier, its tracking number and appointment
    page.wait_for_url(f"**/delivery/shipments/{shipment.pk}/")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Handed to carrier")
    expect(page.locator("[data-testid=carrier]")).to_contain_text("SF Express")
    expect(page.locator("[data-testid=tracking-number]")).to_have_text(shipment.tracking_number)
    expect(page.locator("[data-testid=not-now]")).to_contain_text("The carrier already has the shipment")

    # when the customer asks for another day in the evening
    page.fill("#appointment_date", new_day.isoformat())
    page.select_option("#appointment_slot", "evening")
    page.click("[data-testid=change-appointment]")

    # then the page says so and shows the new appointment, in the history too
    page.wait_for_url(f"**/delivery/shipments/{shipment.pk}/")
    expect(page.locator(".messages")).to_contain_text("Appointment changed; the customer gets an SMS confirming it.")
    expect(page.locator("[data-testid=appointment]")).to_contain_text(f"{new_day:%Y-%m-%d} 18:00–21:00")
    expect(page.locator("[data-testid=history]")).to_contain_text("Appointment changed")
    expect(page.locator("[data-testid=history]")).to_contain_text("Hui Chen")

    # and the SMS to the customer's line is listed, sent, with the new date and window
    sms = page.locator("[data-testid=sms] li").first
    expect(sms).to_contain_text(LINE)
    expect(sms).to_contain_text(f"送货时间已改为{new_day.month}月{new_day.day}日 18:00–21:00")
    expect(sms).to_contain_text("Sent")

    # and the shipment, its order and the message agree
    shipment = Shipment.objects.get(pk=shipment.pk)
    order = Order.objects.get(pk=shipment.order_id)
    assert (shipment.appointment_date, shipment.appointment_slot) == (new_day, "evening")
    assert (order.appointment_date, order.appointment_slot) == (new_day, "evening")
    message = SmsMessage.objects.get(template="delivery.appointment_changed")
    assert (message.to_number, message.status) == (LINE, SmsMessage.Status.SENT)


def test_a_refused_action_is_explained_on_the_page(page, login):
    # given a shipment out for delivery whose page the clerk has open, and a colleague who sets the courier off meanwhile
    UserFactory(username="desk2", roles=["delivery_clerk"])
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER)
    login("desk2")
    page.goto(page.base_url + f"/delivery/shipments/{shipment.pk}/")
    from delivery.services import shipments

    shipments.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=UserFactory(roles=["delivery_clerk"]))

    # when the clerk changes the appointment from the stale page
    page.fill("#appointment_date", (timezone.localdate() + timedelta(days=2)).isoformat())
    page.click("[data-testid=change-appointment]")

    # then the page explains why not, and offers what is possible now
    expect(page.locator("[data-testid=refused]")).to_contain_text("The courier is already on the way")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Out for delivery")
    expect(page.locator("[data-testid=refusal]")).to_be_visible()
    expect(page.locator("[data-testid=change-appointment]")).to_have_count(0)
