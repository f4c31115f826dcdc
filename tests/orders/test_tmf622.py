"""TMF622 Product Ordering Management v4 over our orders: create, retrieve, list, cancel, errors, states."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders import services
from orders.models import NumberStatus, Order, OrderStatus, PoolNumber
from orders.tmf622 import TMF_STATE, TMF_STATES
from servicedesk.roles import Role
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, ServiceAreaFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productOrderingManagement/v4"
ORDERS = f"{BASE}/productOrder"
CANCELS = f"{BASE}/cancelProductOrder"
TOMORROW = timezone.localdate() + timedelta(days=1)
ADDRESS = "天津市和平区南京路100号3门501"

# Written out by hand from the mapping table in orders/tmf622.py.
EXPECTED_STATE = {
    "submitted": "acknowledged",
    "accepted": "inProgress",
    "handed_to_delivery": "inProgress",
    "delivered": "inProgress",
    "activated": "inProgress",
    "provisioned": "inProgress",
    "completed": "completed",
    "failed": "failed",
    "rejected": "rejected",
    "cancelled": "cancelled",
}


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
    return ProductFactory(sim=True, code="SIM-5G", name="5G SIM", price=Decimal("50.00"))


def product_order(customer, code="SIM-5G", number="18600000001", **changes):
    body = {
        "externalId": "CRM-0001",
        "note": [{"text": "Call before delivery"}],
        "channel": [{"id": "app_hall"}],
        "relatedParty": [{"id": str(customer.pk), "role": "Customer", "@referredType": "Individual"}],
        "productOrderItem": [{
            "id": "01",
            "action": "add",
            "quantity": 1,
            "productOffering": {"id": code},
            "product": {"productCharacteristic": [
                {"name": "poolNumber", "value": number},
                {"name": "deliveryAddress", "value": ADDRESS},
                {"name": "appointmentDate", "value": TOMORROW.isoformat()},
                {"name": "appointmentSlot", "value": "afternoon"},
            ]},
            "@type": "ProductOrderItem",
        }],
        "@type": "ProductOrder",
    }
    body.update(changes)
    return body


def assert_tmf_error(response, status, code=None, mentions=()):
    """The status and the TMF Error body (code, reason, message, status, referenceError, @type)."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "reason", "message", "status", "referenceError", "@type"}, body
    assert body["@type"] == "Error"
    assert body["status"] == str(status)
    assert body["reason"].strip() and body["message"].strip()
    assert body["referenceError"].startswith("http://testserver/api/docs/")
    if code is not None:
        assert body["code"] == code, body
    for text in mentions:
        assert text in body["message"], body
    return body


def create(client, body, key=None):
    return client.post(ORDERS, body, format="json", headers={"Idempotency-Key": key} if key else {})


def submit(customer, product, number=None, **fields):
    """An order taken by an agent through the service, on a fresh pool number unless one is given."""
    return services.order_submit(
        agent=UserFactory(roles=[Role.AGENT]), customer=customer, product=product, pool_number=(number or PoolNumberFactory()).number,
        delivery_address=ADDRESS, appointment_date=TOMORROW, appointment_slot="morning", **fields,
    )


# --- create / retrieve --------------------------------------------------------------------

def test_create_answers_201_with_the_product_order(client, customer, sim):
    # given a free number
    PoolNumberFactory(number="18600000001", price=Decimal("88.00"))

    # when a TMF client posts a product order
    response = create(client, product_order(customer))

    # then our order exists and comes back in the TMF shape
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    href = f"http://testserver{ORDERS}/{order.pk}"
    assert (body["id"], body["href"], body["@type"], response["Location"]) == (str(order.pk), href, "ProductOrder", href)
    assert (body["state"], body["externalId"], body["category"]) == ("acknowledged", "CRM-0001", "back_office")
    assert body["orderDate"]
    assert "completionDate" not in body
    assert body["note"] == [{"text": "Call before delivery", "@type": "Note"}]
    assert body["channel"][0]["id"] == "app_hall"
    assert body["relatedParty"] == [{
        "id": str(customer.pk), "href": f"http://testserver/api/v1/customers/{customer.pk}/", "name": customer.name,
        "role": "Customer", "@referredType": "Individual",
    }]
    assert body["orderTotalPrice"][0]["price"]["taxIncludedAmount"] == {"unit": "CNY", "value": 138.0}
    (item,) = body["productOrderItem"]
    assert (item["id"], item["action"], item["quantity"], item["state"]) == ("1", "add", 1, "acknowledged")
    assert item["productOffering"]["id"] == "SIM-5G"
    characteristics = {c["name"]: c["value"] for c in item["product"]["productCharacteristic"]}
    assert characteristics == {
        "poolNumber": "18600000001", "deliveryAddress": "天津市和平区****",  # the API client's role sees it masked
        "appointmentDate": TOMORROW.isoformat(), "appointmentSlot": "afternoon",
    }
    # and the order is what order_submit makes of it
    assert (order.customer, order.product, order.channel, order.notes) == (customer, sim, "app_hall", "Call before delivery")
    assert (order.delivery_address, order.appointment_date, order.appointment_slot) == (ADDRESS, TOMORROW, "afternoon")
    assert PoolNumber.objects.get(number="18600000001").status == NumberStatus.RESERVED


