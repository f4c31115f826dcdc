"""The carrier tracking API (signed per carrier, replay-proof, order-proof) and the read-only shipments API."""
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from delivery.carrier_auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from delivery.models import SerialUnit, Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent
from delivery.services import notices
from delivery.services import shipments as services
from orders.models import NumberStatus, OrderStatus, PoolNumber
from servicedesk.models import Subscription
from servicedesk.roles import Role
from tests.delivery.shipment_helpers import EVENTS, Hall, body_of, delivered, event, minutes_ago, post_raw, post_signed
from tests.factories import CarrierCredentialFactory, CarrierFactory, CustomerFactory, ServiceAreaFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(accepted_order):
    return Hall(accepted_order, price=Decimal("50.00"))


@pytest.fixture
def clerk(make_user):
    return make_user("delivery_clerk")


@pytest.fixture
def sent_notices(monkeypatch):
    sent = []
    real = notices.shipment_notice

    def spy(*, shipment, kind, **kwargs):
        sent.append(kind)
        return real(shipment=shipment, kind=kind, **kwargs)

    monkeypatch.setattr(notices, "shipment_notice", spy)
    return sent


def handed_over(hall, clerk, **fields) -> Shipment:
    shipment = services.shipment_create(order=hall.order(**fields), by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    return services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)


def fresh(shipment) -> Shipment:
    return Shipment.objects.select_related("order").get(pk=shipment.pk)


def steps(shipment) -> list[str]:
    return list(ShipmentTransition.objects.filter(shipment=shipment).order_by("id").values_list("transition", flat=True))


def snapshot(shipment):
    """Everything an event could change."""
    s = fresh(shipment)
    return (s.status, s.attempts, s.last_event_at, s.order.status, TrackingEvent.objects.count(), ShipmentTransition.objects.count())


# --- The whole path ----------------------------------------------------------------------------------

def test_the_whole_path_from_an_accepted_order_to_an_activated_line_through_the_carrier_api(
    hall, clerk, sent_notices, django_capture_on_commit_callbacks,
):
    # given an accepted SIM order with a new number: it is on the pick list
    from delivery.selectors import pick_list

    order = hall.order()
    assert order in pick_list()

    # when the clerk creates, picks and hands its shipment to the carrier
    shipment = services.shipment_create(order=order, by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk, tracking_number="SF2026112300001")
    assert fresh(shipment).order.status == OrderStatus.HANDED_TO_DELIVERY

    # and the carrier reports it out for delivery, then delivered (billing runs after commit)
    out = post_signed(event("SF2026112300001", "out_for_delivery", minutes_ago(60), event_id="EV-1"), hall.credential)
    with django_capture_on_commit_callbacks(execute=True):
        done = post_signed(delivered("SF2026112300001", minutes_ago(5), event_id="EV-2", payment_method="pos", pos_reference="POS-77"), hall.credential)

    # then both were applied
    assert out.status_code == 200, out.content
    assert out.json()["results"] == [{"event_id": "EV-1", "result": "applied", "shipment": shipment.pk, "status": "out_for_delivery", "note": ""}]
    assert done.status_code == 200, done.content
    assert (done.json()["applied"], done.json()["results"][0]["status"]) == (1, "delivered")
    # and the shipment holds what the courier recorded
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.DELIVERED
    assert (shipment.signed_by, shipment.id_checked, shipment.amount_collected, shipment.payment_method, shipment.pos_reference) == (
        "张三", True, Decimal("50.00"), "pos", "POS-77")
    assert steps(shipment) == ["create", "pick", "hand_to_carrier", "go_out_for_delivery", "deliver"]
    # and the order was activated by billing and completed, the number sold and the line live
    order = shipment.order
    assert order.status == OrderStatus.COMPLETED
    number = PoolNumber.objects.get(pk=order.pool_number_id)
    assert number.status == NumberStatus.SOLD
    assert Subscription.objects.get(service_number=number.number).customer_id == order.customer_id
    assert hall.sku.units.get().status == SerialUnit.Status.DELIVERED
    assert sent_notices == ["before_delivery", "activated"]
    assert list(TrackingEvent.objects.filter(shipment=shipment).values_list("event_id", "applied")) == [("EV-1", True), ("EV-2", True)]


