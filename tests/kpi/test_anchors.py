"""The moments and counters the KPIs are anchored on, as each app's own services set them,
and the data migrations that backfilled them from the append-only transition logs."""
import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintTransition
from complaints.services import callbacks as callback_services
from complaints.services import intake, work
from delivery.models import Shipment, ShipmentStatus, ShipmentTransition
from delivery.services import shipments as shipment_services
from orders import services as order_services
from orders.models import Order, OrderStatus, OrderTransition
from tests.factories import (
    ComplaintCategoryFactory, CustomerFactory, DepartmentFactory, ProductFactory, SubscriptionFactory, TariffPlanFactory, UserFactory,
)

pytestmark = pytest.mark.django_db


def _backfill(migration: str):
    return importlib.import_module(migration).backfill


# --- Complaints: the first resolution and the transfers ------------------------------------------------

def _taken(agent=None) -> Complaint:
    category = ComplaintCategoryFactory()
    return intake.complaint_take(
        agent=agent or UserFactory(roles=["agent"]), customer=CustomerFactory(), category=category, severity="normal",
        description="No signal",
    )


def _handler(department):
    return UserFactory(roles=["complaint_handler"], department=department)


def _reopen(complaint: Complaint) -> None:
    """The customer says at the callback that it is not solved."""
    callback = Callback.objects.filter(complaint=complaint, kind=Callback.Kind.SATISFACTION, status=Callback.Status.DUE).get()
    callback_services.callback_record(callback_id=callback.pk, by=UserFactory(roles=["agent"]), reached=True, satisfaction=2, solved=False)


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_the_first_resolution_is_set_once_and_kept_through_a_reopen_and_a_second_resolution():
    # given a complaint worked and resolved by its department
    complaint = _taken()
    handler = _handler(complaint.department)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Reset the line")
    first = _fresh(complaint)
    assert first.first_resolved_at is not None and first.first_resolved_at == first.resolved_at

    # when the customer reopens it at the callback
    _reopen(complaint)

    # then it is open again, reopened once, and its first resolution is kept
    reopened = _fresh(complaint)
    assert (reopened.status, reopened.reopen_count, reopened.resolved_at) == ("in_progress", 1, None)
    assert reopened.first_resolved_at == first.first_resolved_at

    # when it is resolved a second time
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Replaced the SIM")

    # then the latest resolution moved on and the first did not
    second = _fresh(complaint)
    assert second.resolved_at > first.resolved_at
    assert second.first_resolved_at == first.first_resolved_at


def test_each_transfer_to_another_department_is_counted():
    # given a complaint with its first department
    complaint = _taken()
    assert _fresh(complaint).transfer_count == 0
    second, third = DepartmentFactory(), DepartmentFactory()

    # when it is transferred twice, each time by a handler of the department holding it
    work.complaint_transfer(complaint_id=complaint.pk, department=second, by=_handler(complaint.department), reason="Billing matter")
    work.complaint_transfer(complaint_id=complaint.pk, department=third, by=_handler(second), reason="Network after all")

    # then both are counted, and starting and resolving count none
    handler = _handler(third)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Fixed")
    fresh = _fresh(complaint)
    assert (fresh.transfer_count, fresh.reopen_count, fresh.department) == (2, 0, third)


def test_the_complaints_backfill_restores_the_first_resolution_and_the_transfers_from_the_log():
    # given, made by the services: a complaint transferred, resolved, reopened and resolved again; one never resolved
    complaint = _taken()
    other = DepartmentFactory()
    work.complaint_transfer(complaint_id=complaint.pk, department=other, by=_handler(complaint.department), reason="Billing matter")
    handler = _handler(other)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Credited")
    _reopen(complaint)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Credited again")
    untouched = _taken()
    before = _fresh(complaint)
    resolutions = ComplaintTransition.objects.filter(complaint=complaint, transition="resolve").order_by("at").values_list("at", flat=True)
    resolutions = list(resolutions)
    assert len(resolutions) == 2

    # when the anchors are blank, as before the migration, and its backfill runs
    Complaint.objects.update(first_resolved_at=None, transfer_count=0)
    _backfill("complaints.migrations.0002_kpi_anchors")(apps, None)

    # then the first resolution is the first logged one (not the second), on the same moment to the millisecond,
    # and the transfers are counted again
    restored = _fresh(complaint)
    assert restored.first_resolved_at == resolutions[0]
    assert abs(restored.first_resolved_at - before.first_resolved_at) < timedelta(seconds=1)
    assert restored.transfer_count == 1
    # and a complaint never resolved nor transferred is left as it was
    assert (_fresh(untouched).first_resolved_at, _fresh(untouched).transfer_count) == (None, 0)