def test_retrieve_returns_what_create_returned(client, customer, sim):
    PoolNumberFactory(number="18600000001")
    created = create(client, product_order(customer)).json()

    response = client.get(f"{ORDERS}/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_retrieve_selects_first_level_attributes_with_fields(client, customer, sim):
    PoolNumberFactory(number="18600000001")
    created = create(client, product_order(customer)).json()

    body = client.get(f"{ORDERS}/{created['id']}", {"fields": "state,externalId"}).json()

    assert body == {"id": created["id"], "href": created["href"], "@type": "ProductOrder", "state": "acknowledged", "externalId": "CRM-0001"}


def test_a_direct_product_changes_the_line_and_completes(client, customer, django_capture_on_commit_callbacks):
    # given a direct product (a tariff change) ordered on the customer's existing line
    ProductFactory(direct=True, code="VAS-10")
    body = product_order(customer, code="VAS-10", externalId="")
    body["productOrderItem"][0]["product"] = {"productCharacteristic": [{"name": "serviceNumber", "value": "+86 138 0013 8000"}]}

    # when it is created and billing runs after commit
    with django_capture_on_commit_callbacks(execute=True):
        response = create(client, body)

    # then the order is completed, with its completion date
    assert response.status_code == 201, response.content
    order = client.get(f"{ORDERS}/{response.json()['id']}").json()
    assert (order["state"], order["category"]) == ("completed", "direct")
    assert order["completionDate"]
    assert "externalId" not in order
    assert {"name": "serviceNumber", "valueType": "string", "value": "13800138000"} in order["productOrderItem"][0]["product"]["productCharacteristic"]


@pytest.mark.parametrize(
    ("change", "mentions"),
    [
        pytest.param({"productOrderItem": []}, ["productOrderItem"], id="no-item"),
        pytest.param({"relatedParty": [{"id": "1", "role": "Payer"}]}, ["relatedParty", "Customer"], id="no-customer-party"),
        pytest.param({"relatedParty": [{"id": "999999", "role": "customer"}]}, ["relatedParty[0].id"], id="unknown-customer"),
        pytest.param({"relatedParty": [{"id": "abc", "role": "Customer"}]}, ["relatedParty[0].id"], id="customer-id-not-a-number"),
        pytest.param({"relatedParty": [{"id": "9" * 20, "role": "Customer"}]}, ["relatedParty[0].id"], id="customer-id-beyond-bigint"),
        pytest.param({"channel": [{"id": "fax"}]}, ["channel[0].id"], id="unknown-channel"),
        pytest.param({"note": [{"text": "n" * 2001}]}, ["note[0].text"], id="note-too-long"),
        pytest.param({"externalId": "x" * 101}, ["externalId"], id="external-id-too-long"),
    ],
)
def test_bad_product_order_is_400_naming_the_attribute(client, customer, sim, change, mentions):
    PoolNumberFactory(number="18600000001")

    response = create(client, product_order(customer, **change))

    assert_tmf_error(response, 400, "invalid", mentions)
    assert not Order.objects.exists()


def _item(body, **changes):
    body["productOrderItem"][0].update(changes)
    return body


@pytest.mark.parametrize(
    ("edit", "mentions"),
    [
        pytest.param(lambda b: b["productOrderItem"].append(dict(b["productOrderItem"][0])), ["Exactly one item"], id="two-items"),
        pytest.param(lambda b: _item(b, action="modify"), ["productOrderItem[0].action"], id="action-modify"),
        pytest.param(lambda b: _item(b, quantity=2), ["productOrderItem[0].quantity"], id="quantity-two"),
        pytest.param(lambda b: _item(b, productOffering={"id": "NOPE"}), ["productOrderItem[0].productOffering.id"], id="unknown-offering"),
        pytest.param(lambda b: _item(b, productOffering={}), ["productOrderItem[0].productOffering.id"], id="offering-without-id"),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].append({"name": "colour", "value": "red"}),
            ["productCharacteristic[4].name"], id="unknown-characteristic",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].append({"name": "poolNumber", "value": "18600000001"}),
            ["productCharacteristic[4].name"], id="characteristic-twice",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].__setitem__(2, {"name": "appointmentDate", "value": "soon"}),
            ["productCharacteristic[2].value"], id="bad-date",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].__setitem__(2, {"name": "appointmentDate", "value": "2030-02-30"}),
            ["productCharacteristic[2].value"], id="no-such-day",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].__setitem__(0, {"name": "poolNumber", "value": 186}),
            ["productCharacteristic[0].value"], id="number-not-a-string",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].__setitem__(0, {"name": "poolNumber", "value": "18699999999"}),
            ["productOrderItem.product.productCharacteristic.poolNumber", "18699999999"], id="number-not-in-pool",
        ),
        pytest.param(
            lambda b: b["productOrderItem"][0]["product"]["productCharacteristic"].pop(1),
            ["productOrderItem.product.productCharacteristic.deliveryAddress"], id="no-delivery-address",
        ),
    ],
)
def test_bad_order_item_is_400_naming_its_path(client, customer, sim, edit, mentions):
    PoolNumberFactory(number="18600000001")
    body = product_order(customer)
    edit(body)

    response = create(client, body)

    assert_tmf_error(response, 400, "invalid", mentions)
    assert not Order.objects.exists()
    assert PoolNumber.objects.get(number="18600000001").status == NumberStatus.AVAILABLE


