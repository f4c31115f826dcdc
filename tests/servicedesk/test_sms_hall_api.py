"""The SMS gateway's inbound API: who may post, bad bodies, one answer per message id (also
when the gateway fires the same message at once from several connections, on PostgreSQL)."""
from itertools import count

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from servicedesk.models import Contact, InboundSms, OutboxMessage, SmsMessage
from servicedesk.roles import Role
from tests.concurrency import run_concurrently
from tests.factories import SubscriptionFactory, UserFactory

URL = "/api/v1/sms/inbound/"
_ids = count(1)


@pytest.fixture
def gateway(api_for):
    return api_for(Role.API_CLIENT)


@pytest.fixture
def sender(db):
    return SubscriptionFactory(service_number="13912345678")


def body(text="HELP", number="13912345678", **extra):
    return {"message_id": f"api-{next(_ids)}", "from": number, "text": text, **extra}


def test_the_gateway_posts_an_sms_and_gets_the_answer(gateway, sender):
    # when
    response = gateway.post(URL, body("where is my parcel", received_at="2026-11-23T09:12:00+08:00"), format="json")
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "for_agent", "reply": InboundSms.objects.get().reply}
    assert not response.has_header("Idempotent-Replayed")
    inbound = InboundSms.objects.get()
    assert inbound.received_at.isoformat() == "2026-11-23T01:12:00+00:00"
    assert SmsMessage.objects.get().to_number == "13912345678"


def test_an_unknown_sender_is_answered_never_an_error(gateway, db):
    # when
    response = gateway.post(URL, body("ORDER", number="13700001111"), format="json")
    # then
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_sender"


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.ADMIN])
def test_only_the_gateway_role_may_post(api_for, sender, role):
    # when
    response = api_for(role).post(URL, body(), format="json")
    # then
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert InboundSms.objects.count() == 0


def test_anonymous_posts_are_refused(client, db):
    # when
    response = APIClient().post(URL, body(), format="json")
    # then
    assert response.status_code == 401


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"from": "13912345678", "text": "HELP"}, "message_id"),
        ({"message_id": "", "from": "13912345678", "text": "HELP"}, "message_id"),
        ({"message_id": "GW-1", "text": "HELP"}, "from"),
        ({"message_id": "GW-1", "from": "abc", "text": "HELP"}, "from"),
        ({"message_id": "GW-1", "from": "12345678901", "text": "HELP"}, "from"),
        ({"message_id": "GW-1", "from": "13912345678"}, "text"),
        ({"message_id": "GW-1", "from": "13912345678", "text": "x" * 1001}, "text"),
        ({"message_id": "GW-1", "from": "13912345678", "text": "HELP", "received_at": "yesterday"}, "received_at"),
        (["not", "an", "object"], "non_field_errors"),
    ],
)
def test_a_bad_body_is_400_naming_the_field_and_nothing_is_stored_or_sent(gateway, sender, payload, field):
    # when
    response = gateway.post(URL, payload, format="json")
    # then
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["detail"]
    assert InboundSms.objects.count() == 0 and SmsMessage.objects.count() == 0


def test_a_repeat_returns_the_first_answer_and_sends_nothing_again(gateway, sender):
    # given
    first = gateway.post(URL, {"message_id": "GW-REPEAT", "from": sender.service_number, "text": "HELP"}, format="json")
    # when
    again = gateway.post(URL, {"message_id": "GW-REPEAT", "from": sender.service_number, "text": "HELP"}, format="json")
    # then
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert SmsMessage.objects.count() == 1 and OutboxMessage.objects.filter(kind="sms.send").count() == 1
    assert Contact.objects.count() == 1


def test_the_schema_documents_the_inbound_api(gateway):
    # when
    schema = gateway.get("/api/schema/?format=json").json()
    # then
    operation = schema["paths"][URL]["post"]
    assert "200" in operation["responses"] and "400" in operation["responses"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_message_posted_on_eight_connections_at_once_is_answered_once():
    # given the gateway retrying one message from 8 connections at the same moment
    gateway = UserFactory(roles=[Role.API_CLIENT])
    token = Token.objects.create(user=gateway)
    SubscriptionFactory(service_number="13912345678")
    payload = {"message_id": "GW-STORM", "from": "13912345678", "text": "where is my parcel"}

    def post(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client.post(URL, payload, format="json")

    # when
    responses = run_concurrently(post, workers=8)

    # then every connection got the one answer, and one of each thing exists
    assert [r.status_code for r in responses] == [200] * 8, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 7
    assert InboundSms.objects.count() == 1
    assert Contact.objects.count() == 1
    assert SmsMessage.objects.count() == 1
    assert OutboxMessage.objects.filter(key="sms_hall:GW-STORM").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_different_messages_of_one_customer_at_once_are_each_answered():
    # given
    gateway = UserFactory(roles=[Role.API_CLIENT])
    token = Token.objects.create(user=gateway)
    SubscriptionFactory(service_number="13912345678")

    def post(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client.post(URL, {"message_id": f"GW-{n}", "from": "13912345678", "text": "HELP" if n % 2 else "call me please"}, format="json")

    # when
    responses = run_concurrently(post, workers=8)

    # then
    assert [r.status_code for r in responses] == [200] * 8
    assert InboundSms.objects.count() == 8 and SmsMessage.objects.count() == 8
    assert Contact.objects.filter(awaiting_agent=True).count() == 4