# --- Orders: the decision ----------------------------------------------------------------------------

def _back_office_order() -> Order:
    return order_services.order_submit(agent=UserFactory(roles=["agent"]), customer=CustomerFactory(), product=ProductFactory())


def _direct_order() -> Order:
    subscription = SubscriptionFactory()
    product = ProductFactory(direct=True, tariff_plan=TariffPlanFactory(code="5G-199", name="5G 199", monthly_fee=Decimal("199.00")))
    return order_services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=subscription.customer, product=product, service_number=subscription.service_number,
    )


def _clerk():
    return UserFactory(roles=["back_office"])


DECISIONS = {
    "accept": (_back_office_order, lambda o: order_services.order_accept(order_id=o.pk, clerk=_clerk())),
    "reject": (_back_office_order, lambda o: order_services.order_reject(order_id=o.pk, clerk=_clerk(), reason="No ID")),
    # Billing's answers to a direct order, as the outbox delivers them.
    "provision": (_direct_order, lambda o: order_services.order_record_provisioning(order_id=o.pk, purpose="provision", reference="BSS-1")),
    "fail": (
        _direct_order, lambda o: order_services.order_record_provisioning_failure(order_id=o.pk, purpose="provision", reason="Line barred"),
    ),
}


@pytest.mark.parametrize("decision", list(DECISIONS))
def test_an_order_is_decided_when_accepted_rejected_provisioned_or_failed(decision):
    # given a submitted order of the flow that takes this decision
    make, decide = DECISIONS[decision]
    order = make()
    assert _fresh(order).decided_at is None
    before = timezone.now()

    # when it is decided
    decide(order)

    # then the decision's moment is set, and it is the one logged
    decided = _fresh(order)
    assert before <= decided.decided_at <= timezone.now()
    logged = OrderTransition.objects.get(order=order, transition=decision).at
    assert abs(logged - decided.decided_at) < timedelta(seconds=1)
    # and only an acceptance is accepted
    assert (decided.accepted_at == decided.decided_at) if decision == "accept" else decided.accepted_at is None


def test_a_cancellation_after_the_acceptance_keeps_the_decision():
    # given an accepted order
    order = _back_office_order()
    order_services.order_accept(order_id=order.pk, clerk=UserFactory(roles=["back_office"]))
    accepted = _fresh(order)

    # when it is cancelled
    order_services.order_cancel(order_id=order.pk, by=UserFactory(roles=["back_office"]), reason="Customer withdrew")

    # then it is closed, and its decision and acceptance are where they were
    cancelled = _fresh(order)
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.closed_at >= accepted.decided_at
    assert (cancelled.decided_at, cancelled.accepted_at) == (accepted.decided_at, accepted.accepted_at)


def test_an_order_cancelled_before_any_decision_is_never_decided():
    order = _back_office_order()
    order_services.order_cancel(order_id=order.pk, by=UserFactory(roles=["agent"]), reason="Changed their mind")
    assert _fresh(order).decided_at is None


def test_the_orders_backfill_restores_the_first_decision_from_the_log():
    # given orders accepted then cancelled, rejected, provisioned, failed, and one still waiting
    orders = {}
    for decision, (make, decide) in DECISIONS.items():
        orders[decision] = make()
        decide(orders[decision])
    order_services.order_cancel(order_id=orders["accept"].pk, by=UserFactory(roles=["back_office"]), reason="Withdrawn")
    waiting = _back_office_order()
    before = {name: _fresh(order).decided_at for name, order in orders.items()}

    # when decided_at is blank, as before the migration, and its backfill runs
    Order.objects.update(decided_at=None)
    _backfill("orders.migrations.0005_kpi_anchors")(apps, None)

    # then each is its logged decision (the cancellation is none), and the waiting order is still undecided
    for name, order in orders.items():
        restored = _fresh(order).decided_at
        assert restored == OrderTransition.objects.get(order=order, transition=name).at
        assert abs(restored - before[name]) < timedelta(seconds=1)
    assert _fresh(waiting).decided_at is None