def test_a_deferred_offering_is_400_pointing_to_the_callback_api(client, customer):
    ProductFactory(deferred=True, code="FTTH-UP")
    body = product_order(customer, code="FTTH-UP")
    body["productOrderItem"][0].pop("product")

    assert_tmf_error(create(client, body), 400, "invalid", ["productOrderItem[0].productOffering.id", "/api/v1/orders/"])
    assert not Order.objects.exists()


def test_an_external_id_is_one_order_per_client(client, api_for, customer, sim):
    # given an order created with an externalId
    PoolNumberFactory(number="18600000001")
    PoolNumberFactory(number="18600000002")
    first = create(client, product_order(customer)).json()

    # when the same client posts another order with it (without an Idempotency-Key)
    again = create(client, product_order(customer, number="18600000002"))

    # then it is a conflict naming the first order, and nothing is written
    assert_tmf_error(again, 409, "external_id_reused", [first["id"]])
    assert Order.objects.count() == 1
    assert PoolNumber.objects.get(number="18600000002").status == NumberStatus.AVAILABLE
    # and another client may use the same reference for its own order; each sees only its own
    other = api_for(Role.API_CLIENT)
    theirs = create(other, product_order(customer, number="18600000002"))
    assert theirs.status_code == 201, theirs.content
    assert [o["id"] for o in client.get(ORDERS, {"externalId": "CRM-0001"}).json()] == [first["id"]]
    assert [o["id"] for o in other.get(ORDERS, {"externalId": "CRM-0001"}).json()] == [theirs.json()["id"]]
    assert "externalId" not in other.get(f"{ORDERS}/{first['id']}").json()


