"""The IVR and app hall API: identifying a caller, their status, recording contacts; who may call it."""
import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from complaints.models import ComplaintStatus
from delivery.models import ShipmentStatus
from servicedesk.models import Channel, Contact, Subscription, VipTier
from servicedesk.roles import Role
from tests.delivery.support_helpers import make_shipment
from tests.factories import (
    ComplaintFactory,
    CustomerFactory,
    ServiceAreaFactory,
    SubscriptionFactory,
    TariffPlanFactory,
)

pytestmark = pytest.mark.django_db

CALLERS = "/api/v1/self-service/callers/"
CONTACTS = "/api/v1/self-service/contacts/"
LINE = "13912345678"


@pytest.fixture
def ivr(api_for):
    return api_for(Role.API_CLIENT)


@pytest.fixture
def caller(db):
    area = ServiceAreaFactory(code="HP01", name="Heping North")
    customer = CustomerFactory(name="王小明", vip_tier=VipTier.GOLD, area=area)
    plan = TariffPlanFactory(code="5G-199", name="5G Bundle 199", monthly_fee="199.00")
    return SubscriptionFactory(customer=customer, service_number=LINE, tariff_plan=plan)


def test_a_caller_is_identified_by_number_with_the_name_masked(ivr, caller):
    response = ivr.get(CALLERS, {"number": "+86 139-1234-5678", "channel": "ivr"})

    assert response.status_code == 200
    assert response.json() == {
        "customer": caller.customer_id,
        "name": "王**",
        "vip_tier": "gold",
        "number": {"service_number": LINE, "status": "active",
                   "tariff_plan": {"code": "5G-199", "name": "5G Bundle 199", "monthly_fee": "199.00"}},
        "area": {"code": "HP01", "name": "Heping North"},
    }


def test_a_suspended_line_says_so(ivr, caller):
    Subscription.objects.filter(pk=caller.pk).update(status=Subscription.Status.SUSPENDED)

    response = ivr.get(CALLERS, {"number": LINE})

    assert response.status_code == 200 and response.json()["number"]["status"] == "suspended"


def test_an_unknown_number_is_404_in_the_error_shape(ivr, caller):
    response = ivr.get(CALLERS, {"number": "13600009999", "channel": "app_hall"})

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No customer has this number.", "detail": {}}


@pytest.mark.parametrize("params, field", [
    ({}, "number"),
    ({"number": "12345"}, "number"),
    ({"number": LINE, "channel": "hotline"}, "channel"),
    ({"number": LINE, "channel": "fax"}, "channel"),
])
def test_bad_queries_are_400_naming_the_field(ivr, caller, params, field):
    response = ivr.get(CALLERS, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["detail"]


def test_only_api_clients_with_a_token_may_call(api_for, caller):
    anonymous = APIClient()
    agent = api_for(Role.AGENT)
    session = APIClient()
    session.force_login(api_for(Role.API_CLIENT).user)

    assert anonymous.get(CALLERS, {"number": LINE}).status_code == 401
    assert agent.get(CALLERS, {"number": LINE}).status_code == 403
    assert agent.post(CONTACTS, {"channel": "ivr", "number": LINE, "reason": "x"}, format="json").status_code == 403
    assert session.get(CALLERS, {"number": LINE}).status_code == 401  # token authentication only


def test_the_status_has_the_web_halls_sections_with_open_items(ivr):
    open_shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=LINE)
    customer = open_shipment.order.customer
    delivered = make_shipment(ShipmentStatus.DELIVERED, customer=customer)  # its order stays open until billing activates it
    complaint = ComplaintFactory(customer=customer, status=ComplaintStatus.IN_PROGRESS)
    ComplaintFactory(customer=customer, status=ComplaintStatus.CLOSED)

    response = ivr.get(f"{CALLERS}{customer.pk}/status/", {"channel": "ivr"})

    assert response.status_code == 200
    sections = {s["key"]: s for s in response.json()["sections"]}
    assert list(sections) == ["orders", "shipments", "complaints"]
    assert [i["id"] for i in sections["shipments"]["items"]] == [open_shipment.pk]
    shipment = sections["shipments"]["items"][0]
    assert shipment["data"]["tracking_number"] == open_shipment.tracking_number and shipment["data"]["carrier_name"] == "SF Express"
    assert shipment["refs"] == {"order": open_shipment.order_id} and shipment["actions"] == ["delivery.appointment"]
    assert shipment["state_code"] == "handed_to_carrier" and shipment["open"] is True
    assert [i["id"] for i in sections["orders"]["items"]] == [delivered.order_id, open_shipment.order_id]
    assert sections["orders"]["items"][0]["state_code"] == "delivered"
    assert [i["id"] for i in sections["complaints"]["items"]] == [complaint.pk]