# --- Shipments: closed when delivered, returned or cancelled -------------------------------------------

def _deliver(shipment, clerk, at=None):
    return shipment_services.shipment_deliver(
        shipment_id=shipment.pk, by=clerk, signed_by="张三", id_checked=True, amount_collected=shipment.amount_due, payment_method="cash",
        at=at,
    )


def _out_for_delivery(hall, clerk) -> Shipment:
    shipment = shipment_services.shipment_create(order=hall.order(), by=clerk)
    shipment_services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    shipment_services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    return shipment_services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)


def _refused(hall, clerk) -> Shipment:
    """Refused at the door: the attempt fails and the shipment goes back to stock."""
    shipment = shipment_services.shipment_fail(shipment_id=_out_for_delivery(hall, clerk).pk, by=clerk, reason="Refused at the door")
    return shipment_services.shipment_return_to_stock(shipment_id=shipment.pk, by=clerk)


ENDINGS = {
    "delivered": lambda hall, clerk: _deliver(_out_for_delivery(hall, clerk), clerk),
    "returned": _refused,
    "cancelled": lambda hall, clerk: shipment_services.shipment_cancel(
        shipment_id=shipment_services.shipment_create(order=hall.order(), by=clerk).pk, by=clerk, reason="Customer changed their mind",
    ),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_shipment_is_closed_when_delivered_returned_or_cancelled(hall, make_user, ending):
    # given a delivery clerk
    clerk = make_user("delivery_clerk")
    before = timezone.now()

    # when a shipment ends that way
    shipment = _fresh(ENDINGS[ending](hall, clerk))

    # then it is closed now; only a delivery is delivered, at the same moment
    assert shipment.status == ending
    assert before <= shipment.closed_at <= timezone.now()
    assert shipment.delivered_at == (shipment.closed_at if ending == "delivered" else None)


def test_a_failed_attempt_does_not_close_a_shipment_and_a_delivery_recorded_late_closes_it_when_it_happened(hall, make_user):
    # given a shipment whose first attempt failed
    clerk = make_user("delivery_clerk")
    shipment = shipment_services.shipment_fail(shipment_id=_out_for_delivery(hall, clerk).pk, by=clerk, reason="Nobody home")
    assert _fresh(shipment).closed_at is None

    # when the second attempt's delivery is recorded an hour after it happened
    shipment_services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
    at = timezone.now() - timedelta(hours=1)
    _deliver(_fresh(shipment), clerk, at=at)

    # then it is closed at the moment it was delivered
    assert (_fresh(shipment).delivered_at, _fresh(shipment).closed_at) == (at, at)


def test_the_delivery_backfill_restores_the_closing_from_the_delivery_and_the_log(hall, make_user):
    # given shipments delivered, returned and cancelled by the services, and one still on its way
    clerk = make_user("delivery_clerk")
    ended = {ending: _fresh(make(hall, clerk)) for ending, make in ENDINGS.items()}
    on_its_way = _out_for_delivery(hall, clerk)

    # when closed_at is blank, as before the migration, and its backfill runs
    Shipment.objects.update(closed_at=None)
    _backfill("delivery.migrations.0003_kpi_anchors")(apps, None)

    # then a delivery closes when it was delivered, a return or cancellation when it was logged
    assert _fresh(ended["delivered"]).closed_at == ended["delivered"].delivered_at
    for ending in ("returned", "cancelled"):
        restored = _fresh(ended[ending]).closed_at
        assert restored == ShipmentTransition.objects.get(shipment=ended[ending], to_state=ending).at
        assert abs(restored - ended[ending].closed_at) < timedelta(seconds=1)
    # and the one on its way is still open
    assert _fresh(on_its_way).closed_at is None
    assert ShipmentStatus.OUT_FOR_DELIVERY == _fresh(on_its_way).status