def test_a_refused_product_order_does_not_keep_its_external_id(client, customer, sim):
    # given a product order refused because its number is not in the pool
    PoolNumberFactory(number="18600000001")
    refused = create(client, product_order(customer, number="18699999999"))
    assert refused.status_code == 400

    # when the client corrects it and posts it again with the same externalId
    fixed = create(client, product_order(customer))

    # then it is created and found by that externalId
    assert fixed.status_code == 201, fixed.content
    assert [o["id"] for o in client.get(ORDERS, {"externalId": "CRM-0001"}).json()] == [fixed.json()["id"]]


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order(client, customer, sim):
    PoolNumberFactory(number="18600000001")
    body = product_order(customer)

    first, again = create(client, body, "po-1"), create(client, body, "po-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_tmf_422(client, customer, sim):
    PoolNumberFactory(number="18600000001")
    PoolNumberFactory(number="18600000002")
    assert create(client, product_order(customer), "po-1").status_code == 201

    response = create(client, product_order(customer, number="18600000002", externalId="CRM-0002"), "po-1")

    assert_tmf_error(response, 422, "idempotency_key_reused")
    assert Order.objects.count() == 1


# --- list --------------------------------------------------------------------------------

@pytest.fixture
def orders(customer, sim):
    """Five orders, oldest first: three of the customer (one cancelled, one completed), two of another customer."""
    other = CustomerFactory()
    made = [submit(customer, sim), submit(customer, sim), submit(customer, sim), submit(other, sim), submit(other, ProductFactory(sim=True, code="HANDSET"))]
    services.order_cancel(order_id=made[1].pk, by=UserFactory(roles=[Role.AGENT]), reason="changed mind")
    Order.objects.filter(pk=made[2].pk).update(status=OrderStatus.COMPLETED, closed_at=timezone.now())
    Order.objects.filter(pk=made[0].pk).update(submitted_at=timezone.now() - timedelta(days=10))
    return made


def listed(response):
    assert response.status_code == 200, response.content
    return [int(o["id"]) for o in response.json()]


def test_list_answers_newest_first_with_the_count_headers(client, orders):
    response = client.get(ORDERS)

    assert listed(response) == [o.pk for o in reversed(orders)]
    assert (response["X-Total-Count"], response["X-Result-Count"]) == ("5", "5")


def test_offset_and_limit_window_the_list(client, orders):
    response = client.get(ORDERS, {"offset": 1, "limit": 2})

    assert listed(response) == [orders[3].pk, orders[2].pk]
    assert (response["X-Total-Count"], response["X-Result-Count"]) == ("5", "2")
    past_the_end = client.get(ORDERS, {"offset": 10})
    assert listed(past_the_end) == []
    assert (past_the_end["X-Total-Count"], past_the_end["X-Result-Count"]) == ("5", "0")
    count_only = client.get(ORDERS, {"limit": 0, "state": "acknowledged"})
    assert (listed(count_only), count_only["X-Total-Count"]) == ([], "3")


def test_fields_selects_attributes_in_the_list(client, orders):
    rows = client.get(ORDERS, {"fields": "state, relatedParty", "limit": 1}).json()

    assert set(rows[0]) == {"id", "href", "@type", "state", "relatedParty"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"state": "acknowledged"}, [4, 3, 0], id="state"),
        pytest.param({"state": "completed,cancelled"}, [2, 1], id="two-states"),
        pytest.param({"state": "held"}, [], id="state-we-never-use"),
        pytest.param({"productOrderItem.productOffering.id": "HANDSET"}, [4], id="offering"),
        pytest.param({"category": "direct"}, [], id="category"),
    ],
)
def test_attribute_filters(client, orders, query, expected):
    assert listed(client.get(ORDERS, query)) == [orders[i].pk for i in expected]


def test_filters_by_customer_and_order_date(client, orders):
    customer_id = orders[0].customer_id
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()

    assert listed(client.get(ORDERS, {"relatedParty.id": customer_id})) == [orders[i].pk for i in (2, 1, 0)]
    assert listed(client.get(ORDERS, {"relatedParty.id": customer_id, "orderDate.gt": week_ago})) == [orders[i].pk for i in (2, 1)]
    assert listed(client.get(ORDERS, {"orderDate.lte": week_ago})) == [orders[0].pk]
    assert listed(client.get(ORDERS, {"orderDate.gte": timezone.localdate().isoformat()})) == [orders[i].pk for i in (4, 3, 2, 1)]


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ({"fields": "state,colour"}, ["fields", "colour"]),
        ({"limit": "-1"}, ["limit"]),
        ({"limit": "abc"}, ["limit"]),
        ({"limit": "201"}, ["limit"]),
        ({"offset": "1.5"}, ["offset"]),
        ({"state": "lost"}, ["state"]),
        ({"category": "teleport"}, ["category"]),
        ({"relatedParty.id": "abc"}, ["relatedParty.id"]),
        ({"relatedParty.id": "9" * 19}, ["relatedParty.id"]),
        ({"orderDate.gt": "yesterday"}, ["orderDate.gt"]),
        ({"orderDate.lt": "2024-13-40"}, ["orderDate.lt"]),
        ({"orderDate.gte": "2024-02-30T25:00:00"}, ["orderDate.gte"]),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_bad_list_parameters_are_400(client, orders, query, mentions):
    assert_tmf_error(client.get(ORDERS, query), 400, "invalid", mentions)


