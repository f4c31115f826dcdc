"""The orders REST API: submit (with Idempotency-Key), read, list with filters, cancel, history; every refusal."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders import services
from orders.models import NumberStatus, Opportunity, Order, OrderStatus, OrderTransition, PoolNumber
from servicedesk.models import IdempotencyRecord
from servicedesk.roles import Role
from tests.factories import (
    CustomerFactory, PoolNumberFactory, ProductFactory, ServiceAreaFactory, SubscriptionFactory, UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"
TOMORROW = timezone.localdate() + timedelta(days=1)
ADDRESS = "天津市和平区南京路100号3门501"
MASKED_ADDRESS = "天津市和平区****"
# Written out by hand, as in the customers API: who sees a delivery address whole.
WHOLE_ADDRESS = {Role.AGENT, Role.BACK_OFFICE, Role.DELIVERY_CLERK, Role.AREA_MANAGER, Role.ADMIN}


@pytest.fixture
def client(api_for):
    return api_for(Role.API_CLIENT)


@pytest.fixture
def customer():
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number="13800138000")
    return customer


@pytest.fixture
def sim():
    return ProductFactory(sim=True, code="SIM-5G", price=Decimal("50.00"))


def sim_body(customer, product, number="18600000001", **changes):
    return {
        "customer": customer.pk, "product": product.code, "pool_number": number,
        "delivery_address": ADDRESS, "appointment_date": TOMORROW.isoformat(), "appointment_slot": "morning",
        **changes,
    }


def post(client, body, key=None):
    return client.post(URL, body, format="json", headers={"Idempotency-Key": key} if key else {})


def assert_error(response, status, code=None, field=None):
    """The status, the one error shape, and for field errors the field that is named."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert isinstance(body["message"], str) and body["message"].strip()
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert field in body["detail"], body
        assert all(isinstance(m, str) and m for m in body["detail"][field]), body
    return body


def submit(agent, customer, product, number, **fields):
    return services.order_submit(
        agent=agent, customer=customer, product=product, pool_number=number, delivery_address=ADDRESS,
        appointment_date=TOMORROW, appointment_slot="morning", **fields,
    )


# --- Submitting ----------------------------------------------------------------------------

def test_back_office_sale_answers_201_with_the_order_and_holds_the_number(client, customer, sim):
    # given a free number with a fee
    PoolNumberFactory(number="18600000001", price=Decimal("88.00"))

    # when an API client submits a SIM sale
    response = post(client, sim_body(customer, sim))

    # then the order is submitted to the back-office queue, priced with the number fee, and the number is held for it
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.pk
    assert response["Location"].endswith(f"{URL}{order.pk}/")
    assert (body["status"], body["flow"], body["product"], body["pool_number"]) == ("submitted", "back_office", "SIM-5G", "18600000001")
    assert body["price"] == "138.00"
    assert body["created_by"] == client.user.username
    assert body["channel"] == "web_hall"
    held = PoolNumber.objects.get(number="18600000001")
    assert (held.status, held.order_id) == (NumberStatus.RESERVED, order.pk)
    assert list(order.transitions.values_list("transition", "to_state")) == [("submit", "submitted")]
    # and the API client's role does not see the whole address, even the one it sent
    assert body["delivery_address"] == MASKED_ADDRESS


def test_direct_sale_is_provisioned_through_billing_after_commit(client, customer, django_capture_on_commit_callbacks):
    # given a direct product (a tariff change on an existing line)
    product = ProductFactory(direct=True)

    # when it is sold on the customer's line and the outbox runs after commit
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"customer": customer.pk, "product": product.code, "service_number": "138 0013 8000"})

    # then the order exists on the normalised number and billing completed it
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert (order.flow, order.service_number, order.status) == ("direct", "13800138000", OrderStatus.COMPLETED)
    assert client.get(f"{URL}{order.pk}/").json()["status"] == "completed"


