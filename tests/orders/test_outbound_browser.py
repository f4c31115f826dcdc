"""The outbound agent's loop in real Chromium: the worklist, an attempt, converting a callback into an order."""
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import CallbackAttempt, Opportunity, Order
from tests.factories import OpportunityFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_outbound_agent_works_an_overdue_callback_into_an_order(page, login):
    # given an overdue callback and an upcoming one
    UserFactory(username="outbound7", roles=["outbound"])
    now = timezone.now()
    overdue = OpportunityFactory(callback_at=now - timedelta(hours=1), overdue=True, customer__name="Chen Jing", notes="wants more data")
    subscription = SubscriptionFactory(customer=overdue.customer, service_number="13912345678")
    OpportunityFactory(callback_at=now + timedelta(hours=3), customer__name="Later Lin")

    # when the agent opens the worklist
    login("outbound7")
    page.goto(page.base_url + "/outbound/")

    # then the overdue one is first and marked so
    first = page.locator("[data-testid=callback-row]").first
    assert "Chen Jing" in first.inner_text() and "Overdue" in first.inner_text()
    assert "overdue" in first.get_attribute("class")

    # when the customer does not answer and the agent notes it
    first.locator("a").click()
    page.wait_for_selector("#attempt-form")
    assert "13912345678" in page.locator("[data-testid=numbers]").inner_text()
    page.check("#attempt-form input[value=no_answer]")
    page.fill("#attempt_notes", "rang twice")
    page.click("#attempt-form button[type=submit]")

    # then it is in the history and the callback is now the agent's
    page.wait_for_selector("text=Attempt recorded.")
    assert "rang twice" in page.locator("[data-testid=attempt]").first.inner_text()
    assert CallbackAttempt.objects.get().by.username == "outbound7"

    # when the customer is reached and buys: converted on their line in one action
    page.select_option("#convert_service_number", subscription.service_number)
    page.click("#convert-form button[type=submit]")

    # then the browser lands on the order and the callback is closed
    page.wait_for_url("**/orders/*/")
    order = Order.objects.get()
    assert page.url.endswith(f"/orders/{order.pk}/")
    assert Opportunity.objects.get(pk=overdue.pk).status == Opportunity.Status.CONVERTED
    assert order.service_number == subscription.service_number