def test_area_managers_see_only_their_areas_product_orders(api_for, sim):
    manager = api_for(Role.AREA_MANAGER)
    mine = submit(CustomerFactory(area=ServiceAreaFactory(manager=manager.user)), sim)
    elsewhere = submit(CustomerFactory(), sim)

    response = manager.get(ORDERS)

    assert listed(response) == [mine.pk]
    assert response["X-Total-Count"] == "1"
    assert_tmf_error(manager.get(f"{ORDERS}/{elsewhere.pk}"), 404, "not_found")
    assert manager.get(f"{ORDERS}/{mine.pk}").json()["productOrderItem"][0]["product"]["productCharacteristic"][1]["value"] == ADDRESS


def test_a_list_page_costs_a_fixed_number_of_queries(client, orders, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert len(listed(client.get(ORDERS))) == 5


# --- state mapping ---------------------------------------------------------------------------

def test_every_status_has_a_tmf_state_of_the_specification():
    assert set(TMF_STATE) == set(OrderStatus.values)
    assert set(TMF_STATE.values()) <= set(TMF_STATES)
    assert len(TMF_STATES) == 11


@pytest.mark.parametrize("status", OrderStatus.values)
def test_each_status_is_shown_as_its_tmf_state(client, customer, sim, status):
    # given an order in this status
    order = submit(customer, sim)
    Order.objects.filter(pk=order.pk).update(status=status, closed_at=timezone.now(), closing_reason="why")

    # when it is read and filtered through TMF622
    body = client.get(f"{ORDERS}/{order.pk}").json()

    # then the order and its item carry the mapped state, and the state filter finds it
    assert body["state"] == body["productOrderItem"][0]["state"] == EXPECTED_STATE[status]
    assert listed(client.get(ORDERS, {"state": EXPECTED_STATE[status]})) == [order.pk]
    assert ("completionDate" in body) == (status == "completed")
    assert ("cancellationDate" in body and body.get("cancellationReason") == "why") == (status == "cancelled")


# --- cancelProductOrder --------------------------------------------------------------------

def cancel(client, order_id, reason="customer withdrew", **extra):
    return client.post(CANCELS, {"productOrder": {"id": str(order_id)}, "cancellationReason": reason, **extra}, format="json")


def test_cancel_product_order_cancels_at_once_and_is_listed(client, customer, sim):
    # given an acknowledged product order
    order = submit(customer, sim, PoolNumberFactory(number="18600000001"))

    # when the client requests its cancellation
    response = cancel(client, order.pk)

    # then the request is done, the order cancelled and its number free again
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["@type"], body["state"], body["cancellationReason"]) == ("CancelProductOrder", "done", "customer withdrew")
    assert body["productOrder"] == {"id": str(order.pk), "href": f"http://testserver{ORDERS}/{order.pk}", "@referredType": "ProductOrder"}
    assert body["effectiveCancellationDate"]
    assert response["Location"] == body["href"] == f"http://testserver{CANCELS}/{body['id']}"
    assert client.get(f"{ORDERS}/{order.pk}").json()["state"] == "cancelled"
    assert PoolNumber.objects.get(number="18600000001").status == NumberStatus.AVAILABLE
    # and it can be read back, alone and in the list
    assert client.get(f"{CANCELS}/{body['id']}").json() == body
    listing = client.get(CANCELS, {"productOrder.id": order.pk, "state": "done"})
    assert listing.json() == [body]
    assert (listing["X-Total-Count"], listing["X-Result-Count"]) == ("1", "1")
    assert client.get(CANCELS, {"state": "inProgress"}).json() == []
    assert set(client.get(CANCELS, {"fields": "state"}).json()[0]) == {"id", "href", "@type", "state"}