def test_deferred_product_answers_202_with_a_callback_and_creates_no_order(client, customer):
    # given a product sold through a callback
    product = ProductFactory(deferred=True)
    callback_at = timezone.now() + timedelta(days=1)

    # when an API client submits it with the agreed callback time
    response = post(client, {"customer": customer.pk, "product": product.code, "callback_at": callback_at.isoformat(), "intent": "high"})

    # then no order exists: the outbound team has an open opportunity to call back
    assert response.status_code == 202, response.content
    opportunity = Opportunity.objects.get()
    assert response.json()["opportunity"] == opportunity.pk
    assert (response.json()["status"], response.json()["intent"], response.json()["product"]) == ("open", "high", product.code)
    assert opportunity.callback_at == callback_at
    assert not Order.objects.exists()


def test_deferred_product_without_a_callback_time_is_400_naming_callback_at(client, customer):
    product = ProductFactory(deferred=True)

    response = post(client, {"customer": customer.pk, "product": product.code})

    assert_error(response, 400, "invalid", "callback_at")
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"customer": 999999}, "customer", id="unknown-customer"),
        pytest.param({"customer": "abc"}, "customer", id="customer-not-a-number"),
        pytest.param({"customer": 10**25}, "customer", id="customer-id-beyond-bigint"),
        pytest.param({"product": "NO-SUCH"}, "product", id="unknown-product"),
        pytest.param({"pool_number": ""}, "pool_number", id="no-number-for-a-sim"),
        pytest.param({"pool_number": "123"}, "pool_number", id="malformed-number"),
        pytest.param({"pool_number": "18699999999"}, "pool_number", id="number-not-in-the-pool"),
        pytest.param({"pool_number": "18600000002"}, "pool_number", id="number-already-held"),
        pytest.param({"delivery_address": "  "}, "delivery_address", id="no-address"),
        pytest.param({"appointment_date": None}, "appointment_date", id="no-delivery-date"),
        pytest.param({"appointment_date": "2020-01-01"}, "appointment_date", id="past-delivery-date"),
        pytest.param({"appointment_date": "tomorrow"}, "appointment_date", id="not-a-date"),
        pytest.param({"appointment_slot": "midnight"}, "appointment_slot", id="unknown-slot"),
        pytest.param({"channel": "fax"}, "channel", id="unknown-channel"),
        pytest.param({"service_number": "12345"}, "service_number", id="malformed-service-number"),
        pytest.param({"notes": "n" * 2001}, "notes", id="notes-too-long"),
    ],
)
def test_bad_submission_is_400_naming_the_field_and_writes_nothing(client, customer, sim, change, field):
    # given a free number and one already held by another order
    PoolNumberFactory(number="18600000001")
    taken = PoolNumberFactory(number="18600000002")
    submit(UserFactory(roles=[Role.AGENT]), CustomerFactory(), sim, taken.number)
    orders_before = Order.objects.count()

    # when the submission has this fault
    response = post(client, {**sim_body(customer, sim), **change})

    # then it is refused naming the field, and nothing is written or held
    assert_error(response, 400, "invalid", field)
    assert Order.objects.count() == orders_before
    assert PoolNumber.objects.get(number="18600000001").status == NumberStatus.AVAILABLE


def test_a_product_no_longer_on_sale_is_400_naming_the_product(client, customer):
    product = ProductFactory(sim=True, active=False)
    PoolNumberFactory(number="18600000001")

    assert_error(post(client, sim_body(customer, product)), 400, "invalid", "product")


@pytest.mark.parametrize("role", [Role.BACK_OFFICE, Role.AREA_MANAGER, Role.MANAGER, Role.COMPLAINT_HANDLER])
def test_roles_that_do_not_sell_get_403(api_for, customer, sim, role):
    PoolNumberFactory(number="18600000001")

    response = post(api_for(role), sim_body(customer, sim))

    assert_error(response, 403, "permission_denied")
    assert not Order.objects.exists()


def test_without_credentials_it_is_401(customer, sim):
    response = APIClient().post(URL, sim_body(customer, sim), format="json")

    assert_error(response, 401, "not_authenticated")


