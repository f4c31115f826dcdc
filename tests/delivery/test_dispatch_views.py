"""The delivery clerk's dispatch pages: the pick list (who may see it, what it shows, paging,
creating shipments), the shipments under way by stage, and each shipment step offered, done,
refused by state or role, or turned back for bad input."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.models import Shipment, ShipmentStatus, ShipmentTransition, StockLevel
from delivery.views import dispatch as dispatch_views
from orders.models import NumberStatus, Order, OrderStatus
from tests.delivery.stock_helpers import stock_for
from tests.delivery.support_helpers import make_shipment
from tests.factories import CarrierFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

S = ShipmentStatus
DISPATCH = reverse("delivery:dispatch")


@pytest.fixture
def clerk(client, make_user):
    user = make_user("delivery_clerk")
    client.force_login(user)
    return user


@pytest.fixture
def waiting_order(accepted_order):
    """``waiting_order(...)``: a SIM order accepted by the back office, its SIM held in a hall of the customer's area."""

    def make(*, product=None, customer=None, **fields):
        customer = customer or CustomerFactory()
        product = product or ProductFactory(sim=True, price=Decimal("50.00"))
        hall = stock_for(product, area=customer.area)
        order = accepted_order(product=product, customer=customer, **fields)
        order.hall = hall
        return order

    return make


def step_url(name, shipment):
    return reverse(f"delivery:dispatch_{name}", args=[shipment.pk])


def fresh(shipment) -> Shipment:
    return Shipment.objects.select_related("order__pool_number", "carrier").get(pk=shipment.pk)


def create_url(order):
    return reverse("delivery:dispatch_create", args=[order.pk])


# --- who may -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, allowed", [
    ("delivery_clerk", True), ("admin", True),
    ("back_office", False), ("agent", False), ("account_clerk", False), ("manager", False), ("area_manager", False),
])
def test_dispatch_is_for_roles_that_move_shipments(client, make_user, waiting_order, role, allowed):
    # given an order waiting for its shipment and a shipment under way
    order = waiting_order()
    shipment = make_shipment(S.CREATED)
    client.force_login(make_user(role))

    # when the role opens the pages and tries to create a shipment and pick one
    pages = [client.get(DISPATCH), client.get(step_url("shipment", shipment))]
    create = client.post(create_url(order))
    pick = client.post(step_url("pick", shipment))

    # then only roles that move shipments get in; the others get 403 and nothing moves
    assert [p.status_code for p in pages] == ([200, 200] if allowed else [403, 403])
    if not allowed:
        assert (create.status_code, pick.status_code) == (403, 403)
        assert not Shipment.objects.filter(order=order).exists()
        assert fresh(shipment).status == S.CREATED


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(DISPATCH)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_steps_take_posts_only_and_unknown_records_are_404(client, clerk):
    shipment = make_shipment(S.CREATED)
    assert client.get(step_url("pick", shipment)).status_code == 405
    assert client.get(reverse("delivery:dispatch_shipment", args=[999999])).status_code == 404
    assert client.post(reverse("delivery:dispatch_pick", args=[999999])).status_code == 404
    assert client.post(reverse("delivery:dispatch_create", args=[999999])).status_code == 404


# --- the pick list -----------------------------------------------------------------------------

def test_the_pick_list_shows_accepted_orders_waiting_for_a_shipment_oldest_first(client, clerk, waiting_order, submitted_order):
    # given a preferred and a slower carrier for SIMs, two waiting orders (the second accepted earlier),
    # an order already shipped and one not yet accepted
    CarrierFactory(name="EMS", serves=["sim"], priority=5)
    CarrierFactory(name="SF Express", serves=["sim"], priority=1, promised_hours=24)
    newer = waiting_order(appointment_date=timezone.localdate() + timedelta(days=2), appointment_slot="morning")
    older = waiting_order()
    Order.objects.filter(pk=older.pk).update(accepted_at=timezone.now() - timedelta(hours=5))
    shipped = make_shipment(S.CREATED).order
    not_accepted = submitted_order()

    # when the clerk opens the dispatch page
    response = client.get(DISPATCH)

    # then the waiting orders are listed, oldest acceptance first, nothing else
    assert response.status_code == 200
    listed = [row["order"].pk for row in response.context["rows"]]
    assert listed == [older.pk, newer.pk]
    assert shipped.pk not in listed and not_accepted.pk not in listed
    # with the hall holding the stock, the new number, the appointment and the carrier the rules give it
    row = response.context["rows"][1]
    assert row["hall"] == newer.hall
    assert row["number"] == newer.pool_number.number
    assert row["carrier"].name == "SF Express"
    page = response.content.decode()
    assert newer.hall.name in page and newer.pool_number.number in page
    assert f"{newer.appointment_date:%Y-%m-%d} 09:00–12:00" in page
    assert "SF Express" in page and "promises 24 h" in page
    assert page.count('data-testid="create-shipment"') == 2