# --- Replays and order of arrival ----------------------------------------------------------------------

def test_the_same_event_sent_twice_is_stored_once_and_changes_nothing_the_second_time(hall, clerk):
    # given a shipment the carrier reported out for delivery
    shipment = handed_over(hall, clerk)
    report = event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(10), event_id="EV-DUP")
    first = post_signed(report, hall.credential)
    before = snapshot(shipment)

    # when the carrier sends the very same event again
    again = post_signed(report, hall.credential)

    # then it is answered "duplicate" and nothing changed
    assert first.json()["applied"] == 1
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert again.json()["results"][0]["result"] == "duplicate"
    assert snapshot(shipment) == before
    assert TrackingEvent.objects.filter(event_id="EV-DUP").count() == 1
    assert fresh(shipment).attempts == 1


def test_a_replayed_event_id_with_another_body_is_still_a_duplicate(hall, clerk):
    # given a failure reported as EV-9
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(event(number, "failed", minutes_ago(10), event_id="EV-9", reason="nobody home"), hall.credential)
    before = snapshot(shipment)

    # when a later message reuses EV-9 for a delivery
    answer = post_signed(delivered(number, minutes_ago(1), event_id="EV-9"), hall.credential)

    # then the id decides: nothing changes
    assert answer.json()["results"][0]["result"] == "duplicate"
    assert snapshot(shipment) == before


def test_another_carrier_may_use_the_same_event_id(hall, clerk):
    # given two shipments of the hall, one with each of two carriers
    shipment = handed_over(hall, clerk)
    other = CarrierCredentialFactory(carrier=CarrierFactory())
    theirs = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_assign_carrier(shipment_id=theirs.pk, carrier_id=other.carrier_id, by=clerk)
    services.shipment_pick(shipment_id=theirs.pk, by=clerk)
    services.shipment_hand_to_carrier(shipment_id=theirs.pk, by=clerk)

    # when each carrier reports its own event "1"
    a = post_signed(event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(3), event_id="1"), hall.credential)
    b = post_signed(event(fresh(theirs).tracking_number, "out_for_delivery", minutes_ago(3), event_id="1"), other)

    # then ids are each carrier's own: both apply
    assert (a.json()["applied"], b.json()["applied"]) == (1, 1)
    assert TrackingEvent.objects.filter(event_id="1").count() == 2


def test_delivered_while_handed_over_walks_through_out_for_delivery(hall, clerk, sent_notices):
    # given a shipment the carrier never reported out for delivery
    shipment = handed_over(hall, clerk)

    # when it reports it delivered
    answer = post_signed(delivered(fresh(shipment).tracking_number, minutes_ago(2)), hall.credential)

    # then the shipment went out and was delivered, each step recorded; the order moved on
    assert answer.json()["applied"] == 1
    shipment = fresh(shipment)
    assert (shipment.status, shipment.attempts) == (ShipmentStatus.DELIVERED, 1)
    assert steps(shipment)[-2:] == ["go_out_for_delivery", "deliver"]
    assert shipment.order.status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    assert sent_notices[0] == "before_delivery"


def test_events_arriving_out_of_order_are_stored_by_occurrence_and_never_move_a_shipment_back(hall, clerk, api_for):
    # given a shipment whose delivery the carrier reports before the earlier "out for delivery" and "in transit"
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(delivered(number, minutes_ago(5), event_id="late-3"), hall.credential)
    before = snapshot(shipment)

    # when the earlier events arrive
    out = post_signed(event(number, "out_for_delivery", minutes_ago(30), event_id="early-2"), hall.credential)
    transit = post_signed(event(number, "in_transit", minutes_ago(90), event_id="early-1"), hall.credential)

    # then they are stored but not applied, and the shipment stays delivered
    assert [out.json()["results"][0]["result"], transit.json()["results"][0]["result"]] == ["stored", "stored"]
    status, attempts, last_event_at, order_status, _events, transitions = snapshot(shipment)
    assert (status, attempts, last_event_at, order_status, transitions) == (before[0], before[1], before[2], before[3], before[5])
    # and the history lists them in order of occurrence, not of arrival
    history = api_for(Role.DELIVERY_CLERK).get(f"/api/v1/shipments/{shipment.pk}/events/").json()["results"]
    assert [(e["event_id"], e["applied"]) for e in history] == [("early-1", False), ("early-2", False), ("late-3", True)]