# --- Idempotency-Key ------------------------------------------------------------------------

def test_a_retry_with_the_same_key_returns_the_first_order_and_creates_nothing(client, customer, sim):
    # given a sale submitted with a key
    PoolNumberFactory(number="18600000001")
    body = sim_body(customer, sim)
    first = post(client, body, "sale-42")
    assert first.status_code == 201

    # when the client retries twice (its network dropped the answer)
    replays = [post(client, body, "sale-42") for _ in range(2)]

    # then each retry gets the first order back, marked as a replay; one order, one transition, the number still held once
    for replay in replays:
        assert replay.status_code == 201
        assert replay.json() == first.json()
        assert replay["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert OrderTransition.objects.count() == 1
    assert PoolNumber.objects.get(number="18600000001").order_id == first.json()["id"]


def test_a_retry_of_a_deferred_sale_returns_the_first_callback(client, customer):
    product = ProductFactory(deferred=True)
    body = {"customer": customer.pk, "product": product.code, "callback_at": (timezone.now() + timedelta(days=1)).isoformat()}

    first, again = post(client, body, "cb-1"), post(client, body, "cb-1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert Opportunity.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_creates_nothing(client, customer, sim):
    PoolNumberFactory(number="18600000001")
    PoolNumberFactory(number="18600000002")
    assert post(client, sim_body(customer, sim), "sale-42").status_code == 201

    response = post(client, sim_body(customer, sim, number="18600000002"), "sale-42")

    assert_error(response, 422, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert PoolNumber.objects.get(number="18600000002").status == NumberStatus.AVAILABLE


def test_a_refused_sale_does_not_burn_the_key(client, customer, sim):
    # given a sale refused because the number is not in the pool
    PoolNumberFactory(number="18600000001")
    refused = post(client, sim_body(customer, sim, number="18699999999"), "sale-42")
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()

    # when the client fixes it and retries with the same key
    fixed = post(client, sim_body(customer, sim), "sale-42")

    # then the fixed sale is carried out, once
    assert fixed.status_code == 201, fixed.content
    assert post(client, sim_body(customer, sim), "sale-42").json()["id"] == fixed.json()["id"]
    assert Order.objects.count() == 1


# --- Reading and listing --------------------------------------------------------------------

@pytest.fixture
def orders(customer, sim):
    """Four orders: two SIM sales of the customer (one cancelled), one direct change, one of another customer."""
    agent = UserFactory(roles=[Role.AGENT])
    other = CustomerFactory()
    direct = ProductFactory(direct=True, code="VAS-10")
    sold = submit(agent, customer, sim, PoolNumberFactory(number="18600000011").number)
    cancelled = submit(agent, customer, sim, PoolNumberFactory(number="18600000012").number)
    services.order_cancel(order_id=cancelled.pk, by=agent, reason="changed mind")
    change = services.order_submit(agent=agent, customer=customer, product=direct, service_number="13800138000")
    foreign = submit(agent, other, sim, PoolNumberFactory(number="18600000013").number)
    Order.objects.filter(pk=sold.pk).update(submitted_at=timezone.now() - timedelta(days=10))
    return {"sold": sold, "cancelled": cancelled, "change": change, "foreign": foreign, "customer": customer, "other": other}


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_is_newest_first_and_paginated(client, orders):
    response = client.get(URL, {"page_size": 3})

    body = response.json()
    assert body["count"] == 4
    assert ids(response) == [orders["foreign"].pk, orders["change"].pk, orders["cancelled"].pk]
    assert body["next"] and "page=2" in body["next"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"status": "cancelled"}, ["cancelled"], id="status"),
        pytest.param({"flow": "direct"}, ["change"], id="flow"),
        pytest.param({"product": "VAS-10"}, ["change"], id="product-code"),
        pytest.param({"service_number": "13800138000"}, ["change"], id="line-changed"),
        pytest.param({"service_number": "186-0000-0012"}, ["cancelled"], id="pool-number-sold"),
        pytest.param({"service_number": "13900139000"}, [], id="number-of-nobody"),
        pytest.param({"status": "submitted", "flow": "back_office"}, ["foreign", "sold"], id="status-and-flow"),
    ],
)
def test_list_filters(client, orders, query, expected):
    response = client.get(URL, query)

    assert ids(response) == [orders[name].pk for name in expected]


