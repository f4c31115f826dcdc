"""The three-level reconciliation of a hall's day in real Chromium: prepare, check, approve."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery.models import DailyReport
from tests.delivery.money_helpers import at, make_shipper, stocked_hall
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_out(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/accounts/login/**")


def test_clerk_prepares_with_a_till_difference_account_clerk_checks_supervisor_approves(page, login, accepted_order):
    # given yesterday's deliveries of a hall: 100.00 in cash and 50.00 by POS
    yesterday = timezone.localdate() - timedelta(days=1)
    hall = stocked_hall(name="Heping hall")
    ship = make_shipper(accepted_order)
    ship(hall, delivered_at=at(yesterday, 10), due="100.00", collected="100.00", method="cash")
    ship(hall, delivered_at=at(yesterday, 15), due="50.00", collected="50.00", method="pos", pos_reference="POS-0042")
    UserFactory(username="clerk1", roles=["delivery_clerk"], first_name="Na", last_name="Liu")
    UserFactory(username="acct1", roles=["account_clerk"], first_name="Jing", last_name="Chen")
    UserFactory(username="super1", roles=["account_supervisor"], first_name="Wei", last_name="Zhang")

    # when the delivery clerk opens the hall's report for yesterday from the list
    login("clerk1")
    page.goto(page.base_url + "/daily-reports/")
    page.select_option("#compile_hall", str(hall.pk))
    page.fill("#compile_day", yesterday.isoformat())
    page.click("[data-testid=compile]")
    page.wait_for_url("**/daily-reports/*/")
    expect(page.locator("[data-testid=report-status]")).to_have_text("Draft")
    expect(page.locator("[data-testid=expected]")).to_have_text("150.00")
    expect(page.locator("[data-testid=deliveries]")).to_contain_text("POS-0042")

    # and counts 98.00 in the till and prepares without explaining: the form says what is missing
    page.fill("#id_counted_cash", "98.00")
    page.click("[data-testid=prepare]")
    expect(page.locator("[data-testid=prepare-form]")).to_contain_text("explain the difference first")
    expect(page.locator("[data-testid=report-status]")).to_have_text("Draft")

    # and then explains it and prepares
    page.fill("#id_counted_cash", "98.00")
    page.fill("#id_explanation", "Courier Wang was short 2 yuan; he pays it back tomorrow.")
    page.click("[data-testid=prepare]")
    expect(page.locator(".messages")).to_contain_text("Report prepared")
    expect(page.locator("[data-testid=report-status]")).to_have_text("Prepared")
    expect(page.locator("[data-testid=difference] .difference")).to_have_text("-2.00")
    report_url = page.url
    log_out(page)

    # when the account clerk opens it, sees the difference and the explanation, and checks it
    login("acct1")
    page.goto(report_url)
    expect(page.locator("[data-testid=explanation]")).to_contain_text("Courier Wang was short 2 yuan")
    page.fill("#verify-note", "Till slip seen")
    page.click("[data-testid=verify]")
    expect(page.locator("[data-testid=report-status]")).to_have_text("Checked")
    log_out(page)

    # when the account supervisor approves it
    login("super1")
    page.goto(report_url)
    page.click("[data-testid=approve]")

    # then the page shows it approved, offers no action, and its history names all three
    expect(page.locator("[data-testid=report-status]")).to_have_text("Approved")
    expect(page.locator("[data-testid=actions] form")).to_have_count(0)
    expect(page.locator("[data-testid=no-action]")).to_be_visible()
    history = page.locator("[data-testid=history]")
    for name in ("Na Liu", "Jing Chen", "Wei Zhang", "Till slip seen"):
        expect(history).to_contain_text(name)
    report = DailyReport.objects.get(hall=hall, day=yesterday)
    assert (report.status, report.counted_cash, report.difference) == ("approved", Decimal("98.00"), Decimal("-2.00"))
    assert [u.username for u in (report.prepared_by, report.checked_by, report.approved_by)] == ["clerk1", "acct1", "super1"]
