"""Bad input never makes a 500, and every refusal has the one error shape ``{code, message, detail}``."""
from datetime import timedelta

import pytest
from django.utils import timezone

from servicedesk.models import Contact
from servicedesk.roles import Role
from tests.factories import ContactFactory, CustomerFactory, ScriptFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def agent(api_for):
    return api_for(Role.AGENT)


@pytest.fixture
def customer():
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number="13800138000")
    ContactFactory(customer=customer, service_number="13800138000")
    return customer


def assert_error(response, status, code=None, field=None):
    """The status, the shape, and (for field errors) the field that is named."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert isinstance(body["message"], str) and body["message"].strip()
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert field in body["detail"], body
        assert body["detail"][field] and all(isinstance(m, str) and m for m in body["detail"][field]), body
    return body


BAD_SERVICE_NUMBERS = [
    pytest.param("123", id="too-short"),
    pytest.param("abc", id="letters"),
    pytest.param("1380013800", id="ten-digits"),
    pytest.param("1" * 25, id="25-digits"),
    pytest.param("12345678901", id="no-such-mobile-prefix"),
    pytest.param("+1 650 253 0000", id="foreign"),
    pytest.param("138-0013-800a", id="letter-inside"),
]
LISTS_WITH_NUMBER_FILTER = ["/api/v1/customers/", "/api/v1/subscriptions/", "/api/v1/contacts/"]


@pytest.mark.parametrize("path", LISTS_WITH_NUMBER_FILTER)
@pytest.mark.parametrize("number", BAD_SERVICE_NUMBERS)
def test_malformed_service_number_filter_is_400_naming_the_field(agent, customer, path, number):
    response = agent.get(path, {"service_number": number})

    assert_error(response, 400, "invalid", "service_number")


@pytest.mark.parametrize("path", LISTS_WITH_NUMBER_FILTER)
@pytest.mark.parametrize("number", ["+86 138 0013 8000", "0086-138-0013-8000", "138 0013 8000", "13800138000"])
def test_service_number_filter_normalises_valid_spellings(agent, customer, path, number):
    # given another customer, so that an ignored filter would show
    SubscriptionFactory(service_number="13900139000")

    # when a list is filtered with any spelling of the customer's number
    response = agent.get(path, {"service_number": number})

    # then exactly the customer's row is found
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert len(rows) == 1
    found = rows[0]
    if path.endswith("/customers/"):
        assert found["id"] == customer.pk
    else:
        assert found["service_number"] == "13800138000"


@pytest.mark.parametrize("resource", ["customers", "subscriptions", "contacts", "scripts"])
@pytest.mark.parametrize("pk", ["999999", "abc", "0", "99999999999999999999999999"])
def test_unknown_or_malformed_id_is_404_with_the_shape(agent, customer, resource, pk):
    ScriptFactory()

    response = agent.get(f"/api/v1/{resource}/{pk}/")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/subscriptions/", "/api/v1/contacts/"])
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1e3", "12345678901234567890", " 1"])
def test_non_numeric_customer_filter_is_400(agent, customer, path, value):
    response = agent.get(path, {"customer": value})

    assert_error(response, 400, "invalid", "customer")


def test_contact_list_without_customer_or_number_is_400(agent, customer):
    assert_error(agent.get("/api/v1/contacts/"), 400, "invalid", "customer")


def test_unknown_subscription_status_is_400(agent, customer):
    assert_error(agent.get("/api/v1/subscriptions/", {"status": "deleted"}), 400, "invalid", "status")


def test_unknown_script_kind_is_400(agent):
    assert_error(agent.get("/api/v1/scripts/", {"kind": "poem"}), 400, "invalid", "kind")


@pytest.mark.parametrize(
    ("page", "status"),
    [("2", 404), ("999", 404), ("abc", 404), ("0", 404), ("-1", 404), ("1", 200)],
)
def test_a_page_past_the_end_is_404_with_the_shape(agent, customer, page, status):
    # given one customer, so a single page
    response = agent.get("/api/v1/customers/", {"page": page})

    if status == 404:
        assert_error(response, 404, "not_found")
    else:
        assert response.status_code == 200


def _start(**overrides):
    return overrides


NOW = timezone.now()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"reason": "r" * 201}, "reason", id="reason-over-200"),
        pytest.param({"reason": "Bill", "notes": "n" * 2001}, "notes", id="notes-over-2000"),
        pytest.param({"reason": "Bill", "business": "b" * 101}, "business", id="business-over-100"),
        pytest.param({}, "reason", id="missing-reason"),
        pytest.param({"reason": "   "}, "reason", id="blank-reason"),
        pytest.param({"reason": None}, "reason", id="null-reason"),
        pytest.param(
            {"reason": "Bill", "started_at": NOW.isoformat(), "ended_at": (NOW - timedelta(minutes=1)).isoformat()},
            "ended_at",
            id="ended-before-started",
        ),
        pytest.param({"reason": "Bill", "started_at": "yesterday"}, "started_at", id="bad-datetime"),
        pytest.param({"reason": "Bill", "channel": "pigeon"}, "channel", id="bad-channel"),
        pytest.param({"reason": "Bill", "outcome": "maybe"}, "outcome", id="bad-outcome"),
        pytest.param({"reason": "Bill", "customer": "abc"}, "customer", id="customer-not-a-number"),
        pytest.param({"reason": "Bill", "customer": 0}, "customer", id="customer-zero"),
        pytest.param({"reason": "Bill", "customer": None, "service_number": ""}, "service_number", id="neither-customer-nor-number"),
        pytest.param({"reason": "Bill", "service_number": "123"}, "service_number", id="malformed-number"),
        pytest.param({"reason": "Bill", "service_number": "1" * 25}, "service_number", id="number-25-digits"),
        pytest.param({"reason": "Bill", "service_number": "1380013800"}, "service_number", id="number-10-digits"),
    ],
)
def test_bad_contact_is_400_naming_the_field_and_writes_nothing(agent, customer, body, field):
    # given a request body with one thing wrong (the customer filled in unless the case is about it)
    body = {"customer": customer.pk, **body}
    if body.get("customer") is None:
        del body["customer"]
    before = Contact.objects.count()

    # when it is posted
    response = agent.post("/api/v1/contacts/", body, format="json")

    # then it is refused naming that field, and nothing is written
    assert_error(response, 400, "invalid", field)
    assert Contact.objects.count() == before


def test_contact_ending_in_the_past_without_a_start_is_refused(agent, customer):
    # given only an end, long ago (the start then defaults to now)
    body = {"customer": customer.pk, "reason": "Bill", "ended_at": "2020-01-01T00:00:00+08:00"}

    response = agent.post("/api/v1/contacts/", body, format="json")

    assert_error(response, 400, "invalid", "ended_at")


def test_unknown_customer_on_create_is_404(agent, customer):
    response = agent.post("/api/v1/contacts/", {"customer": 999999, "reason": "Bill"}, format="json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param('{"reason": "Bill", ', "application/json", 400, "parse_error", id="truncated-json"),
        pytest.param("not json at all", "application/json", 400, "parse_error", id="not-json"),
        pytest.param('["reason", "Bill"]', "application/json", 400, "invalid", id="json-list"),
        pytest.param('"Bill"', "application/json", 400, "invalid", id="json-string"),
        pytest.param("reason=Bill", "text/plain", 415, "unsupported_media_type", id="text-plain"),
    ],
)
def test_unreadable_body_is_refused_with_the_shape(agent, customer, raw, content_type, status, code):
    response = agent.generic("POST", "/api/v1/contacts/", raw, content_type=content_type)

    assert_error(response, status, code)
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotent"])
def test_unreadable_body_with_or_without_idempotency_key_is_400(agent, customer, with_key):
    headers = {"Idempotency-Key": "k-1"} if with_key else {}

    response = agent.generic("POST", "/api/v1/contacts/", "{oops", content_type="application/json", headers=headers)

    assert_error(response, 400, "parse_error")


def test_idempotency_key_over_100_characters_is_400(agent, customer):
    response = agent.post(
        "/api/v1/contacts/", {"customer": customer.pk, "reason": "Bill"}, format="json", headers={"Idempotency-Key": "k" * 101}
    )

    body = assert_error(response, 400, "invalid", "Idempotency-Key")
    assert Contact.objects.count() == 1
    assert "100" in body["message"]


def test_idempotency_key_of_exactly_100_characters_is_accepted(agent, customer):
    response = agent.post(
        "/api/v1/contacts/", {"customer": customer.pk, "reason": "Bill"}, format="json", headers={"Idempotency-Key": "k" * 100}
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/v1/customers/{pk}/"), ("put", "/api/v1/contacts/{contact}/"), ("patch", "/api/v1/contacts/{contact}/")],
)
def test_methods_the_api_does_not_offer_are_refused_with_the_shape(api_for, customer, method, path):
    # given an administrator, who holds the most permissions
    client = api_for(Role.ADMIN)
    url = path.format(pk=customer.pk, contact=customer.contacts.get().pk)

    response = getattr(client, method)(url, {"reason": "changed"}, format="json")

    assert_error(response, response.status_code)
    assert response.status_code in (403, 405)
    assert customer.contacts.get().reason == "Balance query"