def test_an_event_older_than_the_last_applied_one_is_not_applied_even_if_it_would_be_a_step_forward(hall, clerk):
    # given a failure reported at 10 minutes ago
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(event(number, "failed", minutes_ago(10), event_id="f", reason="nobody home"), hall.credential)

    # when a return that happened before it arrives
    answer = post_signed(event(number, "returned", minutes_ago(20), event_id="r"), hall.credential)

    # then it is kept, not applied: the order is not cancelled on the strength of an old report
    assert answer.json()["results"][0] == {"event_id": "r", "result": "stored", "shipment": shipment.pk, "status": "failed",
                                           "note": "older than the last applied event"}
    assert fresh(shipment).order.status == OrderStatus.HANDED_TO_DELIVERY


def test_a_failed_delivery_is_attempted_again_through_the_carrier_api(hall, clerk, sent_notices):
    # given a shipment out, then failed
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(event(number, "out_for_delivery", minutes_ago(50), event_id="a1-out"), hall.credential)
    post_signed(event(number, "failed", minutes_ago(40), event_id="a1-failed", reason="nobody home"), hall.credential)
    assert (fresh(shipment).status, fresh(shipment).failure_reason) == (ShipmentStatus.FAILED, "nobody home")

    # when the carrier goes out again the next day and delivers (sent in one batch)
    answer = post_signed({"events": [
        delivered(number, minutes_ago(5), event_id="a2-delivered"),
        event(number, "out_for_delivery", minutes_ago(20), event_id="a2-out"),
    ]}, hall.credential)

    # then both apply in order of occurrence: a second attempt, delivered
    assert [r["result"] for r in answer.json()["results"]] == ["applied", "applied"]
    shipment = fresh(shipment)
    assert (shipment.status, shipment.attempts) == (ShipmentStatus.DELIVERED, 2)
    assert sent_notices == ["before_delivery", "failed", "before_delivery"]


def test_a_return_reported_by_the_carrier_restocks_the_sim_and_cancels_the_order_releasing_its_number(hall, clerk):
    # given a failed delivery
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(event(number, "failed", minutes_ago(30), event_id="f1", reason="refused"), hall.credential)

    # when the carrier reports it returned to the hall
    answer = post_signed(event(number, "returned", minutes_ago(1), event_id="r1", reason="customer refused"), hall.credential)

    # then the shipment is returned, the SIM free on the shelf, the order cancelled and its number free again
    assert answer.json()["applied"] == 1
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.RETURNED
    unit = hall.sku.units.get()
    assert (unit.status, unit.warehouse_id) == (SerialUnit.Status.IN_STOCK, hall.warehouse.pk)
    assert shipment.order.status == OrderStatus.CANCELLED
    assert "customer refused" in shipment.order.closing_reason
    assert PoolNumber.objects.get(pk=shipment.order.pool_number_id).status == NumberStatus.AVAILABLE


def test_a_return_after_urgent_activation_restocks_but_leaves_the_live_line_to_the_desk(
    hall, clerk, make_user, django_capture_on_commit_callbacks,
):
    # given a shipment whose order was activated ahead of delivery
    from orders import services as order_services

    shipment = handed_over(hall, clerk)
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_request_urgent_activation(order_id=shipment.order_id, by=make_user("back_office"))
    assert fresh(shipment).order.status == OrderStatus.ACTIVATED

    # when the carrier reports it returned
    answer = post_signed(event(fresh(shipment).tracking_number, "returned", minutes_ago(1), event_id="r", reason="refused"), hall.credential)

    # then the SIM is back, but the activated order (a live line) is not cancelled behind anyone's back
    assert answer.json()["applied"] == 1
    assert fresh(shipment).status == ShipmentStatus.RETURNED
    assert hall.sku.units.get().status == SerialUnit.Status.IN_STOCK
    assert fresh(shipment).order.status == OrderStatus.ACTIVATED


