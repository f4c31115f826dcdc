"""Tracking events and shipments under real concurrency on PostgreSQL: stored once, applied once."""
from decimal import Decimal

import pytest

from delivery.carrier_auth import signed_headers
from delivery.models import Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent
from delivery.services import shipments as services
from servicedesk.api.errors import Conflict
from tests.concurrency import run_concurrently
from tests.delivery.shipment_helpers import Hall, body_of, delivered, event, minutes_ago, post_raw

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


@pytest.fixture
def hall(accepted_order):
    return Hall(accepted_order, price=Decimal("50.00"))


def handed_over(hall, clerk) -> Shipment:
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    return Shipment.objects.get(pk=shipment.pk)


def test_the_same_event_posted_by_eight_clients_at_once_is_stored_and_applied_once(hall, make_user):
    # given a shipment with the carrier, and one delivery report signed once
    shipment = handed_over(hall, make_user("delivery_clerk"))
    raw = body_of(delivered(shipment.tracking_number, minutes_ago(1), event_id="EV-STORM"))
    headers = signed_headers(key_id=hall.credential.key_id, secret=hall.credential.secret, body=raw)

    # when the carrier's retry storm sends it 8 times at the same moment
    answers = run_concurrently(lambda n: post_raw(raw, headers), workers=WORKERS)

    # then every request is answered 200, one applied it and the others were told it is a duplicate
    assert [a.status_code for a in answers] == [200] * WORKERS, [a.content for a in answers]
    results = sorted(a.json()["results"][0]["result"] for a in answers)
    assert results == ["applied"] + ["duplicate"] * (WORKERS - 1)
    # and it is stored once, and the shipment went out and was delivered exactly once
    assert TrackingEvent.objects.filter(event_id="EV-STORM").count() == 1
    shipment = Shipment.objects.select_related("order").get(pk=shipment.pk)
    assert (shipment.status, shipment.attempts) == (ShipmentStatus.DELIVERED, 1)
    assert list(ShipmentTransition.objects.filter(shipment=shipment).values_list("transition", flat=True).order_by("id"))[-2:] == [
        "go_out_for_delivery", "deliver",
    ]
    assert shipment.order.transitions.filter(transition="mark_delivered").count() == 1


def test_different_events_of_one_shipment_at_once_leave_it_where_the_newest_says(hall, make_user):
    # given a shipment and 8 distinct reports about it, the newest a delivery
    shipment = handed_over(hall, make_user("delivery_clerk"))
    reports = [event(shipment.tracking_number, "in_transit", minutes_ago(60 - n), event_id=f"T{n}") for n in range(WORKERS - 2)]
    reports += [event(shipment.tracking_number, "out_for_delivery", minutes_ago(20), event_id="OUT"),
                delivered(shipment.tracking_number, minutes_ago(2), event_id="DELIVERED")]

    def send(n):
        raw = body_of(reports[n])
        return post_raw(raw, signed_headers(key_id=hall.credential.key_id, secret=hall.credential.secret, body=raw))

    # when they all arrive at the same moment
    answers = run_concurrently(send, workers=WORKERS)

    # then all are stored once, and whatever the arrival order the shipment ends delivered after one attempt
    assert [a.status_code for a in answers] == [200] * WORKERS
    assert TrackingEvent.objects.filter(shipment=shipment).count() == WORKERS
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.status, shipment.attempts) == (ShipmentStatus.DELIVERED, 1)
    assert ShipmentTransition.objects.filter(shipment=shipment, transition="deliver").count() == 1


def test_eight_clerks_creating_the_shipment_of_one_order_at_once_create_one(hall, make_user):
    # given an accepted order and 8 delivery clerks
    order = hall.order()
    clerks = [make_user("delivery_clerk") for _ in range(WORKERS)]

    def create(n):
        try:
            return services.shipment_create(order=order, by=clerks[n]).pk
        except Conflict:
            return None

    # when they all create its shipment at once
    created = run_concurrently(create, workers=WORKERS)

    # then one shipment exists and the others were told so
    assert len([pk for pk in created if pk]) == 1
    assert Shipment.objects.filter(order=order).count() == 1
