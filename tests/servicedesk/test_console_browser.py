"""The agent's core loop in real Chromium: log in, find the caller, record the contact."""
import pytest

from servicedesk.models import Contact
from tests.factories import ContactFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_finds_caller_by_number_and_records_a_contact(page, login):
    # given an agent and a caller with an earlier contact
    UserFactory(username="agent7", roles=["agent"])
    subscription = SubscriptionFactory(service_number="13912345678", customer__name="Wang Fang", customer__vip_tier="gold")
    ContactFactory(customer=subscription.customer, reason="Roaming question", service_number="13912345678")

    # when the agent searches the number with the keyboard only
    login("agent7")
    page.keyboard.press("/")
    page.keyboard.type("139 1234 5678")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/*/**")

    # then the whole customer is on one screen, ID masked for the agent's role
    assert page.locator("#customer-name").inner_text().startswith("Wang Fang")
    assert "**********" in page.locator("[data-testid=id-number]").inner_text()
    assert "Roaming question" in page.locator("#glance").inner_text()

    # when the agent records the contact in a few keystrokes
    page.keyboard.press("n")
    page.keyboard.type("Wants a 5G plan")
    page.select_option("#id_outcome", "opportunity")
    page.focus("#id_reason")
    page.keyboard.press("Control+Enter")

    # then it shows at the top of the timeline at once, without a page load
    page.wait_for_selector("text=Contact recorded.")
    first = page.locator("#timeline .entry").first
    assert "Wants a 5G plan" in first.inner_text()
    assert "Opportunity" in first.inner_text()
    assert "Wants a 5G plan" in page.locator("#glance").inner_text()
    saved = Contact.objects.get(reason="Wants a 5G plan")
    assert saved.customer == subscription.customer
    assert saved.service_number == "13912345678"
    assert saved.agent.username == "agent7"


def test_invalid_contact_shows_the_error_and_saves_nothing(page, login):
    UserFactory(username="agent8", roles=["agent"])
    subscription = SubscriptionFactory(service_number="13912340000")
    login("agent8")
    page.goto(page.base_url + f"/customers/{subscription.customer_id}/")

    # the browser's own checks are bypassed to prove the server refuses too
    page.evaluate("document.getElementById('id_reason').removeAttribute('required')")
    page.click("#contact-form button[type=submit]")

    page.wait_for_selector("#contact-form .error")
    assert "required" in page.locator("#contact-form").inner_text().lower()
    assert Contact.objects.count() == 0


def test_chinese_interface(page, login):
    UserFactory(username="agent9", roles=["agent"])
    login("agent9")
    with page.expect_navigation():
        page.select_option("#lang", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "查找来电客户" in page.locator("h1").inner_text()
    # and the choice sticks for the next page
    page.goto(page.base_url + "/scripts/")
    assert "话术" in page.locator("h1").inner_text()