def test_an_event_whose_consequences_are_refused_is_kept_unapplied_and_nothing_is_half_written(hall, clerk, monkeypatch):
    # given the stock refuses to take the SIM back
    from django.core.exceptions import ValidationError

    from delivery.services import stock

    def refuse(**kwargs):
        raise ValidationError({"stock": ["the hall is closed"]})

    monkeypatch.setattr(stock, "stock_return_for_order", refuse)
    shipment = handed_over(hall, clerk)
    before = snapshot(shipment)

    # when the carrier reports the return
    answer = post_signed(event(fresh(shipment).tracking_number, "returned", minutes_ago(1), event_id="r"), hall.credential)

    # then the event is kept, not applied, with the reason; the shipment and order did not move
    assert answer.status_code == 200
    assert answer.json()["results"][0]["result"] == "stored"
    assert "the hall is closed" in answer.json()["results"][0]["note"]
    assert TrackingEvent.objects.get(event_id="r").applied is False
    status, attempts, last_event_at, order_status, _events, transitions = snapshot(shipment)
    assert (status, attempts, last_event_at, order_status, transitions) == (before[0], before[1], before[2], before[3], before[5])


def test_events_after_the_end_are_kept_and_change_nothing(hall, clerk):
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    post_signed(delivered(number, minutes_ago(10), event_id="d"), hall.credential)
    before = snapshot(shipment)

    answer = post_signed(event(number, "failed", minutes_ago(1), event_id="f", reason="?"), hall.credential)

    assert answer.json()["results"][0]["note"] == "not a step forward"
    assert snapshot(shipment)[:4] == before[:4]


# --- Authentication -------------------------------------------------------------------------------

def _case_headers(case, credential, raw):
    now = int(time.time())
    good = signed_headers(key_id=credential.key_id, secret=credential.secret, body=raw, timestamp=now)
    if case == "no headers":
        return {}
    if case == "no signature":
        return {k: v for k, v in good.items() if k != SIGNATURE_HEADER}
    if case == "wrong secret":
        return signed_headers(key_id=credential.key_id, secret="not-the-secret", body=raw, timestamp=now)
    if case == "body changed after signing":
        return signed_headers(key_id=credential.key_id, secret=credential.secret, body=raw.replace(b"out_for", b"xut_for"), timestamp=now)
    if case == "timestamp changed after signing":
        return {**good, TIMESTAMP_HEADER: str(now - 1)}
    if case == "unknown key":
        return {**signed_headers(key_id="nobody", secret=credential.secret, body=raw, timestamp=now)}
    if case == "stale timestamp":
        return signed_headers(key_id=credential.key_id, secret=credential.secret, body=raw, timestamp=now - 6 * 60)
    if case == "timestamp from the future":
        return signed_headers(key_id=credential.key_id, secret=credential.secret, body=raw, timestamp=now + 6 * 60)
    if case == "timestamp not a number":
        return {**good, TIMESTAMP_HEADER: "yesterday"}
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no headers", "signature_missing"),
        ("no signature", "signature_missing"),
        ("wrong secret", "bad_signature"),
        ("body changed after signing", "bad_signature"),
        ("timestamp changed after signing", "bad_signature"),
        ("unknown key", "unknown_key"),
        ("stale timestamp", "stale_timestamp"),
        ("timestamp from the future", "stale_timestamp"),
        ("timestamp not a number", "stale_timestamp"),
    ],
)
def test_requests_not_signed_right_get_401_in_the_error_shape_and_change_nothing(hall, clerk, case, code):
    # given a shipment and an event about it
    shipment = handed_over(hall, clerk)
    raw = body_of(event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1), event_id="E1"))
    before = snapshot(shipment)

    # when it is sent signed wrongly
    answer = post_raw(raw, _case_headers(case, hall.credential, raw))

    # then 401 in the one error shape, and nothing stored or moved
    assert answer.status_code == 401, answer.content
    assert answer.json()["code"] == code
    assert set(answer.json()) == {"code", "message", "detail"}
    assert answer["WWW-Authenticate"].startswith("HMAC-SHA256")
    assert snapshot(shipment) == before
    assert TrackingEvent.objects.count() == 0


