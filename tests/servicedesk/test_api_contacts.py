"""Recording and listing contacts through the API."""
from datetime import timedelta

import pytest
from django.utils import timezone

from servicedesk.models import Channel, Contact, Outcome
from servicedesk.roles import Role
from tests.factories import ContactFactory, CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def agent(api_for):
    return api_for(Role.AGENT)


@pytest.fixture
def customer():
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number="13800138000")
    SubscriptionFactory(customer=customer, service_number="02223456789")
    return customer


@pytest.mark.parametrize(
    ("spelling", "number"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086 138-0013-8000", "13800138000"),
        ("022-23456789", "02223456789"),
        ("(022) 2345 6789", "02223456789"),
    ],
)
def test_contact_by_service_number_alone_finds_the_customer(agent, customer, spelling, number):
    # when an agent records a contact giving only the number the caller rang about, in any spelling
    response = agent.post("/api/v1/contacts/", {"service_number": spelling, "reason": "Bill query"}, format="json")

    # then it is filed under the customer owning that number, with the number normalised
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.customer == customer
    assert contact.service_number == number
    assert response.json()["service_number"] == number
    assert response.json()["customer"] == customer.pk


def test_contact_by_unknown_service_number_is_kept_without_a_customer(agent, customer):
    # when the caller's number belongs to nobody we know
    response = agent.post("/api/v1/contacts/", {"service_number": "13900000000", "reason": "Wants to join"}, format="json")

    # then the contact is still recorded, against the number only
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.customer is None
    assert contact.service_number == "13900000000"


def test_service_number_of_another_customer_is_400(agent, customer):
    # given another customer's number
    SubscriptionFactory(service_number="13900139000")

    # when a contact is recorded for the customer with that number
    response = agent.post(
        "/api/v1/contacts/", {"customer": customer.pk, "service_number": "13900139000", "reason": "Bill"}, format="json"
    )

    # then it is refused naming the number, and nothing is written
    assert response.status_code == 400, response.content
    assert "service_number" in response.json()["detail"]
    assert not Contact.objects.exists()


def test_contact_by_customer_alone_takes_the_first_number(agent, customer):
    response = agent.post("/api/v1/contacts/", {"customer": customer.pk, "reason": "Bill"}, format="json")

    assert response.status_code == 201
    assert response.json()["service_number"] == "02223456789"


def test_created_contact_has_all_fields_and_the_agent(agent, customer):
    # given a complete contact from the app hall
    started = timezone.now() - timedelta(minutes=5)
    body = {
        "customer": customer.pk,
        "service_number": "13800138000",
        "channel": Channel.APP_HALL,
        "reason": "  Wants a 5G plan  ",
        "business": "5G套餐",
        "outcome": Outcome.OPPORTUNITY,
        "notes": "Call back after 18:00",
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=3)).isoformat(),
    }

    # when it is recorded
    response = agent.post("/api/v1/contacts/", body, format="json")

    # then every field is stored as given (reason trimmed), and the agent is the caller of the API
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert (contact.channel, contact.outcome, contact.reason, contact.business, contact.notes) == (
        "app_hall", "opportunity", "Wants a 5G plan", "5G套餐", "Call back after 18:00",
    )
    assert contact.agent == agent.user
    assert contact.duration_seconds == 180
    assert response.json()["agent"] == agent.user.username


def test_agent_cannot_be_forged_in_the_body(agent, customer, make_user):
    # given someone else's username sent as the agent
    other = make_user(Role.AGENT)

    response = agent.post("/api/v1/contacts/", {"customer": customer.pk, "reason": "Bill", "agent": other.pk}, format="json")

    # then the contact is still the caller's own
    assert response.status_code == 201
    assert Contact.objects.get(pk=response.json()["id"]).agent == agent.user


def test_contact_list_is_the_customers_newest_first(agent, customer):
    # given contacts of the customer at different times, and one of another customer
    now = timezone.now()
    old = ContactFactory(customer=customer, started_at=now - timedelta(days=2))
    new = ContactFactory(customer=customer, started_at=now - timedelta(hours=1))
    middle = ContactFactory(customer=customer, started_at=now - timedelta(days=1))
    ContactFactory()

    # when the customer's contacts are listed
    response = agent.get("/api/v1/contacts/", {"customer": customer.pk})

    # then only theirs come, newest first
    assert [row["id"] for row in response.json()["results"]] == [new.pk, middle.pk, old.pk]


def test_contact_list_filters_by_number_and_channel(agent, customer):
    # given contacts on both of the customer's numbers, by phone and by app
    on_mobile = ContactFactory(customer=customer, service_number="13800138000", channel=Channel.HOTLINE)
    ContactFactory(customer=customer, service_number="13800138000", channel=Channel.APP_HALL)
    ContactFactory(customer=customer, service_number="02223456789", channel=Channel.HOTLINE)

    # when they are listed by number (in another spelling) and channel
    response = agent.get("/api/v1/contacts/", {"service_number": "138-0013-8000", "channel": "hotline"})

    # then only the matching one comes
    assert [row["id"] for row in response.json()["results"]] == [on_mobile.pk]
