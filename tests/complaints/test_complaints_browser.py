"""A complaint in real Chromium: taken from the customer screen, worked by the department, closed at the callback."""
import pytest
from playwright.sync_api import expect

from complaints.models import Complaint, ComplaintStatus
from tests.factories import ComplaintCategoryFactory, DepartmentFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_takes_a_complaint_the_department_resolves_it_and_the_callback_closes_it(page, login):
    # given an agent, a handler of the network department, a caller and a category with its questions
    network = DepartmentFactory(name="Network")
    UserFactory(username="agent1", roles=["agent"])
    UserFactory(username="handler1", roles=["complaint_handler"], department=network)
    SubscriptionFactory(service_number="13912345678", customer__name="Wang Fang")
    category = ComplaintCategoryFactory(name="No signal", department=network, template="Since when? Indoors or outdoors?")

    # when the agent finds the caller and opens the complaint form from the customer screen
    login("agent1")
    page.keyboard.press("/")
    page.keyboard.type("13912345678")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/*/**")
    page.keyboard.press("c")  # the "New complaint" action's key
    page.wait_for_url("**/complaints/new/**")

    # and picks the category: its questions fill the description (HTMX)
    page.select_option("#id_category", str(category.pk))
    expect(page.locator("#id_description")).to_have_value("Since when? Indoors or outdoors?")
    page.fill("#id_description", "No signal at home since Monday, indoors")
    page.select_option("#id_service_number", "13912345678")
    page.click("[data-testid=submit-complaint]")

    # then the complaint page shows it assigned to the network department
    page.wait_for_url("**/complaints/*/")
    complaint = Complaint.objects.get()
    expect(page.locator("[data-testid=complaint-status]")).to_have_text("Assigned")
    expect(page.locator("[data-testid=department]")).to_have_text("Network")

    # when the handler of the department starts and resolves it
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/**")
    login("handler1")
    page.goto(page.base_url + "/complaints/queue/")
    page.click(f"text=#{complaint.pk} No signal")
    page.click("[data-testid=start]")
    expect(page.locator("[data-testid=complaint-status]")).to_have_text("In progress")
    page.fill("#id_resolution", "Replaced the faulty base-station board")
    page.click("[data-testid=resolve]")

    # then it waits for the callback
    expect(page.locator("[data-testid=complaint-status]")).to_have_text("Callback")

    # when the agent makes the callback: reached, satisfied, solved
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/**")
    login("agent1")
    page.goto(page.base_url + "/complaints/callbacks/")
    page.click(f"[data-callback] >> text=Record result")
    page.check("input[name=reached][value=yes]")
    page.select_option("#id_satisfaction", "5")
    page.select_option("#id_solved", "yes")
    page.click("[data-testid=save-callback]")

    # then the complaint is closed
    expect(page.locator("[data-testid=complaint-status]")).to_have_text("Closed")
    complaint = Complaint.objects.get()
    assert complaint.status == ComplaintStatus.CLOSED
    assert [t.transition for t in complaint.transitions.order_by("id")] == ["take", "assign", "start", "resolve", "await_callback", "close"]
