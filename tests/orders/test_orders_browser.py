"""Selling and accepting in real Chromium: the agent's sale form and the back-office queue."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Flow, NumberClass, NumberStatus, Order, OrderStatus
from tests.factories import PoolNumberFactory, ProductCategoryFactory, ProductFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = "天津市和平区南京路100号3门501"


def test_agent_sells_a_sim_with_a_number_from_the_pool_a_back_office_clerk_claims_and_accepts_it(page, login):
    # given an agent, a back-office clerk, a caller, a SIM product and numbers in the pool
    UserFactory(username="agent1", roles=["agent"])
    UserFactory(username="clerk1", roles=["back_office"], first_name="Lei", last_name="Zhao")
    subscription = SubscriptionFactory(service_number="13912345678", customer__name="Wang Fang", customer__address=ADDRESS)
    sims = ProductCategoryFactory(name="SIM cards", acceptance_limit_hours=24)
    product = ProductFactory(sim=True, name="5G SIM 129", category=sims, price=Decimal("50.00"))
    ProductFactory(direct=True, name="Fibre 500M")
    PoolNumberFactory(number="18600001234")
    wanted = PoolNumberFactory(number="18600008888", number_class=NumberClass.LUCKY, price=Decimal("88.00"))
    appointment = timezone.localdate() + timedelta(days=2)

    # when the agent finds the caller by number and opens the sale form from the customer screen
    login("agent1")
    page.keyboard.press("/")
    page.keyboard.type("13912345678")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/*/**")
    page.keyboard.press("s")  # the "New sale" action's key
    page.wait_for_url("**/sell/**")

    # and picks the SIM: the number picker and the delivery fields appear, the address pre-filled
    page.select_option("#id_product", str(product.pk))
    page.wait_for_selector("#number-picker")
    assert page.input_value("#id_delivery_address") == ADDRESS
    expect(page.locator("[data-testid=flow-note]")).to_contain_text("Back-office")

    # and looks for a number ending 8888 and picks it
    page.fill("#number-q", "8888")
    expect(page.locator("#number-results")).not_to_contain_text("18600001234")
    expect(page.locator("#number-results")).to_contain_text("Lucky")
    page.check("input[name=pool_number][value='18600008888']")
    page.fill("#id_appointment_date", appointment.isoformat())
    page.select_option("#id_appointment_slot", "afternoon")
    page.click("[data-testid=submit-sale]")

    # then the agent lands on the order and is told which flow it took and what happens next
    page.wait_for_url("**/orders/*/")
    order = Order.objects.get()
    assert "Back-office: the queue accepts order #%d within 24 hours" % order.pk in page.locator(".messages").inner_text()
    expect(page.locator("[data-testid=order-status]")).to_have_text("Submitted")
    assert (order.flow, order.customer_id, order.pool_number_id) == (Flow.BACK_OFFICE, subscription.customer_id, wanted.pk)
    assert (order.delivery_address, order.appointment_date, order.appointment_slot) == (ADDRESS, appointment, "afternoon")
    assert order.price == Decimal("138.00")

    # when a back-office clerk logs in, opens the queue and claims the next order
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/**")
    login("clerk1")
    page.click("nav >> text=Back-office queue")
    expect(page.locator(f"[data-order='{order.pk}']")).to_contain_text("Wang Fang")
    page.click("[data-testid=claim-next]")
    page.wait_for_url(f"**/orders/{order.pk}/")
    expect(page.locator("[data-testid=claim]")).to_contain_text("Lei Zhao")

    # and accepts it
    page.click("[data-testid=accept]")

    # then the clerk is back on the queue with a message, the queue is empty, and the number stays held for the order
    page.wait_for_url("**/back-office/")
    expect(page.locator(".messages")).to_contain_text(f"Order #{order.pk} accepted")
    expect(page.locator(f"[data-order='{order.pk}']")).to_have_count(0)
    order.refresh_from_db()
    wanted.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    assert order.accepted_at is not None and order.claimed_by is None
    assert (wanted.status, wanted.order_id) == (NumberStatus.RESERVED, order.pk)
    assert [t.transition for t in order.transitions.order_by("id")] == ["submit", "accept"]
    assert order.transitions.get(transition="accept").by.username == "clerk1"


def test_sale_form_errors_show_in_place_and_nothing_is_saved(page, login):
    UserFactory(username="agent2", roles=["agent"])
    subscription = SubscriptionFactory(service_number="13912340000")
    product = ProductFactory(sim=True)
    PoolNumberFactory(number="18600008888")
    login("agent2")
    page.goto(page.base_url + f"/customers/{subscription.customer_id}/sell/")
    page.select_option("#id_product", str(product.pk))
    page.wait_for_selector("#number-picker")

    # the agent forgets to pick the number
    page.fill("#id_appointment_date", (timezone.localdate() + timedelta(days=1)).isoformat())
    page.select_option("#id_appointment_slot", "morning")
    page.click("[data-testid=submit-sale]")

    # the form comes back in place (HTMX 422) with the messages; no order, the number still free
    expect(page.locator("#sale-form")).to_contain_text("Pick a number from the pool.")
    expect(page.locator("#id_appointment_slot")).to_have_value("morning")
    assert "/sell/" in page.url
    assert not Order.objects.exists()
