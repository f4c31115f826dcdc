"""``Idempotency-Key`` on contact create: a retry returns the first contact and never writes a second."""
import pytest

from servicedesk.models import Contact, IdempotencyRecord
from servicedesk.roles import Role
from tests.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts/"



@pytest.fixture
def agent(api_for):
    return api_for(Role.AGENT)


@pytest.fixture
def customer():
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number="13800138000")
    return customer


def post(client, body, key):
    return client.post(URL, body, format="json", headers={"Idempotency-Key": key} if key else {})


@pytest.mark.parametrize("retries", [1, 3])
def test_same_key_and_body_returns_the_first_contact_without_a_second(agent, customer, retries):
    # given a contact recorded with a key
    body = {"customer": customer.pk, "reason": "Bill query", "notes": "first"}
    first = post(agent, body, "call-42")
    assert first.status_code == 201

    # when the client retries (its network dropped the answer)
    replays = [post(agent, body, "call-42") for _ in range(retries)]

    # then every retry gets the same contact back, marked as a replay, and only one row exists
    for replay in replays:
        assert replay.status_code == 201
        assert replay.json() == first.json()
        assert replay["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1
    assert not first.has_header("Idempotent-Replayed")


def test_without_a_key_every_post_creates(agent, customer):
    body = {"customer": customer.pk, "reason": "Bill query"}

    ids = {post(agent, body, None).json()["id"] for _ in range(2)}

    assert len(ids) == 2
    assert Contact.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"reason": "Something else"}, id="other-reason"),
        pytest.param({"notes": "added later"}, id="extra-field"),
        pytest.param({"customer": None}, id="other-customer"),
    ],
)
def test_same_key_with_a_different_body_is_422(agent, customer, change):
    # given a contact recorded with a key
    body = {"customer": customer.pk, "reason": "Bill query"}
    assert post(agent, body, "call-42").status_code == 201
    if change.get("customer", 1) is None:
        change = {"customer": CustomerFactory().pk}

    # when the same key comes with a different request
    response = post(agent, {**body, **change}, "call-42")

    # then it is refused as a reused key, in the error shape, and nothing new is written
    assert response.status_code == 422, response.content
    assert set(response.json()) == {"code", "message", "detail"}
    assert response.json()["code"] == "idempotency_key_reused"
    assert Contact.objects.count() == 1


def test_key_order_of_the_json_body_does_not_matter(agent, customer):
    # given a body recorded with a key
    first = agent.generic(
        "POST", URL, f'{{"customer": {customer.pk}, "reason": "Bill"}}', content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    # when the retry serialises the same fields in another order
    again = agent.generic(
        "POST", URL, f'{{"reason": "Bill", "customer": {customer.pk}}}', content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    # then it is the same request
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"reason": "r" * 201}, id="too-long-reason"),
        pytest.param({"service_number": "123"}, id="malformed-number"),
        pytest.param({"customer": 999999}, id="unknown-customer-404"),
        pytest.param({"service_number": "13900139000"}, id="number-of-someone-else"),
    ],
)
def test_a_refused_request_does_not_burn_the_key(agent, customer, bad):
    # given a request refused as bad input
    SubscriptionFactory(service_number="13900139000")
    good = {"customer": customer.pk, "reason": "Bill query"}
    refused = post(agent, {**good, **bad}, "call-42")
    assert refused.status_code in (400, 404), refused.content
    assert not IdempotencyRecord.objects.exists()

    # when the client corrects it and retries with the same key
    fixed = post(agent, good, "call-42")

    # then the corrected request is carried out, once
    assert fixed.status_code == 201, fixed.content
    assert Contact.objects.count() == 1
    assert post(agent, good, "call-42").json()["id"] == fixed.json()["id"]


def test_keys_are_per_user(api_for, agent, customer):
    # given another agent who happens to use the same key
    other = api_for(Role.AGENT)
    body = {"customer": customer.pk, "reason": "Bill query"}

    # when both record with it
    mine = post(agent, body, "call-1")
    theirs = post(other, body, "call-1")

    # then each gets their own contact; neither sees the other's
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["agent"] == other.user.username
    assert Contact.objects.count() == 2
    assert not theirs.has_header("Idempotent-Replayed")


def test_surrounding_whitespace_of_the_key_is_ignored(agent, customer):
    body = {"customer": customer.pk, "reason": "Bill query"}

    first = post(agent, body, "call-7")
    again = post(agent, body, "  call-7  ")

    assert again.json()["id"] == first.json()["id"]
    assert Contact.objects.count() == 1
