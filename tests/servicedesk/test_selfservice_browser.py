"""The web self-service hall on a phone, in real Chromium: sign in with the SMS code, see an order and its
shipment, change the delivery appointment, rate the callback; never a horizontal scrollbar."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from complaints.models import Callback, Complaint, ComplaintStatus
from delivery.models import Shipment, ShipmentStatus
from servicedesk.models import Channel, Contact, SmsMessage
from servicedesk.otp import SELFSERVICE_CODE
from tests.delivery.support_helpers import make_shipment
from tests.factories import CallbackFactory, ComplaintFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINE = "13912345678"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


def assert_fits_the_screen(page):
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_a_customer_signs_in_on_a_phone_follows_the_delivery_changes_it_and_rates_the_callback(phone):
    # given a customer whose SIM is with the carrier, and whose complaint waits for its callback
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=LINE)
    complaint = ComplaintFactory(customer=shipment.order.customer, status=ComplaintStatus.CALLBACK, resolution="Replaced the router")
    callback = CallbackFactory(complaint=complaint)
    new_day = timezone.localdate() + timedelta(days=4)
    page = phone

    # when the customer opens the hall, it asks for the number first
    page.goto(page.base_url + "/self/")
    page.wait_for_url("**/self/sign-in/")
    assert_fits_the_screen(page)
    page.fill("#id_number", "139 1234 5678")
    page.click("[data-testid=send-code]")

    # then a code arrives by SMS and the code page opens
    page.wait_for_url("**/self/code/")
    expect(page.locator(".messages")).to_contain_text("139****5678")
    assert_fits_the_screen(page)
    message = SmsMessage.objects.get(to_number=LINE, template=SELFSERVICE_CODE)
    code = re.search(r"\d{6}", message.body).group(0)
    page.fill("#id_code", code)
    page.click("[data-testid=verify-code]")

    # then the customer sees their order and its delivery
    page.wait_for_url(page.base_url + "/self/")
    order_card = page.locator(f"[data-testid=order-{shipment.order_id}]")
    expect(order_card.locator("[data-testid=state]")).to_have_text("Handed to delivery")
    shipment_card = page.locator(f"[data-testid=shipment-{shipment.pk}]")
    expect(shipment_card.locator("[data-testid=state]")).to_have_text("Handed to carrier")
    expect(shipment_card).to_contain_text(shipment.tracking_number)
    expect(shipment_card).to_contain_text("SF Express")
    assert_fits_the_screen(page)

    # and the order's own page shows the shipment with its progress
    order_card.locator("h3 a").click()
    page.wait_for_url(f"**/self/orders/{shipment.order_id}/")
    expect(page.locator(f"[data-testid=shipment-{shipment.pk}] [data-testid=events]")).to_contain_text("Handed to the carrier")
    assert_fits_the_screen(page)
    page.go_back()
    page.wait_for_url(page.base_url + "/self/")

    # when the customer moves the delivery to another day in the evening
    change = page.locator(f"[data-testid=shipment-{shipment.pk}] [data-testid='action-delivery.appointment']")
    change.locator("summary").click()
    assert_fits_the_screen(page)
    change.locator("input[type=date]").fill(new_day.isoformat())
    change.locator("select").select_option("evening")
    change.locator("button[type=submit]").click()

    # then the hall confirms it and shows the new appointment
    page.wait_for_url(page.base_url + "/self/")
    expect(page.locator(".messages")).to_contain_text("An SMS confirms it")
    expect(page.locator(f"[data-testid=shipment-{shipment.pk}]")).to_contain_text(f"{new_day:%Y-%m-%d} 18:00–21:00")

    # when the customer rates the callback: 5, solved
    rate = page.locator(f"[data-testid=complaint-{complaint.pk}] [data-testid='action-complaints.rate']")
    rate.locator("summary").click()
    rate.locator("label.choice", has_text="5").click()
    rate.locator("label.choice", has_text="Yes").click()
    assert_fits_the_screen(page)
    rate.locator("button[type=submit]").click()

    # then the complaint is closed with the score, and no rating is offered any more
    page.wait_for_url(page.base_url + "/self/")
    expect(page.locator(".messages")).to_contain_text("Thank you for your rating")
    expect(page.locator(f"[data-testid=complaint-{complaint.pk}] [data-testid=state]")).to_have_text("Closed")
    expect(page.locator("[data-testid='action-complaints.rate']")).to_have_count(0)
    assert_fits_the_screen(page)

    # and everything was recorded: the appointment, the score, two web-hall contacts on the customer
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.appointment_date, shipment.appointment_slot) == (new_day, "evening")
    callback = Callback.objects.get(pk=callback.pk)
    assert (callback.satisfaction, callback.solved) == (5, True)
    assert Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.CLOSED
    assert Contact.objects.filter(channel=Channel.WEB_HALL, customer=shipment.order.customer, agent=None).count() == 2

    # when the customer signs out, the hall asks for the number again
    page.click("[data-testid=sign-out]")
    page.wait_for_url("**/self/sign-in/")
    page.goto(page.base_url + "/self/")
    page.wait_for_url("**/self/sign-in/")
