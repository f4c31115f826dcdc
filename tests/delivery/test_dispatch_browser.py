"""Dispatch in real Chromium: a delivery clerk takes an accepted SIM order from the pick list to the
customer's door, and billing completes the order once the delivery is recorded."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from delivery.models import Shipment, ShipmentStatus
from orders.models import Order, OrderStatus
from tests.delivery.stock_helpers import stock_for
from tests.factories import CarrierFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_ships_an_accepted_sim_order_from_the_pick_list_to_delivery_with_cash(page, login, accepted_order):
    # given an accepted SIM order whose SIM a hall holds, and the carrier the rules prefer for SIMs
    UserFactory(username="dispatch1", roles=["delivery_clerk"], first_name="Hui", last_name="Chen")
    CarrierFactory(name="EMS", serves=["sim"], priority=5)
    CarrierFactory(name="SF Express", serves=["sim"], priority=1, promised_hours=24)
    customer = CustomerFactory(name="王芳")
    product = ProductFactory(sim=True, name="5G SIM 129", price=Decimal("50.00"))
    hall = stock_for(product, area=customer.area)
    order = accepted_order(product=product, customer=customer)

    # when the clerk opens dispatch: the order is on the pick list, with its hall and the carrier the rules give it
    login("dispatch1")
    page.goto(page.base_url + "/delivery/dispatch/")
    row = page.locator(f"[data-testid=pick-list] tr[data-order='{order.pk}']")
    expect(row).to_contain_text("王芳")
    expect(row.locator("[data-testid=hall]")).to_have_text(hall.name)
    expect(row.locator("[data-testid=rule-carrier]")).to_contain_text("SF Express")

    # and creates its shipment
    row.locator("[data-testid=create-shipment]").click()

    # then the shipment's page opens, with that carrier
    shipment = Shipment.objects.get(order=order)
    page.wait_for_url(f"**/delivery/dispatch/shipments/{shipment.pk}/")
    expect(page.locator(".messages")).to_contain_text("the rules chose SF Express")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Created")
    expect(page.locator("[data-testid=carrier]")).to_contain_text("SF Express")

    # when the clerk picks it, hands it to the carrier without a waybill number and sends it out
    page.click("[data-testid=pick]")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Picked")
    page.click("[data-testid=hand-over]")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Handed to carrier")
    expect(page.locator("[data-testid=tracking-number]")).to_have_text(f"SD{shipment.pk:010d}")
    page.click("[data-testid=out]")
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Out for delivery")

    # and records the delivery: signed, ID checked, the amount due collected in cash
    expect(page.locator("#deliver_amount_collected")).to_have_value("50.00")
    expect(page.locator("#deliver_payment_method_0")).to_be_checked()
    page.fill("#deliver_signed_by", "王芳")
    page.check("#deliver_id_checked")
    page.click("[data-testid=deliver]")

    # then the page shows it delivered, the money collected, and who did each step
    expect(page.locator("[data-testid=shipment-status]")).to_have_text("Delivered")
    expect(page.locator("[data-testid=collected]")).to_contain_text("¥50.00 Cash")
    expect(page.locator("[data-testid=no-steps]")).to_be_visible()
    expect(page.locator("[data-testid=history]")).to_contain_text("Hui Chen")

    # and billing, run on commit, has activated and completed the order
    page.reload()
    expect(page.locator("[data-testid=order-status]")).to_have_text("Completed")
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.status, shipment.amount_collected, shipment.payment_method) == (ShipmentStatus.DELIVERED, Decimal("50.00"), "cash")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED

    # and the order has left the pick list; nothing is under way
    page.goto(page.base_url + "/delivery/dispatch/")
    expect(page.locator("[data-testid=pick-list-empty]")).to_be_visible()
    expect(page.locator("[data-testid=under-way-empty]")).to_be_visible()
