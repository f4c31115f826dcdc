"""The dashboard in real Chromium: a manager reads a KPI, breaks it down by agent and drills into one agent's number."""
import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.kpi.test_views import given_march

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_reads_a_kpi_breaks_it_down_and_drills_into_the_rows_behind_a_number(page, login):
    # given March's complaints, rolled up: first-contact resolution 5 of 7 for the centre, 3 of 4 for Ann
    march = given_march()
    UserFactory(username="boss", roles=["manager"])

    # when the manager opens the dashboard and asks for March
    login("boss")
    page.goto(page.base_url + "/kpi/")
    page.fill("#id_first", "2026-03-01")
    page.fill("#id_last", "2026-03-31")
    page.click("[data-testid=show]")

    # then the first-contact resolution card shows the centre's March figure against its target, and the trend is drawn
    fcr = page.locator("[data-testid=kpi-card-fcr]")
    expect(fcr.locator("[data-testid=kpi-value]")).to_have_text("71.43%")
    expect(fcr.locator("[data-testid=kpi-counts]")).to_have_text("5 of 7")
    expect(fcr.locator("[data-testid=kpi-state]")).to_have_text("Met")
    assert page.evaluate("typeof Chart") == "function"  # Chart.js, served by the app itself

    # when they break the KPIs down by agent and click Ann's first-contact resolution
    page.select_option("#id_dimension", "agent")
    page.click("[data-testid=show]")
    ann_fcr = page.locator(f'[data-testid=breakdown] tr[data-group="{march.ann.pk}"] a[href*="kpi=fcr&"]')
    expect(ann_fcr).to_have_text("75.00%")
    ann_fcr.click()

    # then the drill-down lists exactly Ann's four March complaints, three of them in the numerator
    page.wait_for_url("**/kpi/drill/**")
    expect(page.locator("[data-testid=drill-value]")).to_have_text("75.00%")
    expect(page.locator("[data-testid=drill-numerator]")).to_have_text("3")
    expect(page.locator("[data-testid=drill-denominator]")).to_have_text("4")
    rows = page.locator("[data-testid=drill-rows] tbody tr")
    expect(rows).to_have_count(4)
    listed = sorted(int(rows.nth(n).get_attribute("data-row")) for n in range(4))
    assert listed == sorted(c.pk for c in march.ann_complaints)