def test_list_filters_by_customer_and_submitted_range(client, orders):
    customer = orders["customer"]
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()

    assert ids(client.get(URL, {"customer": customer.pk})) == [orders[n].pk for n in ("change", "cancelled", "sold")]
    assert ids(client.get(URL, {"customer": customer.pk, "submitted_after": week_ago})) == [orders[n].pk for n in ("change", "cancelled")]
    assert ids(client.get(URL, {"submitted_before": week_ago})) == [orders["sold"].pk]
    assert ids(client.get(URL, {"submitted_after": timezone.localdate().isoformat()})) == [orders[n].pk for n in ("foreign", "change", "cancelled")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"flow": "teleport"}, "flow"),
        ({"customer": "abc"}, "customer"),
        ({"customer": "1.5"}, "customer"),
        ({"customer": "9" * 25}, "customer"),
        ({"product": "P" * 41}, "product"),
        ({"submitted_after": "yesterday"}, "submitted_after"),
        ({"submitted_before": "2024-13-40"}, "submitted_before"),
        ({"service_number": "123"}, "service_number"),
        ({"service_number": "1" * 25}, "service_number"),
    ],
)
def test_bad_filter_is_400_naming_it(client, orders, query, field):
    assert_error(client.get(URL, query), 400, "invalid", field)


def test_list_reads_a_fixed_number_of_queries(client, orders, customer, sim, django_assert_max_num_queries):
    # given more orders
    agent = UserFactory(roles=[Role.AGENT])
    for n in range(6):
        submit(agent, customer, sim, PoolNumberFactory(number=f"1860000010{n}").number)

    # then a page costs the same few queries whatever its length (no N+1)
    with django_assert_max_num_queries(8):
        assert len(ids(client.get(URL))) == 10


def test_read_one_order(client, orders):
    order = orders["cancelled"]

    body = client.get(f"{URL}{order.pk}/").json()

    assert (body["id"], body["status"], body["closing_reason"], body["customer"]) == (order.pk, "cancelled", "changed mind", order.customer_id)
    assert body["pool_number"] == "18600000012"


@pytest.mark.parametrize("path", ["999999/", "abc/", "999999/history/", "999999999999999999999999/"])
def test_unknown_order_is_404(client, orders, path):
    assert_error(client.get(f"{URL}{path}"), 404, "not_found")


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_delivery_address_is_masked_by_role(api_for, role, sim):
    # given an order of a customer in the reader's own area (so an area manager may read it)
    reader = api_for(role)
    customer = CustomerFactory(area=ServiceAreaFactory(manager=reader.user))
    order = submit(UserFactory(roles=[Role.AGENT]), customer, sim, PoolNumberFactory().number)

    # when the reader reads it alone and in the list
    one = reader.get(f"{URL}{order.pk}/").json()
    (listed,) = reader.get(URL).json()["results"]

    # then the address is whole only for the roles that need it, and nowhere else in the answer
    expected = ADDRESS if role in WHOLE_ADDRESS else MASKED_ADDRESS
    assert one["delivery_address"] == listed["delivery_address"] == expected
    if role not in WHOLE_ADDRESS:
        assert ADDRESS not in str(one)


def test_area_managers_see_only_their_areas_orders(api_for, sim):
    # given an area manager, an order in the managed area and one elsewhere
    manager = api_for(Role.AREA_MANAGER)
    agent = UserFactory(roles=[Role.AGENT])
    mine = submit(agent, CustomerFactory(area=ServiceAreaFactory(manager=manager.user)), sim, PoolNumberFactory().number)
    elsewhere = submit(agent, CustomerFactory(), sim, PoolNumberFactory().number)

    # then the list holds only the managed area's order, and the other one does not exist for them
    assert ids(manager.get(URL)) == [mine.pk]
    assert ids(manager.get(URL, {"customer": elsewhere.customer_id})) == []
    assert_error(manager.get(f"{URL}{elsewhere.pk}/"), 404, "not_found")
    assert_error(manager.get(f"{URL}{elsewhere.pk}/history/"), 404, "not_found")