@pytest.mark.parametrize("what", ["key", "carrier"])
def test_an_inactive_key_or_carrier_is_refused(hall, clerk, what):
    shipment = handed_over(hall, clerk)
    target = hall.credential if what == "key" else hall.carrier
    type(target).objects.filter(pk=target.pk).update(active=False)

    answer = post_signed(event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1)), hall.credential)

    assert (answer.status_code, answer.json()["code"]) == (401, "unknown_key")
    assert fresh(shipment).status == ShipmentStatus.HANDED_TO_CARRIER


def test_a_staff_token_does_not_open_the_carrier_api(hall, clerk, api_for):
    shipment = handed_over(hall, clerk)

    answer = api_for(Role.ADMIN).post(EVENTS, event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1)), format="json")

    assert answer.status_code == 401
    assert fresh(shipment).status == ShipmentStatus.HANDED_TO_CARRIER


# --- Whose shipment, and what is a valid event ---------------------------------------------------------

def test_a_carrier_cannot_report_on_another_carriers_shipment(hall, clerk):
    # given a shipment carried by the hall's carrier, and a second carrier with its own key
    shipment = handed_over(hall, clerk)
    intruder = CarrierCredentialFactory(carrier=CarrierFactory())
    before = snapshot(shipment)

    # when the second carrier reports on it, alone and in a batch
    alone = post_signed(event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1), event_id="x1"), intruder)
    batch = post_signed({"events": [event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1), event_id="x2")]}, intruder)

    # then 404 alone, not_found in the batch, and nothing stored
    assert (alone.status_code, alone.json()["code"]) == (404, "not_found")
    assert batch.status_code == 200
    assert batch.json()["results"][0]["result"] == "not_found"
    assert snapshot(shipment) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "teleported"}, "code"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"event_id": ""}, "event_id"),
        ({"tracking_number": "X" * 41}, "tracking_number"),
        ({"code": "delivered"}, "signed_by"),
        ({"code": "delivered", "signed_by": "张三", "id_checked": False, "amount_collected": "1", "payment_method": "cash"}, "id_checked"),
        ({"code": "delivered", "signed_by": "张三", "id_checked": True, "amount_collected": "-5", "payment_method": "cash"}, "amount_collected"),
        ({"code": "delivered", "signed_by": "张三", "id_checked": True, "amount_collected": "5", "payment_method": "pos"}, "pos_reference"),
        ({"code": "failed"}, "reason"),
    ],
)
def test_an_invalid_event_gets_400_naming_the_field_and_stores_nothing(hall, clerk, change, field):
    shipment = handed_over(hall, clerk)
    before = snapshot(shipment)

    answer = post_signed({**event(fresh(shipment).tracking_number, "out_for_delivery", minutes_ago(1)), **change}, hall.credential)

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "invalid"
    assert field in answer.json()["detail"]
    assert snapshot(shipment) == before


def test_a_batch_with_one_invalid_event_is_refused_whole(hall, clerk):
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number
    before = snapshot(shipment)

    answer = post_signed({"events": [event(number, "out_for_delivery", minutes_ago(3), event_id="ok"), event(number, "nonsense", minutes_ago(2))]}, hall.credential)

    assert answer.status_code == 400
    assert "events" in answer.json()["detail"]
    assert snapshot(shipment) == before


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"42", b'{"events": []}', b'{"events": "x"}'])
def test_a_body_that_is_not_events_gets_400(hall, raw):
    answer = post_raw(raw, signed_headers(key_id=hall.credential.key_id, secret=hall.credential.secret, body=raw))

    assert answer.status_code == 400, answer.content
    assert set(answer.json()) == {"code", "message", "detail"}


def test_a_batch_is_limited_to_a_hundred_events(hall, clerk):
    shipment = handed_over(hall, clerk)
    number = fresh(shipment).tracking_number

    answer = post_signed({"events": [event(number, "in_transit", minutes_ago(9), event_id=str(n)) for n in range(101)]}, hall.credential)

    assert answer.status_code == 400
    assert TrackingEvent.objects.count() == 0


# --- Reading shipments --------------------------------------------------------------------------------