def test_numbers_and_addresses_are_masked_for_a_role_that_does_not_talk_to_customers(client, clerk, waiting_order):
    # given a waiting order, and a stores user who may move shipments but neither calls customers nor goes to their door
    order = waiting_order(delivery_address="天津市和平区南京路100号3门501")
    number = order.pool_number.number
    stores = UserFactory()
    stores.user_permissions.add(*Permission.objects.filter(codename__in=["move_shipment", "view_shipment"], content_type__app_label="delivery"))

    # when each opens the pick list
    full = client.get(DISPATCH).content.decode()
    client.force_login(stores)
    masked = client.get(DISPATCH).content.decode()

    # then the clerk sees the whole number and address, the stores user only what they need
    assert number in full and "南京路100号3门501" in full
    assert number not in masked and f"{number[:3]}****{number[-4:]}" in masked
    assert "南京路" not in masked and "天津市和平区****" in masked


def test_the_pick_list_is_paged_and_a_bad_page_number_is_page_one(client, clerk, waiting_order, monkeypatch):
    # given three waiting orders and pages of two
    monkeypatch.setattr(dispatch_views, "ORDERS_PER_PAGE", 2)
    orders = [waiting_order() for _ in range(3)]

    # when the clerk pages through
    first = client.get(DISPATCH)
    second = client.get(DISPATCH, {"page": "2"})
    odd = client.get(DISPATCH, {"page": "abc"})

    # then each page holds its share and links to the other
    assert [r["order"].pk for r in first.context["rows"]] == [o.pk for o in orders[:2]]
    assert [r["order"].pk for r in second.context["rows"]] == [orders[2].pk]
    assert "page=2#pick-list" in first.content.decode()
    assert [r["order"].pk for r in odd.context["rows"]] == [o.pk for o in orders[:2]]


def test_an_order_due_today_is_flagged(client, clerk, waiting_order):
    today = waiting_order(appointment_date=timezone.localdate())
    later = waiting_order()
    rows = {r["order"].pk: r["due"] for r in client.get(DISPATCH).context["rows"]}
    assert rows == {today.pk: True, later.pk: False}


def test_the_hall_filter_narrows_the_pick_list_to_the_hall_holding_the_stock(client, clerk, waiting_order):
    mine, other = waiting_order(), waiting_order()
    response = client.get(DISPATCH, {"hall": mine.hall.pk})
    assert [r["order"].pk for r in response.context["rows"]] == [mine.pk]
    assert other.hall != mine.hall


def test_create_shipment_uses_the_carrier_the_rules_chose_and_leaves_the_pick_list(client, clerk, waiting_order):
    # given a waiting order and two carriers for SIMs, one preferred
    CarrierFactory(name="EMS", serves=["sim"], priority=5)
    CarrierFactory(name="SF Express", serves=["sim"], priority=1, promised_hours=24)
    order = waiting_order()

    # when the clerk creates its shipment from the pick list
    response = client.post(create_url(order), follow=True)

    # then it ships from the hall holding the SIM, with the preferred carrier, and the clerk is told so
    shipment = Shipment.objects.get(order=order)
    assert response.redirect_chain[-1][0] == step_url("shipment", shipment)
    assert (shipment.status, shipment.warehouse, shipment.carrier.name) == (S.CREATED, order.hall, "SF Express")
    assert not shipment.carrier_chosen_by_clerk
    assert shipment.amount_due == Decimal("50.00")
    page = response.content.decode()
    assert "the rules chose SF Express (promises 24 h)" in page
    assert "chosen by the rules" in page
    assert order.pk not in [r["order"].pk for r in client.get(DISPATCH).context["rows"]]


def test_creating_the_same_shipment_twice_is_refused_with_409(client, clerk, waiting_order):
    order = waiting_order()
    CarrierFactory(serves=["sim"])
    assert client.post(create_url(order)).status_code == 302

    response = client.post(create_url(order))

    assert response.status_code == 409
    assert "already has shipment" in response.context["refused"]["message"]
    assert Shipment.objects.filter(order=order).count() == 1


