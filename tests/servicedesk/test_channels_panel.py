"""The customer screen's "Recent channels" panel: what the caller did where in the last 30 days."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from servicedesk.models import Channel, Contact, Outcome
from servicedesk.selectors_channels import recent_channels, recent_channels_panel
from tests.factories import ContactFactory, CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def contact(customer, channel, *, ago, reason="Balance query", **fields):
    return ContactFactory(customer=customer, channel=channel, reason=reason, agent=None,
                          started_at=timezone.now() - ago, **fields)


@pytest.fixture
def agent(make_user):
    user = make_user("agent")
    user.has_perm("servicedesk.view_contact")  # warm the permission cache: the panel's own reads are counted
    return user


def test_panel_summarises_each_channel_with_the_latest_self_service_contact_first(agent):
    # given a customer who called, then texted the SMS hall twice and used the web hall
    customer = CustomerFactory()
    contact(customer, Channel.WEB_HALL, ago=timedelta(days=1), reason="Change appointment", outcome=Outcome.RESOLVED)
    contact(customer, Channel.SMS_HALL, ago=timedelta(days=3), reason="ORDER 7")
    contact(customer, Channel.SMS_HALL, ago=timedelta(hours=2), reason="ORDER 123", business="Order status")
    contact(customer, Channel.HOTLINE, ago=timedelta(minutes=30), reason="Bill too high", outcome=Outcome.COMPLAINT_OPENED)

    # when the panel is built
    panel = recent_channels_panel(customer, agent)

    # then the latest non-hotline contact comes first and is marked, then the others newest first
    assert [item["channel"] for item in panel.items] == ["sms_hall", "hotline", "web_hall"]
    assert [item["highlight"] for item in panel.items] == [True, False, False]
    sms, hotline, web = panel.items
    assert sms["label"] == "Latest: SMS hall 2\xa0hours ago: ORDER 123 / Order status · 2 in 30 days"
    assert sms["state"] == "Resolved" and sms["count"] == 2
    assert hotline["label"].startswith("Hotline 30\xa0minutes ago: Bill too high")
    assert hotline["state"] == "Complaint opened"
    assert web["label"] == "Web hall 1\xa0day ago: Change appointment · 1 in 30 days"
    assert panel.title == "Recent channels (30 days)" and panel.order < 10


def test_panel_masks_the_service_number_and_numbers_typed_in_the_reason(agent):
    # given an SMS contact about a number, whose text carries another mobile and an ID number
    customer = CustomerFactory()
    contact(customer, Channel.SMS_HALL, ago=timedelta(hours=1), service_number="13812345678",
            reason="13987654321 110101199003071234")

    # when
    label = recent_channels_panel(customer, agent).items[0]["label"]

    # then no whole number is shown
    assert "138****5678" in label and "13812345678" not in label
    assert "139****4321" in label and "13987654321" not in label
    assert "199003071234" not in label


@pytest.mark.parametrize(("reason", "business", "asked"), [
    ("ORDER 123", "ORDER", "ORDER 123"),  # the SMS hall's command keyword is already in the text
    ("Bill too high", "Billing", "Bill too high / Billing"),
    ("A very long question about roaming charges abroad in March", "", "A very long question about roaming char…"),
])
def test_panel_says_what_was_asked_in_short(agent, reason, business, asked):
    customer = CustomerFactory()
    contact(customer, Channel.SMS_HALL, ago=timedelta(hours=1), reason=reason, business=business)

    assert f"ago: {asked} · 1 in 30 days" in recent_channels_panel(customer, agent).items[0]["label"]


def test_panel_shows_a_contact_still_awaiting_an_agent(agent):
    customer = CustomerFactory()
    contact(customer, Channel.SMS_HALL, ago=timedelta(minutes=5), reason="help me", awaiting_agent=True)

    assert recent_channels_panel(customer, agent).items[0]["state"] == "awaiting an agent"


@pytest.mark.parametrize(("ago", "shown"), [
    (timedelta(days=29, hours=23), True),
    (timedelta(days=30, minutes=1), False),
    (timedelta(minutes=-5), False),  # not yet started: a clock skew never shows up as "recent"
])
def test_panel_covers_the_last_30_days(agent, ago, shown):
    customer = CustomerFactory()
    contact(customer, Channel.WEB_HALL, ago=ago)

    panel = recent_channels_panel(customer, agent)

    assert bool(panel.items) is shown
    if not shown:
        assert panel.empty_text == "No contact in the last 30 days."


def test_panel_shows_only_this_customers_contacts(agent):
    customer, other = CustomerFactory(), CustomerFactory()
    contact(other, Channel.SMS_HALL, ago=timedelta(hours=1))
    Contact.objects.create(customer=None, channel=Channel.SMS_HALL, reason="unknown sender")

    assert recent_channels_panel(customer, agent).items == []


def test_panel_is_one_bounded_query(agent, django_assert_num_queries):
    # given more contacts than the panel reads
    customer = CustomerFactory()
    for minutes in range(6):
        contact(customer, Channel.SMS_HALL if minutes % 2 else Channel.WEB_HALL, ago=timedelta(minutes=minutes + 1))

    # when the reads are capped at 4 rows
    with django_assert_num_queries(1):
        activity, capped = recent_channels(customer=customer, limit=4)

    # then the counts say they are a lower bound
    assert capped is True
    assert sum(a.count for a in activity) == 4


def test_capped_counts_are_shown_with_a_plus(agent, monkeypatch):
    customer = CustomerFactory()
    for minutes in range(3):
        contact(customer, Channel.SMS_HALL, ago=timedelta(minutes=minutes + 1))
    monkeypatch.setattr("servicedesk.selectors_channels.RECENT_LIMIT", 2)

    assert "2+ in 30 days" in recent_channels_panel(customer, agent).items[0]["label"]


def test_panel_is_withheld_from_a_user_without_a_role(make_user):
    customer = CustomerFactory()
    contact(customer, Channel.SMS_HALL, ago=timedelta(hours=1))

    assert recent_channels_panel(customer, make_user()) is None


def test_customer_screen_shows_the_panel_before_answering(client, agent):
    # given an agent opening the screen of a caller who texted the SMS hall an hour ago
    subscription = SubscriptionFactory(service_number="13812345678")
    contact(subscription.customer, Channel.SMS_HALL, ago=timedelta(hours=1), reason="ORDER 123",
            service_number="13812345678")
    client.force_login(agent)

    # when
    response = client.get(reverse("console:customer", args=[subscription.customer_id]))

    # then the panel is on the screen with the number masked
    html = response.content.decode()
    assert response.status_code == 200
    assert "Recent channels (30 days)" in html
    assert "Latest: SMS hall 1\xa0hour ago: ORDER 123 (138****5678)" in html


@pytest.mark.postgres
def test_panel_query_is_served_by_the_customer_time_index(agent):
    # given a customer among many, each with contacts over three months
    customer = CustomerFactory()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO servicedesk_customer (name, id_type, id_number, address, vip_tier, created_at)"
                       " SELECT 'c' || i, 'resident_id', '', '', 'ordinary', now() FROM generate_series(1, 1000) AS i")
        cursor.execute(
            "INSERT INTO servicedesk_contact (customer_id, channel, service_number, reason, business, outcome, notes, started_at, awaiting_agent)"
            " SELECT c.id, 'sms_hall', '', 'r', '', 'resolved', '', now() - (i * 3 || ' days')::interval, false"
            " FROM servicedesk_customer AS c, generate_series(1, 30) AS i"
        )
        cursor.execute("ANALYZE servicedesk_contact")

    # when the panel's query is run
    with CaptureQueriesContext(connection) as queries:
        recent_channels(customer=customer)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # then PostgreSQL goes straight to the customer's rows
    assert "contact_customer_time_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
