"""/api/v1/webhooks/: clients manage their own subscriptions and read their deliveries."""
import pytest
from drf_spectacular.validation import validate_schema

from orders.services import order_cancel
from servicedesk import tasks, webhooks
from servicedesk.models import OutboxMessage, WebhookSubscription
from servicedesk.roles import Role
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"
GOOD = {"name": "CRM", "url": "https://crm.example.com/hooks", "events": ["order.status_changed", "contact.created"]}


@pytest.fixture
def client_api(api_for):
    return api_for(Role.API_CLIENT)


def create(api, **overrides):
    return api.post(URL, {**GOOD, **overrides}, format="json")


def test_a_client_subscribes_and_sees_the_secret_once(client_api):
    # when a client subscribes
    response = create(client_api)

    # then it gets the subscription with a generated secret
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "CRM" and body["url"] == GOOD["url"] and body["active"] is True
    assert body["events"] == ["order.status_changed", "contact.created"]
    assert body["client"] == client_api.user.username
    assert len(body["secret"]) >= 32
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert stored.secret == body["secret"] and stored.client == client_api.user

    # and never again
    assert "secret" not in client_api.get(f"{URL}{body['id']}/").json()
    assert all("secret" not in s for s in client_api.get(URL).json()["results"])


def test_a_client_may_set_its_own_secret(client_api):
    response = create(client_api, secret="my-own-secret-of-enough-length")

    assert response.status_code == 201
    assert WebhookSubscription.objects.get(pk=response.json()["id"]).secret == "my-own-secret-of-enough-length"


@pytest.mark.parametrize("field, value", [
    ("url", "ftp://crm.example.com/hooks"),
    ("url", "not a url"),
    ("url", ""),
    ("url", "https://crm.example.com/" + "x" * 600),
    ("events", []),
    ("events", ["order.created"]),
    ("events", "order.status_changed"),
    ("name", ""),
    ("secret", "short"),
])
def test_bad_input_is_refused_naming_the_field(client_api, field, value):
    response = create(client_api, **{field: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["detail"], body
    assert not WebhookSubscription.objects.exists()


def test_an_unknown_kind_is_named_in_the_message(client_api):
    body = create(client_api, events=["order.status_changed", "order.created"]).json()

    assert "order.created" in body["detail"]["events"][0]


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.BACK_OFFICE])
def test_staff_other_than_admins_may_not_use_it(api_for, role):
    api = api_for(role)

    assert api.get(URL).status_code == 403
    assert create(api).status_code == 403


def test_anonymous_is_refused():
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code in (401, 403)


def test_a_client_sees_and_changes_only_its_own(api_for):
    mine, theirs = api_for(Role.API_CLIENT), api_for(Role.API_CLIENT)
    own = create(mine).json()
    other = create(theirs, name="Billing").json()

    assert [s["id"] for s in mine.get(URL).json()["results"]] == [own["id"]]
    assert mine.get(f"{URL}{other['id']}/").status_code == 404
    assert mine.patch(f"{URL}{other['id']}/", {"active": False}, format="json").status_code == 404
    assert mine.delete(f"{URL}{other['id']}/").status_code == 404
    assert mine.get(f"{URL}{other['id']}/deliveries/").status_code == 404
    assert WebhookSubscription.objects.filter(pk=other["id"], active=True).exists()


def test_an_admin_sees_all(api_for):
    create(api_for(Role.API_CLIENT))
    create(api_for(Role.API_CLIENT), name="Billing")

    assert api_for(Role.ADMIN).get(URL).json()["count"] == 2


def test_update_changes_only_what_is_given_and_validates_it(client_api):
    sub = create(client_api).json()

    response = client_api.patch(f"{URL}{sub['id']}/", {"events": ["complaint.status_changed"], "active": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["events"] == ["complaint.status_changed"] and response.json()["active"] is False
    assert response.json()["url"] == GOOD["url"]

    refused = client_api.patch(f"{URL}{sub['id']}/", {"url": "javascript:alert(1)"}, format="json")
    assert refused.status_code == 400 and "url" in refused.json()["detail"]
    assert WebhookSubscription.objects.get(pk=sub["id"]).url == GOOD["url"]


def test_the_secret_can_be_rotated(client_api):
    sub = create(client_api).json()

    response = client_api.patch(f"{URL}{sub['id']}/", {"secret": "a-brand-new-secret-0123"}, format="json")

    assert response.status_code == 200 and "secret" not in response.json()
    assert WebhookSubscription.objects.get(pk=sub["id"]).secret == "a-brand-new-secret-0123"


def test_delete_removes_it_and_fails_what_was_not_yet_sent(client_api):
    sub = create(client_api).json()
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")  # one event, pending
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, kind="webhook").count() == 1

    assert client_api.delete(f"{URL}{sub['id']}/").status_code == 204

    assert not WebhookSubscription.objects.exists()
    assert list(OutboxMessage.objects.filter(kind="webhook").values_list("status", flat=True)) == [OutboxMessage.Status.FAILED]


def test_deliveries_lists_the_subscriptions_events_newest_first_paginated(client_api, api_for):
    # given a subscription (pointing nowhere: every attempt fails transiently) and three order events
    sub = create(client_api, url="http://127.0.0.1:9/hooks", events=["order.status_changed"]).json()
    create(api_for(Role.API_CLIENT), url="http://127.0.0.1:9/other", events=["order.status_changed"])  # someone else's
    orders = [OrderFactory() for _ in range(3)]
    for order in orders:
        order_cancel(order_id=order.pk, by=None, reason="x")
    tasks.outbox_redrive.apply().get()

    # when the client reads its deliveries, two per page
    response = client_api.get(f"{URL}{sub['id']}/deliveries/", {"page_size": 2})

    # then it sees its own, newest first, with status, attempts and the error
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    first = body["results"][0]
    assert first["event"] == "order.status_changed" and first["object"]["id"] == orders[-1].pk
    assert first["event_id"].startswith("orders.ordertransition:")
    assert first["status"] == "pending" and first["attempts"] == 1 and "Connection" in first["last_error"]
    assert first["http_status"] is None and first["sent_at"] is None and first["created_at"]

    # and can filter by status
    assert client_api.get(f"{URL}{sub['id']}/deliveries/", {"status": "sent"}).json()["count"] == 0
    bad = client_api.get(f"{URL}{sub['id']}/deliveries/", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["detail"]


def test_create_honours_the_idempotency_key(client_api):
    first = client_api.post(URL, GOOD, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client_api.post(URL, GOOD, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert WebhookSubscription.objects.count() == 1


def test_the_schema_documents_the_endpoints_and_the_signature(api_for):
    schema = api_for(Role.API_CLIENT).get("/api/schema/", {"format": "json"}).json()
    validate_schema(schema)

    paths = schema["paths"]
    assert {"get", "post"} <= set(paths[URL])
    assert {"get", "put", "patch", "delete"} <= set(paths[URL + "{id}/"])
    assert "get" in paths[URL + "{id}/deliveries/"]
    description = paths[URL]["post"]["description"]
    for needed in (webhooks.SIGNATURE_HEADER, webhooks.EVENT_ID_HEADER, webhooks.TIMESTAMP_HEADER, "HMAC-SHA256", "sha256=", "Deduplicate"):
        assert needed in description