@pytest.fixture
def shipment_on_line(hall, clerk):
    shipment = handed_over(hall, clerk)
    return fresh(shipment), PoolNumber.objects.get(pk=fresh(shipment).order.pool_number_id).number


@pytest.mark.parametrize("by", ["order", "tracking_number", "service_number"])
def test_the_support_desk_finds_a_shipment_by_order_tracking_number_or_service_number(api_for, hall, clerk, shipment_on_line, by):
    shipment, number = shipment_on_line
    handed_over(hall, clerk)  # another one, not to be found
    query = {"order": shipment.order_id, "tracking_number": shipment.tracking_number, "service_number": number}[by]

    rows = api_for(Role.DELIVERY_CLERK).get("/api/v1/shipments/", {by: query}).json()["results"]

    assert [r["id"] for r in rows] == [shipment.pk]
    assert rows[0]["service_number"] == number
    assert rows[0]["carrier"] == hall.carrier.code
    assert rows[0]["status"] == "handed_to_carrier"
    assert rows[0]["amount_due"] == "50.00"


@pytest.mark.parametrize(("role", "whole"), [(Role.DELIVERY_CLERK, True), (Role.BACK_OFFICE, True), (Role.OUTBOUND, False), (Role.COMPLAINT_HANDLER, False)])
def test_the_delivery_address_is_masked_for_roles_that_do_not_go_there(api_for, shipment_on_line, role, whole):
    shipment, _number = shipment_on_line

    row = api_for(role).get(f"/api/v1/shipments/{shipment.pk}/").json()

    address = shipment.order.delivery_address
    assert row["delivery_address"] == (address if whole else address[:6] + "****")


def test_an_area_manager_sees_the_shipments_of_their_areas_only(api_for, make_user, hall, clerk, shipment_on_line):
    shipment, _number = shipment_on_line
    manager = make_user(Role.AREA_MANAGER)
    mine = handed_over(hall, clerk, customer=CustomerFactory(area=ServiceAreaFactory(manager=manager)))
    client = api_for(user=manager)

    assert [r["id"] for r in client.get("/api/v1/shipments/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/v1/shipments/{shipment.pk}/").status_code == 404


def test_a_client_system_may_not_read_shipments(api_for, shipment_on_line):
    assert api_for(Role.API_CLIENT).get("/api/v1/shipments/").status_code == 403


@pytest.mark.parametrize(("param", "value"), [("order", "abc"), ("status", "lost"), ("service_number", "12")])
def test_bad_filters_get_400_naming_them(api_for, param, value):
    answer = api_for(Role.DELIVERY_CLERK).get("/api/v1/shipments/", {param: value})

    assert answer.status_code == 400
    assert param in answer.json()["detail"]


def test_the_shipment_history_lists_every_step_oldest_first(api_for, shipment_on_line, clerk):
    shipment, _number = shipment_on_line

    rows = api_for(Role.AGENT).get(f"/api/v1/shipments/{shipment.pk}/history/").json()["results"]

    assert [(r["transition"], r["to_state"], r["by"]) for r in rows] == [
        ("create", "created", clerk.username), ("pick", "picked", clerk.username), ("hand_to_carrier", "handed_to_carrier", clerk.username),
    ]


def test_the_read_api_is_read_only(api_for, shipment_on_line):
    shipment, _number = shipment_on_line
    client = api_for(Role.ADMIN)

    # (403 or 405: the role check may answer before the method check; either way nothing is written)
    assert client.post("/api/v1/shipments/", {}, format="json").status_code in (403, 405)
    assert client.patch(f"/api/v1/shipments/{shipment.pk}/", {"status": "delivered"}, format="json").status_code in (403, 405)
    assert Shipment.objects.count() == 1
    assert fresh(shipment).status == ShipmentStatus.HANDED_TO_CARRIER


# --- Documentation ---------------------------------------------------------------------------------------

def test_the_schema_documents_the_signature_and_stays_free_of_warnings():
    # the command fails on any warning or on an invalid schema
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()

    assert "/api/v1/carrier/events/:" in schema
    assert 'HMAC-SHA256(secret, timestamp + "." + raw body)' in schema
    for header in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        assert f"name: {header}" in schema
    assert "/api/v1/shipments/{id}/history/:" in schema