def test_an_order_not_accepted_cannot_be_shipped(client, clerk, submitted_order):
    order = submitted_order()
    response = client.post(create_url(order))
    assert response.status_code == 409
    assert "Only an accepted order can be shipped" in response.content.decode()
    assert not Shipment.objects.filter(order=order).exists()


def test_without_a_carrier_for_the_item_the_shipment_waits_for_the_clerk_to_assign_one(client, clerk, waiting_order):
    # given a waiting SIM order and no carrier delivering SIMs
    CarrierFactory(serves=["handset"])
    order = waiting_order()

    # when the clerk creates and picks its shipment
    response = client.post(create_url(order), follow=True)
    shipment = Shipment.objects.get(order=order)
    client.post(step_url("pick", shipment))
    page = client.get(step_url("shipment", shipment))

    # then it has no carrier, the hand-over is held back saying why, and forcing it is turned back
    assert shipment.carrier is None
    assert "no active carrier delivers this item" in response.content.decode()
    assert "hand_to_carrier" not in page.context["steps"]
    assert "Assign a carrier before handing the shipment over." in page.content.decode()
    forced = client.post(step_url("hand_over", shipment), {"tracking_number": ""})
    assert forced.status_code == 422
    assert "Assign a carrier before handing the shipment over." in forced.content.decode()
    assert fresh(shipment).status == S.PICKED


def test_the_page_reads_the_same_number_of_queries_however_many_rows(client, clerk, waiting_order):
    # given one waiting order and one shipment under way
    waiting_order()
    make_shipment(S.PICKED)
    with CaptureQueriesContext(connection) as one:
        client.get(DISPATCH)

    # when there are three of each
    for _ in range(2):
        waiting_order()
        make_shipment(S.OUT_FOR_DELIVERY)
    with CaptureQueriesContext(connection) as three:
        client.get(DISPATCH)

    # then the page costs no query more: no lookup per row
    assert len(three.captured_queries) == len(one.captured_queries)


# --- the shipments under way ----------------------------------------------------------------------

def test_shipments_under_way_are_grouped_by_stage_with_counts(client, clerk):
    # given shipments at every stage, and closed ones
    by_state = {state: make_shipment(state) for state in (S.FAILED, S.CREATED, S.OUT_FOR_DELIVERY, S.PICKED, S.HANDED_TO_CARRIER)}
    closed = [make_shipment(S.DELIVERED), make_shipment(S.CANCELLED)]

    # when the clerk opens the dispatch page
    response = client.get(DISPATCH)

    # then the open ones are listed stage by stage, each stage counted; closed ones are not there
    listed = [row["shipment"].pk for row in response.context["shipment_rows"]]
    order = [S.CREATED, S.PICKED, S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY, S.FAILED]
    assert listed == [by_state[state].pk for state in order]
    assert all(s.pk not in listed for s in closed)
    assert [(s["status"], s["count"]) for s in response.context["stages"]] == [(state, 1) for state in order]
    page = response.content.decode()
    assert page.count('class="group"') == 5 and 'data-group="out_for_delivery"' in page


def test_shipments_under_way_filter_by_stage_carrier_and_hall(client, clerk):
    picked, handed = make_shipment(S.PICKED), make_shipment(S.HANDED_TO_CARRIER)
    other = make_shipment(S.HANDED_TO_CARRIER)

    def listed(**params):
        return [row["shipment"].pk for row in client.get(DISPATCH, params).context["shipment_rows"]]

    assert listed(status="handed_to_carrier") == [handed.pk, other.pk]
    assert listed(carrier=handed.carrier_id) == [handed.pk]
    assert listed(hall=picked.warehouse_id) == [picked.pk]
    assert listed(status="picked", hall=handed.warehouse_id) == []


@pytest.mark.parametrize("params", [{"status": "delivered"}, {"status": "bogus"}, {"carrier": "x"}, {"hall": "999999"}])
def test_a_filter_not_understood_is_reported_and_ignored(client, clerk, params):
    shipment = make_shipment(S.PICKED)
    response = client.get(DISPATCH, params)
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert [row["shipment"].pk for row in response.context["shipment_rows"]] == [shipment.pk]