@pytest.mark.parametrize("status", ["completed", "cancelled", "delivered", "rejected", "failed"])
def test_a_cancellation_that_is_not_allowed_is_a_tmf_409_and_leaves_no_record(client, customer, sim, status):
    order = submit(customer, sim)
    Order.objects.filter(pk=order.pk).update(status=status)

    response = cancel(client, order.pk)

    assert_tmf_error(response, 409, "transition_not_allowed", [EXPECTED_STATE[status]])
    assert client.get(CANCELS).json() == []
    order.refresh_from_db()
    assert order.status == status


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        pytest.param({"productOrder": {"id": "999999"}, "cancellationReason": "x"}, ["productOrder.id"], id="unknown-order"),
        pytest.param({"cancellationReason": "x"}, ["productOrder"], id="no-order"),
        pytest.param({"productOrder": {"id": "ORDER"}}, ["productOrder.id"], id="order-id-not-a-number"),
        pytest.param(None, ["cancellationReason"], id="no-reason"),
        pytest.param("future", ["requestedCancellationDate"], id="scheduled-cancellation"),
    ],
)
def test_bad_cancellation_requests_are_400(client, customer, sim, body, mentions):
    order = submit(customer, sim)
    if body is None:
        body = {"productOrder": {"id": str(order.pk)}}
    elif body == "future":
        body = {"productOrder": {"id": str(order.pk)}, "cancellationReason": "x", "requestedCancellationDate": (timezone.now() + timedelta(days=2)).isoformat()}

    assert_tmf_error(client.post(CANCELS, body, format="json"), 400, "invalid", mentions)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_roles_that_may_not_cancel_get_a_tmf_403(api_for, customer, sim):
    order = submit(customer, sim)

    assert_tmf_error(cancel(api_for(Role.MANAGER), order.pk), 403, "permission_denied")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_unknown_cancellation_is_404(client):
    assert_tmf_error(client.get(f"{CANCELS}/999999"), 404, "not_found")
    assert_tmf_error(client.get(f"{CANCELS}/abc"), 404, "not_found")


# --- errors and access --------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"{ORDERS}/999999", f"{ORDERS}/abc", f"{ORDERS}/99999999999999999999999"])
def test_unknown_product_order_is_a_tmf_404(client, path):
    assert_tmf_error(client.get(path), 404, "not_found")


def test_without_credentials_it_is_a_tmf_401(customer):
    assert_tmf_error(APIClient().get(ORDERS), 401, "not_authenticated")
    assert_tmf_error(APIClient().post(ORDERS, product_order(customer), format="json"), 401, "not_authenticated")


def test_a_role_that_may_not_order_gets_a_tmf_403(api_for, customer, sim):
    PoolNumberFactory(number="18600000001")

    assert_tmf_error(create(api_for(Role.BACK_OFFICE), product_order(customer)), 403, "permission_denied")
    assert not Order.objects.exists()


@pytest.mark.parametrize("method", ["patch", "delete", "put"])
def test_changing_or_deleting_a_product_order_is_a_tmf_405(client, customer, sim, method):
    order = submit(customer, sim)

    response = getattr(client, method)(f"{ORDERS}/{order.pk}", {"state": "completed"}, format="json")

    assert_tmf_error(response, 405, "method_not_allowed")
    assert Order.objects.filter(pk=order.pk, status=OrderStatus.SUBMITTED).exists()


def test_a_body_that_is_not_json_is_a_tmf_error(client):
    response = client.post(ORDERS, "{not json", content_type="application/json")
    assert_tmf_error(response, 400, "parse_error")
    assert_tmf_error(client.post(ORDERS, "a=b", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")


def test_the_openapi_schema_documents_tmf622(api_for):
    schema = api_for(Role.API_CLIENT).get("/api/schema/", {"format": "json"}).json()
    operations = {
        (path, method): op["operationId"]
        for path, ops in schema["paths"].items() if path.startswith("/tmf-api/productOrderingManagement/")
        for method, op in ops.items()
    }

    assert operations == {
        (ORDERS, "get"): "listProductOrder",
        (ORDERS, "post"): "createProductOrder",
        (ORDERS + "/{id}", "get"): "retrieveProductOrder",
        (CANCELS, "get"): "listCancelProductOrder",
        (CANCELS, "post"): "createCancelProductOrder",
        (CANCELS + "/{id}", "get"): "retrieveCancelProductOrder",
    }
    headers = schema["paths"][ORDERS]["get"]["responses"]["200"]["headers"]
    assert {"X-Total-Count", "X-Result-Count"} <= set(headers)
    assert {"code", "reason", "message", "status", "referenceError", "@type"} <= set(schema["components"]["schemas"]["TMFError"]["properties"])
