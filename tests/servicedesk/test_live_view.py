"""The duty manager's live view: contacts per channel per local hour, today against yesterday."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from servicedesk.models import Channel, Contact
from servicedesk.selectors_channels import channels_live, contacts_awaiting_agent, contacts_per_channel_per_hour

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 3, 10)
NOW = datetime(2025, 3, 10, 10, 30, tzinfo=SHANGHAI)  # 02:30 UTC


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def contact(started_at: datetime, channel: str = Channel.HOTLINE, **fields) -> Contact:
    return Contact.objects.create(channel=channel, reason="Balance query", started_at=started_at, **fields)


def cell(table, hour: int, channel: str) -> int:
    column = [value for value, _label in table.channels].index(channel)
    return next(row.counts[column] for row in table.rows if row.hour == hour)


def test_contacts_are_counted_per_channel_and_local_hour():
    # given contacts through three channels this morning
    contact(at(TODAY, 9, 5), Channel.HOTLINE)
    contact(at(TODAY, 9, 59), Channel.HOTLINE)
    contact(at(TODAY, 9, 30), Channel.SMS_HALL)
    contact(at(TODAY, 10, 0), Channel.WEB_HALL)

    # when
    yesterday, today = contacts_per_channel_per_hour(first_day=TODAY - timedelta(days=1), last_day=TODAY, now=NOW)

    # then each lands in its hour and channel, with totals per row, per column and overall
    assert cell(today, 9, "hotline") == 2 and cell(today, 9, "sms_hall") == 1 and cell(today, 10, "web_hall") == 1
    assert [row.total for row in today.rows if row.total] == [3, 1]
    assert today.totals[[v for v, _l in today.channels].index("hotline")] == 2
    assert today.total == 4 and yesterday.total == 0


def test_today_has_rows_up_to_the_current_hour_and_yesterday_all_24():
    yesterday, today = contacts_per_channel_per_hour(first_day=TODAY - timedelta(days=1), last_day=TODAY, now=NOW)

    assert [row.hour for row in today.rows] == list(range(11))
    assert [row.hour for row in yesterday.rows] == list(range(24))
    assert [value for value, _label in today.channels] == Channel.values


@pytest.mark.parametrize(("started_at", "day", "hour"), [
    (at(TODAY - timedelta(days=1), 23, 59), "yesterday", 23),  # 15:59 UTC the day before
    (at(TODAY, 0, 0), "today", 0),                             # 16:00 UTC the day before
    (at(TODAY, 7, 59), "today", 7),                            # 23:59 UTC the day before
    (at(TODAY, 8, 0), "today", 8),                             # 00:00 UTC
    (at(TODAY - timedelta(days=1), 0, 0), "yesterday", 0),
])
def test_the_day_and_hour_are_shanghai_time_across_midnight(started_at, day, hour):
    # given one contact near a local or UTC midnight
    contact(started_at, Channel.SMS_HALL)

    # when
    tables = dict(zip(["yesterday", "today"],
                      contacts_per_channel_per_hour(first_day=TODAY - timedelta(days=1), last_day=TODAY, now=NOW)))

    # then it is in that local day's hour row, and in no other
    assert cell(tables[day], hour, "sms_hall") == 1
    assert sum(t.total for t in tables.values()) == 1


@pytest.mark.parametrize("started_at", [
    at(TODAY - timedelta(days=2), 23, 59),  # the day before yesterday
    at(TODAY, 10, 31),                      # after "now"
])
def test_contacts_outside_the_range_are_not_counted(started_at):
    contact(started_at)

    tables = contacts_per_channel_per_hour(first_day=TODAY - timedelta(days=1), last_day=TODAY, now=NOW)

    assert [t.total for t in tables] == [0, 0]


def test_the_counts_are_one_grouped_query(django_assert_num_queries):
    for hour in range(5):
        contact(at(TODAY, hour), Channel.IVR)
        contact(at(TODAY - timedelta(days=1), hour), Channel.APP_HALL)

    with django_assert_num_queries(1):
        yesterday, today = contacts_per_channel_per_hour(first_day=TODAY - timedelta(days=1), last_day=TODAY, now=NOW)

    assert (yesterday.total, today.total) == (5, 5)


def test_awaiting_agent_counts_only_contacts_still_waiting():
    contact(at(TODAY, 8), Channel.SMS_HALL, awaiting_agent=True)
    contact(at(TODAY, 9), Channel.SMS_HALL, awaiting_agent=True)
    contact(at(TODAY, 9), Channel.SMS_HALL)

    awaiting = contacts_awaiting_agent()

    assert awaiting.count == 2
    assert awaiting.oldest == at(TODAY, 8)


def test_the_chart_has_todays_hours_so_far_against_all_of_yesterdays():
    contact(at(TODAY, 10, 10))
    contact(at(TODAY - timedelta(days=1), 22))

    chart = channels_live(now=NOW).chart

    assert chart["labels"][0] == "00" and len(chart["labels"]) == 24
    assert chart["today"][10] == 1 and chart["today"][11] is None
    assert chart["yesterday"][22] == 1 and len(chart["yesterday"]) == 24


# --- the page ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [
    ("manager", 200), ("admin", 200), ("agent", 403), ("back_office", 403), ("area_manager", 403), ("complaint_handler", 403),
])
def test_only_managers_and_administrators_see_the_live_view(client, make_user, role, status):
    client.force_login(make_user(role))

    assert client.get(reverse("console:channels_live")).status_code == status


def test_the_live_view_needs_a_login(client):
    response = client.get(reverse("console:channels_live"))

    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.fixture
def manager_client(client, make_user):
    client.force_login(make_user("manager"))
    return client


def test_the_page_shows_todays_and_yesterdays_tables_and_refreshes_itself(manager_client):
    contact(timezone.now(), Channel.WEB_HALL)
    contact(timezone.now(), Channel.SMS_HALL, awaiting_agent=True)

    response = manager_client.get(reverse("console:channels_live"))

    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "<html" in html and 'data-testid="hours-today"' in html and 'data-testid="hours-yesterday"' in html
    assert 'hx-trigger="every 30s"' in html and 'hx-get="/channels/live/"' in html
    assert "vendor/chart.umd.min.js" in html and 'id="channels-live-data"' in html
    assert response.context["live"].today.total == 2
    assert 'data-testid="awaiting-count">1<' in html
    assert "Live channels" in html  # the nav link


def test_an_htmx_refresh_gets_only_the_figures(manager_client):
    contact(timezone.now(), Channel.IVR)

    response = manager_client.get(reverse("console:channels_live"), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "chart.umd.min.js" not in html
    assert html.lstrip().startswith('<div id="channels-live"') and 'hx-swap="outerHTML"' in html
    assert response.context["live"].today.total == 1


def test_the_page_puts_a_contact_at_2359_yesterday_in_yesterdays_23h_row(manager_client, monkeypatch):
    # given it is 00:10 in Shanghai, and a contact came in at 23:59 local yesterday
    contact(at(TODAY - timedelta(days=1), 23, 59), Channel.HOTLINE)
    monkeypatch.setattr(timezone, "now", lambda: at(TODAY, 0, 10))

    # when the page is asked for
    live = manager_client.get(reverse("console:channels_live")).context["live"]

    # then it is yesterday's 23:00 row, and today only has its 00:00 row, empty
    assert cell(live.yesterday, 23, "hotline") == 1
    assert [(row.hour, row.total) for row in live.today.rows] == [(0, 0)]


@pytest.mark.postgres
@pytest.mark.parametrize("read", ["per_hour", "awaiting"])
def test_the_live_view_reads_through_indexes_not_a_scan_of_contact(read):
    # given enough contacts over three weeks that the planner's choice means something
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO servicedesk_contact (channel, service_number, reason, business, outcome, notes, started_at, awaiting_agent)"
            " SELECT (ARRAY['hotline','ivr','web_hall','app_hall','sms_hall'])[1 + i % 5], '', 'r', '', 'resolved', '',"
            " now() - (i || ' seconds')::interval * 60, i % 997 = 0 FROM generate_series(1, 30000) AS i"
        )
        cursor.execute("ANALYZE servicedesk_contact")

    # when the view's own query is run
    with CaptureQueriesContext(connection) as queries:
        if read == "per_hour":
            channels_live_tables()
        else:
            contacts_awaiting_agent()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # then PostgreSQL reads an index of contact, not the whole table
    assert "Seq Scan on servicedesk_contact" not in plan, plan
    expected = ["contact_awaiting_idx"] if read == "awaiting" else ["contact_time_idx", "contact_channel_time_idx"]
    assert any(f"using {index} " in plan for index in expected), plan


def channels_live_tables():
    today = timezone.localdate()
    return contacts_per_channel_per_hour(first_day=today - timedelta(days=1), last_day=today, now=timezone.now())


@pytest.mark.browser
def test_the_live_page_draws_its_chart_and_refreshes_in_a_browser(page, login, make_user):
    # given a manager and a contact this hour
    make_user("manager", username="duty1")
    contact(timezone.now(), Channel.SMS_HALL)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # when the manager opens the live view and HTMX asks for the figures again
    login("duty1")
    page.goto(page.base_url + reverse("console:channels_live"))
    page.wait_for_function("() => window.Chart && Chart.getChart('channels-live-chart')")
    contact(timezone.now(), Channel.WEB_HALL)
    # the request the 30 s timer makes
    page.evaluate("() => htmx.ajax('GET', document.querySelector('#channels-live').getAttribute('hx-get'),"
                  " {target: '#channels-live', swap: 'outerHTML'})")

    # then the table shows the new contact and the chart is drawn again on the fresh canvas
    page.wait_for_function("() => document.querySelector('[data-testid=hours-today] tfoot td:last-child').textContent.trim() === '2'")
    page.wait_for_function("() => Chart.getChart('channels-live-chart') !== undefined")
    assert errors == []
