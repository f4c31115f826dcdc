"""The agents' inbox of contacts awaiting an agent: who sees it, oldest first, masked, paged;
"Done" takes a contact out and records the agent's answer as a contact of their own."""
from datetime import timedelta

import pytest
from django.utils import timezone

from servicedesk.models import Channel, Contact, ContactLink
from servicedesk.sms_hall import contact_follow_up_done, sms_inbound_receive
from servicedesk.views_inbox import CONTACTS_PER_PAGE
from tests.factories import ContactFactory, SubscriptionFactory, UserFactory

URL = "/inbox/"


def waiting(subscription, *, minutes_ago: int, reason: str = "Please call me back") -> Contact:
    return ContactFactory(
        customer=subscription.customer, service_number=subscription.service_number, channel=Channel.SMS_HALL, agent=None,
        reason=reason, awaiting_agent=True, started_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def agent(db):
    return UserFactory(roles=["agent"])


@pytest.fixture
def line(db):
    return SubscriptionFactory(service_number="13912345678")


def test_the_inbox_lists_waiting_contacts_oldest_first_masked_with_the_customer(client, agent, line):
    # given
    newer = waiting(line, minutes_ago=5, reason="Newer: my number 13912345678 has no signal")
    older = waiting(line, minutes_ago=50)
    ContactFactory(customer=line.customer, reason="Handled already")  # not waiting
    client.force_login(agent)
    # when
    response = client.get(URL)
    # then
    assert response.status_code == 200
    rows = [row["contact"] for row in response.context["rows"]]
    assert rows == [older, newer]
    html = response.content.decode()
    assert "139****5678" in html and "13912345678" not in html
    assert f'href="/customers/{line.customer_id}/"' in html
    assert "Handled already" not in html


def test_the_inbox_is_paged(client, agent, line):
    # given
    for n in range(CONTACTS_PER_PAGE + 3):
        waiting(line, minutes_ago=100 - n)
    client.force_login(agent)
    # when
    second = client.get(URL + "?page=2")
    odd = client.get(URL + "?page=abc")
    # then
    assert len(second.context["rows"]) == 3
    assert odd.status_code == 200 and odd.context["page"].number == 1


def test_the_inbox_shows_what_the_sms_hall_passed_on(client, agent, line):
    # given
    sms_inbound_receive(message_id="GW-INBOX", from_number=line.service_number, text="my bill is wrong, please call")
    client.force_login(agent)
    # when
    response = client.get(URL)
    # then
    assert "my bill is wrong, please call" in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "area_manager", "account_clerk"])
def test_roles_that_do_not_record_contacts_may_not_see_the_inbox(client, db, role):
    # given
    client.force_login(UserFactory(roles=[role]))
    # when
    response = client.get(URL)
    # then
    assert response.status_code == 403


def test_the_nav_links_the_inbox_for_roles_that_record_contacts(client, agent):
    # given
    client.force_login(agent)
    # when
    html = client.get("/").content.decode()
    # then
    assert f'href="{URL}"' in html


def test_the_nav_hides_the_inbox_from_other_roles(client, db):
    # given
    client.force_login(UserFactory(roles=["manager"]))
    # when
    html = client.get("/scripts/").content.decode()
    # then
    assert f'href="{URL}"' not in html


def test_done_takes_the_contact_out_and_records_the_agents_answer(client, agent, line):
    # given
    contact = waiting(line, minutes_ago=30)
    client.force_login(agent)
    # when
    response = client.post(f"/inbox/{contact.pk}/done/", {"notes": "Called back: reset the router", "page": "1"})
    # then
    assert response.status_code == 302 and response["Location"] == URL
    contact.refresh_from_db()
    assert contact.awaiting_agent is False
    follow_up = Contact.objects.exclude(pk=contact.pk).get()
    assert (follow_up.agent, follow_up.customer, follow_up.outcome, follow_up.channel) == (agent, line.customer, "resolved", Channel.OUTBOUND)
    assert follow_up.notes == "Called back: reset the router"
    assert follow_up.reason == "Follow-up: Please call me back"
    assert ContactLink.objects.get(contact=follow_up).target == contact
    assert client.get(URL).context["rows"] == []


def test_done_twice_is_refused_and_records_nothing_more(client, agent, line):
    # given
    contact = waiting(line, minutes_ago=30)
    contact_follow_up_done(contact_id=contact.pk, agent=UserFactory(roles=["outbound"]))
    client.force_login(agent)
    # when
    response = client.post(f"/inbox/{contact.pk}/done/", follow=True)
    # then
    assert "already handled" in response.content.decode()
    assert Contact.objects.count() == 2


def test_done_on_an_unknown_contact_is_404(client, agent):
    # given
    client.force_login(agent)
    # when
    response = client.post("/inbox/999999/done/")
    # then
    assert response.status_code == 404


def test_done_needs_a_post_and_the_role(client, agent, line):
    # given
    contact = waiting(line, minutes_ago=30)
    client.force_login(agent)
    # when
    as_get = client.get(f"/inbox/{contact.pk}/done/")
    client.force_login(UserFactory(roles=["manager"]))
    as_manager = client.post(f"/inbox/{contact.pk}/done/")
    # then
    assert (as_get.status_code, as_manager.status_code) == (405, 403)
    contact.refresh_from_db()
    assert contact.awaiting_agent is True


def test_the_inbox_needs_a_login(client, db):
    # when
    response = client.get(URL)
    # then
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