def test_the_status_with_closed_items_too(ivr):
    shipment = make_shipment(ShipmentStatus.DELIVERED, line=LINE)

    response = ivr.get(f"{CALLERS}{shipment.order.customer_id}/status/", {"include_closed": "true"})

    items = {s["key"]: s["items"] for s in response.json()["sections"]}
    assert [i["id"] for i in items["shipments"]] == [shipment.pk] and items["shipments"][0]["open"] is False


def test_the_status_of_an_unknown_customer_is_404(ivr):
    response = ivr.get(f"{CALLERS}999999/status/")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("channel", [Channel.IVR, Channel.APP_HALL])
def test_a_contact_is_recorded_with_the_clients_channel_and_no_agent(ivr, caller, channel):
    response = ivr.post(CONTACTS, {
        "channel": channel, "number": LINE, "reason": "Balance query", "business": "Balance", "outcome": "resolved",
    }, format="json")

    assert response.status_code == 201, response.json()
    contact = Contact.objects.get()
    assert (contact.channel, contact.customer_id, contact.service_number, contact.agent) == (channel, caller.customer_id, LINE, None)
    assert response.json()["channel"] == channel and response.json()["agent"] is None


def test_a_contact_from_an_unknown_number_is_kept_by_number(ivr, caller):
    response = ivr.post(CONTACTS, {"channel": "ivr", "number": "13600009999", "reason": "Asked for an agent"}, format="json")

    assert response.status_code == 201
    assert Contact.objects.get().customer is None


@pytest.mark.parametrize("body, field", [
    ({"number": LINE, "reason": "x"}, "channel"),
    ({"channel": "hotline", "number": LINE, "reason": "x"}, "channel"),
    ({"channel": "ivr", "reason": "x"}, "number"),
    ({"channel": "ivr", "number": "1", "reason": "x"}, "number"),
    ({"channel": "ivr", "number": LINE}, "reason"),
    ({"channel": "ivr", "number": LINE, "reason": "x", "outcome": "maybe"}, "outcome"),
    ({"channel": "ivr", "number": LINE, "reason": "x", "started_at": "2025-01-02T10:00:00+08:00",
      "ended_at": "2025-01-02T09:00:00+08:00"}, "ended_at"),
])
def test_a_bad_contact_is_400_naming_the_field_and_writes_nothing(ivr, caller, body, field):
    response = ivr.post(CONTACTS, body, format="json")

    assert response.status_code == 400 and field in response.json()["detail"]
    assert not Contact.objects.exists()


def test_a_contact_retried_with_the_same_key_is_recorded_once(ivr, caller):
    body = {"channel": "ivr", "number": LINE, "reason": "Balance query"}

    first = ivr.post(CONTACTS, body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    again = ivr.post(CONTACTS, body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")

    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Contact.objects.count() == 1


def test_the_schema_documents_the_self_service_api(ivr):
    schema = ivr.get("/api/schema/", {"format": "json"}).json()

    validate_schema(schema)
    paths = schema["paths"]
    assert {"/api/v1/self-service/callers/", "/api/v1/self-service/callers/{customer_id}/status/", "/api/v1/self-service/contacts/",
            "/api/v1/self-service/orders/", "/api/v1/self-service/complaints/"} <= set(paths)
    assert {p["name"] for p in paths["/api/v1/self-service/callers/"]["get"]["parameters"]} >= {"number", "channel"}
    assert {"201", "202"} <= set(paths["/api/v1/self-service/orders/"]["post"]["responses"])