def test_shipments_under_way_are_paged_without_losing_the_filters(client, clerk, monkeypatch):
    monkeypatch.setattr(dispatch_views, "SHIPMENTS_PER_PAGE", 1)
    first, second = make_shipment(S.PICKED), make_shipment(S.PICKED)
    make_shipment(S.CREATED)

    one = client.get(DISPATCH, {"status": "picked"})
    two = client.get(DISPATCH, {"status": "picked", "shipments_page": "2"})

    assert [r["shipment"].pk for r in one.context["shipment_rows"]] == [first.pk]
    assert [r["shipment"].pk for r in two.context["shipment_rows"]] == [second.pk]
    assert "status=picked&amp;shipments_page=2#under-way" in one.content.decode()


# --- one shipment: which steps are offered --------------------------------------------------------

@pytest.mark.parametrize("status, offered", [
    (S.CREATED, ["pick", "change-carrier"]),
    (S.PICKED, ["hand-over", "change-carrier"]),
    (S.HANDED_TO_CARRIER, ["out", "return"]),
    (S.OUT_FOR_DELIVERY, ["deliver", "fail", "return"]),
    (S.FAILED, ["out", "return"]),
    (S.DELIVERED, []),
    (S.RETURNED, []),
    (S.CANCELLED, []),
])
def test_each_step_is_offered_only_when_the_state_allows_it(client, clerk, status, offered):
    shipment = make_shipment(status)
    page = client.get(step_url("shipment", shipment)).content.decode()
    buttons = ["pick", "hand-over", "out", "deliver", "fail", "return", "change-carrier"]
    assert [b for b in buttons if f'data-testid="{b}"' in page] == offered
    assert ('data-testid="no-steps"' in page) == (not offered)


def test_a_failed_shipment_offers_a_re_attempt(client, clerk):
    shipment = make_shipment(S.FAILED)
    page = client.get(step_url("shipment", shipment)).content.decode()
    assert "Re-attempt the delivery" in page and "1 attempt so far" in page
    assert 'value="nobody home"' in page  # returning to stock starts from the failure's reason


def test_the_delivery_form_is_prefilled_with_the_amount_due_and_cash(client, clerk):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    response = client.get(step_url("shipment", shipment))
    form = response.context["deliver_form"]
    assert form["amount_collected"].value() == Decimal("50.00")
    assert form["payment_method"].value() == "cash"


def test_the_support_page_links_to_the_dispatch_steps(client, clerk):
    shipment = make_shipment(S.CREATED)
    page = client.get(reverse("delivery:shipment", args=[shipment.pk])).content.decode()
    assert step_url("shipment", shipment) in page


# --- one shipment: the steps done ------------------------------------------------------------------

@pytest.mark.parametrize("start, step, data, end", [
    (S.CREATED, "pick", {}, S.PICKED),
    (S.PICKED, "hand_over", {"tracking_number": "SF9000000001"}, S.HANDED_TO_CARRIER),
    (S.HANDED_TO_CARRIER, "out", {}, S.OUT_FOR_DELIVERY),
    (S.OUT_FOR_DELIVERY, "fail", {"reason": "nobody home"}, S.FAILED),
    (S.FAILED, "out", {}, S.OUT_FOR_DELIVERY),
    (S.OUT_FOR_DELIVERY, "deliver", {"signed_by": "Wang", "id_checked": "on", "amount_collected": "50.00", "payment_method": "cash"}, S.DELIVERED),
])
def test_each_step_moves_the_shipment_and_is_recorded_with_the_clerk(client, clerk, start, step, data, end):
    shipment = make_shipment(start)

    response = client.post(step_url(step, shipment), data)

    assert response.status_code == 302 and response["Location"] == step_url("shipment", shipment)
    assert fresh(shipment).status == end
    last = ShipmentTransition.objects.filter(shipment=shipment).order_by("-id").first()
    assert (last.to_state, last.by) == (end, clerk)


def test_hand_over_without_a_tracking_number_generates_one_and_the_stock_leaves(client, clerk):
    shipment = make_shipment(S.PICKED)

    client.post(step_url("hand_over", shipment), {"tracking_number": ""})

    shipment = fresh(shipment)
    assert shipment.status == S.HANDED_TO_CARRIER
    assert shipment.tracking_number == f"SD{shipment.pk:010d}"
    assert shipment.order.status == OrderStatus.HANDED_TO_DELIVERY
    assert StockLevel.objects.get(warehouse=shipment.warehouse_id).on_hand == 0


def test_a_re_attempt_counts_a_second_attempt(client, clerk):
    shipment = make_shipment(S.FAILED)
    client.post(step_url("out", shipment))
    assert (fresh(shipment).status, fresh(shipment).attempts) == (S.OUT_FOR_DELIVERY, 2)


