"""A conversation that moves between channels shows as one timeline, with the channel of each step."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import ComplaintTransition
from complaints.services.intake import complaint_take
from orders.models import OrderTransition
from orders.services import order_submit
from servicedesk.models import Channel, Contact, InboundSms
from tests.factories import ComplaintCategoryFactory, ProductFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(make_user):
    """One customer: an SMS to the hall, the web hall, an order placed there, a complaint sent by
    SMS, then a call to the hotline, an hour apart each."""
    agent = make_user("agent")
    subscription = SubscriptionFactory(service_number="13812345678")
    customer = subscription.customer
    start = timezone.now() - timedelta(hours=5)

    sms_contact = Contact.objects.create(customer=customer, channel=Channel.SMS_HALL, service_number="13812345678",
                                         reason="ORDER 123", started_at=start)
    InboundSms.objects.create(gateway_id="gw-1", from_number="13812345678", text="ORDER 123", received_at=start,
                              customer=customer, command="order", outcome=InboundSms.Outcome.ANSWERED, contact=sms_contact)
    Contact.objects.create(customer=customer, channel=Channel.WEB_HALL, service_number="13812345678",
                           reason="Change appointment", started_at=start + timedelta(hours=1))
    order = order_submit(agent=agent, customer=customer, product=ProductFactory(), channel=Channel.WEB_HALL)
    OrderTransition.objects.filter(order=order).update(at=start + timedelta(hours=2))
    complaint = complaint_take(agent=agent, customer=customer, category=ComplaintCategoryFactory(), severity="normal",
                               description="No signal at home", channel=Channel.SMS_HALL)
    ComplaintTransition.objects.filter(complaint=complaint).update(at=start + timedelta(hours=3))
    Contact.objects.create(customer=customer, channel=Channel.HOTLINE, service_number="13812345678",
                           reason="Where is my order?", agent=agent, started_at=start + timedelta(hours=4))
    return agent, customer


def test_the_console_timeline_shows_every_step_in_time_order_with_its_channel(client, story):
    # given the story above
    agent, customer = story
    client.force_login(agent)

    # when the agent opens the customer's timeline
    response = client.get(reverse("console:customer_timeline", args=[customer.pk]))

    # then every step is there, newest first, each with the channel it came through
    entries = response.context["entries"]
    assert [(e.kind, e.channel) for e in entries] == [
        ("contact", "Hotline"),
        ("complaint", "SMS hall"),  # assigned
        ("complaint", "SMS hall"),  # received
        ("order", "Web hall"),
        ("contact", "Web hall"),
        ("contact", "SMS hall"),
    ]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    html = response.content.decode()
    assert html.count('<span class="chan">') == len(entries)


def test_the_customer_screen_tells_the_whole_story_on_one_customer(client, story):
    # given the story above
    agent, customer = story
    client.force_login(agent)

    # when the agent answers the hotline call and opens the screen
    response = client.get(reverse("console:customer", args=[customer.pk]))

    # then the timeline has the steps of every channel, and the recent-channels panel leads with the web hall
    html = response.content.decode()
    for channel in ("Hotline", "Web hall", "SMS hall"):
        assert f'<span class="chan">{channel}</span>' in html
    recent = next(p for p in response.context["panels"] if p.key == "recent_channels")
    assert [item["channel"] for item in recent.items] == ["web_hall", "hotline", "sms_hall"]
    assert recent.items[0]["label"].startswith("Latest: Web hall 4\xa0hours ago: Change appointment")


def test_the_inbound_sms_and_its_contact_belong_to_the_same_customer(story):
    _agent, customer = story

    sms = InboundSms.objects.get(gateway_id="gw-1")

    assert sms.customer == customer and sms.contact.customer == customer
    assert sms.contact.channel == Channel.SMS_HALL