# --- Cancelling and history ----------------------------------------------------------------------

def test_cancel_releases_the_number_and_records_who_and_why(client, orders):
    order = orders["sold"]

    response = client.post(f"{URL}{order.pk}/cancel/", {"reason": "customer withdrew"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["closing_reason"]) == ("cancelled", "customer withdrew")
    assert PoolNumber.objects.get(number="18600000011").status == NumberStatus.AVAILABLE
    last = order.transitions.order_by("id").last()
    assert (last.transition, last.from_state, last.to_state, last.by, last.reason) == (
        "cancel", "submitted", "cancelled", client.user, "customer withdrew",
    )


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "r" * 501}])
def test_cancel_without_a_reason_is_400_naming_it(client, orders, body):
    order = orders["sold"]

    assert_error(client.post(f"{URL}{order.pk}/cancel/", body, format="json"), 400, "invalid", "reason")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


@pytest.mark.parametrize("status", [OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.DELIVERED, OrderStatus.REJECTED])
def test_cancel_in_a_state_that_does_not_allow_it_is_409_with_the_allowed_states(client, orders, status):
    # given an order already past the point of cancelling
    order = orders["sold"]
    Order.objects.filter(pk=order.pk).update(status=status)

    # when the client tries to cancel it
    response = client.post(f"{URL}{order.pk}/cancel/", {"reason": "too late"}, format="json")

    # then it is refused naming the current state and what may come next, and nothing changes
    body = assert_error(response, 409, "transition_not_allowed")
    assert body["detail"]["current"] == status
    assert isinstance(body["detail"]["allowed"], list) and "cancelled" not in body["detail"]["allowed"]
    order.refresh_from_db()
    assert order.status == status


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AREA_MANAGER, Role.OUTBOUND, Role.COMPLAINT_HANDLER])
def test_roles_that_may_not_cancel_get_403(api_for, orders, role):
    order = orders["sold"]

    assert_error(api_for(role).post(f"{URL}{order.pk}/cancel/", {"reason": "x"}, format="json"), 403, "permission_denied")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_cancel_of_an_unknown_order_is_404(client):
    assert_error(client.post(f"{URL}999999/cancel/", {"reason": "x"}, format="json"), 404, "not_found")


def test_history_lists_the_transitions_oldest_first(client, orders):
    order = orders["cancelled"]

    response = client.get(f"{URL}{order.pk}/history/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert response.json()["count"] == 2
    assert [(r["transition"], r["from_state"], r["to_state"]) for r in rows] == [("submit", "", "submitted"), ("cancel", "submitted", "cancelled")]
    assert rows[1]["reason"] == "changed mind"
    assert rows[1]["by"] == order.created_by.username


# --- Schema ----------------------------------------------------------------------------

def test_the_openapi_schema_documents_the_order_endpoints(api_for):
    schema = api_for(Role.API_CLIENT).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]

    assert {"get", "post"} <= set(paths["/api/v1/orders/"])
    assert "get" in paths["/api/v1/orders/{id}/"]
    assert "post" in paths["/api/v1/orders/{id}/cancel/"]
    assert "get" in paths["/api/v1/orders/{id}/history/"]
    create = paths["/api/v1/orders/"]["post"]
    assert ("header", "Idempotency-Key") in {(p["in"], p["name"]) for p in create["parameters"]}
    assert {"201", "202"} <= set(create["responses"])
    filters = {p["name"] for p in paths["/api/v1/orders/"]["get"]["parameters"]}
    assert {"status", "flow", "customer", "product", "service_number", "submitted_after", "submitted_before", "page"} <= filters
    assert "409" in paths["/api/v1/orders/{id}/cancel/"]["post"]["responses"]