def test_delivery_by_pos_records_the_money_and_billing_completes_the_order(client, clerk, django_capture_on_commit_callbacks):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(step_url("deliver", shipment), {
            "signed_by": "Wang Fang", "id_checked": "on", "amount_collected": "49.5", "payment_method": "pos", "pos_reference": "POS-7781",
        })

    assert response.status_code == 302
    shipment = fresh(shipment)
    assert (shipment.status, shipment.signed_by, shipment.id_checked) == (S.DELIVERED, "Wang Fang", True)
    assert (shipment.amount_collected, shipment.payment_method, shipment.pos_reference) == (Decimal("49.50"), "pos", "POS-7781")
    assert Order.objects.get(pk=shipment.order_id).status == OrderStatus.COMPLETED
    page = client.get(step_url("shipment", shipment)).content.decode()
    assert "¥49.50 Mobile POS" in page and "POS-7781" in page


def test_return_to_stock_puts_the_item_back_and_cancels_the_order(client, clerk):
    shipment = make_shipment(S.FAILED)

    response = client.post(step_url("return", shipment), {"reason": "customer moved away"})

    assert response.status_code == 302
    shipment = fresh(shipment)
    order = Order.objects.select_related("pool_number").get(pk=shipment.order_id)
    assert (shipment.status, shipment.failure_reason) == (S.RETURNED, "customer moved away")
    assert order.status == OrderStatus.CANCELLED
    assert order.pool_number.status == NumberStatus.AVAILABLE
    assert StockLevel.objects.get(warehouse=shipment.warehouse_id).on_hand == 1


def test_the_clerk_overrides_the_carrier_among_those_serving_the_item(client, clerk):
    # given a picked SIM shipment, another SIM carrier and a carrier that only delivers handsets
    shipment = make_shipment(S.PICKED)
    ems = CarrierFactory(name="EMS", serves=["sim"], priority=9)
    handsets = CarrierFactory(name="Handsets Only", serves=["handset"], priority=1)

    # when the clerk opens the shipment
    form = client.get(step_url("shipment", shipment)).context["carrier_form"]

    # then only the carriers delivering SIMs are offered
    choices = [pk for pk, _label in form.fields["carrier"].choices]
    assert ems.pk in choices and shipment.carrier_id in choices and handsets.pk not in choices

    # and a carrier not serving SIMs is turned back, a SIM carrier taken and marked the clerk's choice
    assert client.post(step_url("carrier", shipment), {"carrier": handsets.pk}).status_code == 422
    assert fresh(shipment).carrier_id != handsets.pk
    response = client.post(step_url("carrier", shipment), {"carrier": ems.pk}, follow=True)
    assert (fresh(shipment).carrier_id, fresh(shipment).carrier_chosen_by_clerk) == (ems.pk, True)
    assert "chosen by the clerk" in response.content.decode()


# --- one shipment: refused by state ----------------------------------------------------------------

NEXT = {
    S.CREATED: ["Cancelled", "Picked"],
    S.PICKED: ["Cancelled", "Handed to carrier"],
    S.HANDED_TO_CARRIER: ["Out for delivery", "Returned to stock"],
    S.OUT_FOR_DELIVERY: ["Delivered", "Delivery failed", "Returned to stock"],
    S.DELIVERED: [],
}


@pytest.mark.parametrize("status, step, data", [
    (S.HANDED_TO_CARRIER, "pick", {}),
    (S.OUT_FOR_DELIVERY, "pick", {}),
    (S.CREATED, "hand_over", {"tracking_number": ""}),
    (S.CREATED, "out", {}),
    (S.DELIVERED, "out", {}),
    (S.HANDED_TO_CARRIER, "deliver", {"signed_by": "Wang", "id_checked": "on", "amount_collected": "50", "payment_method": "cash"}),
    (S.PICKED, "fail", {"reason": "nobody home"}),
    (S.CREATED, "return", {"reason": "damaged"}),
    (S.DELIVERED, "return", {"reason": "damaged"}),
    (S.HANDED_TO_CARRIER, "carrier", {"carrier": "CURRENT"}),
])
def test_a_step_the_state_does_not_allow_is_refused_with_409_and_the_states_possible(client, clerk, status, step, data):
    # given a shipment whose page is stale: it is elsewhere by now
    shipment = make_shipment(status)
    if data.get("carrier") == "CURRENT":
        data = {"carrier": shipment.carrier_id}
    before = ShipmentTransition.objects.filter(shipment=shipment).count()

    # when the clerk posts the step
    response = client.post(step_url(step, shipment), data)

    # then it is refused saying why and what is possible, and nothing moved
    assert response.status_code == 409
    refused = response.context["refused"]
    assert refused["message"]
    assert 'data-testid="refused"' in response.content.decode()
    assert refused["allowed"] == NEXT[status]
    assert fresh(shipment).status == status
    assert ShipmentTransition.objects.filter(shipment=shipment).count() == before


def test_a_role_without_the_permission_cannot_post_a_step(client, make_user):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    client.force_login(make_user("back_office"))
    response = client.post(step_url("deliver", shipment), {"signed_by": "x", "id_checked": "on", "amount_collected": "1", "payment_method": "cash"})
    assert response.status_code == 403
    assert fresh(shipment).status == S.OUT_FOR_DELIVERY


# --- one shipment: bad input ----------------------------------------------------------------------

GOOD_DELIVERY = {"signed_by": "Wang", "id_checked": "on", "amount_collected": "50.00", "payment_method": "cash", "pos_reference": ""}


@pytest.mark.parametrize("change, field, message", [
    ({"amount_collected": "-1"}, "amount_collected", "greater than or equal to 0"),
    ({"amount_collected": "abc"}, "amount_collected", "Enter a number."),
    ({"amount_collected": "1.234"}, "amount_collected", "decimal places"),
    ({"amount_collected": ""}, "amount_collected", "This field is required."),
    ({"payment_method": "pos", "pos_reference": ""}, "pos_reference", "A POS payment needs the POS reference."),
    ({"payment_method": "pos", "pos_reference": "   "}, "pos_reference", "A POS payment needs the POS reference."),
    ({"id_checked": ""}, "id_checked", "The customer's identity document must be checked at the door."),
    ({"signed_by": ""}, "signed_by", "This field is required."),
    ({"signed_by": "x" * 61}, "signed_by", "at most 60 characters"),
    ({"payment_method": "cheque"}, "payment_method", "Select a valid choice."),
])
def test_bad_delivery_input_is_turned_back_with_422_and_changes_nothing(client, clerk, change, field, message):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    data = {k: v for k, v in {**GOOD_DELIVERY, **change}.items() if v != "" or k != "id_checked"}

    response = client.post(step_url("deliver", shipment), data)

    assert response.status_code == 422
    form = response.context["deliver_form"]
    assert any(message in e for e in form.errors[field])
    assert message.replace("'", "&#x27;") in response.content.decode()
    shipment = fresh(shipment)
    assert (shipment.status, shipment.amount_collected) == (S.OUT_FOR_DELIVERY, None)
    assert shipment.order.status == OrderStatus.HANDED_TO_DELIVERY


@pytest.mark.parametrize("tracking_number, message", [
    ("!!", "A tracking number is 4 to 40 letters, digits or dashes."),
    ("SF" + "1" * 40, "at most 40 characters"),
])
def test_a_bad_tracking_number_is_turned_back(client, clerk, tracking_number, message):
    shipment = make_shipment(S.PICKED)
    response = client.post(step_url("hand_over", shipment), {"tracking_number": tracking_number})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert fresh(shipment).status == S.PICKED


def test_a_tracking_number_the_carrier_already_used_is_turned_back(client, clerk):
    first = make_shipment(S.HANDED_TO_CARRIER)
    second = make_shipment(S.PICKED, carrier=first.carrier)
    response = client.post(step_url("hand_over", second), {"tracking_number": first.tracking_number})
    assert response.status_code == 422
    assert "already has a shipment with this tracking number" in response.content.decode()
    assert fresh(second).status == S.PICKED


@pytest.mark.parametrize("step", ["fail", "return"])
def test_a_failure_or_return_needs_a_reason(client, clerk, step):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    response = client.post(step_url(step, shipment), {"reason": ""})
    assert response.status_code == 422
    assert response.context[f"{'fail' if step == 'fail' else 'return'}_form"].errors["reason"]
    assert fresh(shipment).status == S.OUT_FOR_DELIVERY


def test_a_carrier_value_not_understood_is_a_form_error_not_a_500(client, clerk):
    shipment = make_shipment(S.CREATED)
    response = client.post(step_url("carrier", shipment), {"carrier": "not-a-number"})
    assert response.status_code == 422
    assert fresh(shipment).carrier_id is not None

