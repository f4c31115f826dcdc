"""Shipments through delivery.services.shipments: the pick list, carrier rules, every step and every refusal."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from delivery import selectors
from delivery.models import Carrier, SerialUnit, Shipment, ShipmentStatus, ShipmentTransition, StockReservation
from delivery.services import notices
from delivery.services import shipments as services
from orders.models import ItemKind, NumberStatus, OrderStatus, OrderTransition, PoolNumber
from servicedesk.api.errors import Conflict
from servicedesk.fsm import TransitionRefused
from servicedesk.registry import panels_for, timeline_for
from tests.delivery.shipment_helpers import Hall
from tests.factories import CarrierFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(accepted_order):
    return Hall(accepted_order, price=Decimal("129.00"))


@pytest.fixture
def clerk(make_user):
    return make_user("delivery_clerk")


@pytest.fixture
def sent_notices(monkeypatch):
    """The notices the shipment services ask for, (shipment id, kind), passed on to the real notices service."""
    sent = []
    real = notices.shipment_notice

    def spy(*, shipment, kind, **kwargs):
        sent.append((shipment.pk, kind))
        return real(shipment=shipment, kind=kind, **kwargs)

    monkeypatch.setattr(notices, "shipment_notice", spy)
    return sent


def handed_over(hall, clerk, **fields) -> Shipment:
    order = hall.order(**fields)
    shipment = services.shipment_create(order=order, by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    return services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)


def out_for_delivery(hall, clerk, **fields) -> Shipment:
    shipment = handed_over(hall, clerk, **fields)
    return services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)


def fresh(shipment) -> Shipment:
    return Shipment.objects.select_related("order__pool_number").get(pk=shipment.pk)


def steps(shipment) -> list[tuple[str, str, str]]:
    return list(ShipmentTransition.objects.filter(shipment=shipment).order_by("id").values_list("transition", "from_state", "to_state"))


def deliver(shipment, by, **overrides):
    fields = {"signed_by": "张三", "id_checked": True, "amount_collected": Decimal("129.00"), "payment_method": "cash", **overrides}
    return services.shipment_deliver(shipment_id=shipment.pk, by=by, **fields)


# --- The pick list and creating shipments ---------------------------------------------------------

def test_pick_list_holds_accepted_orders_with_an_item_to_deliver_and_no_live_shipment(hall, clerk, submitted_order):
    # given an accepted SIM order, one already shipped, a submitted one and an accepted order for a product without an item
    waiting = hall.order()
    shipped = hall.order()
    services.shipment_create(order=shipped, by=clerk)
    not_yet_accepted = submitted_order(product=hall.product, customer=CustomerFactory(area=hall.area))

    # when the clerk opens the pick list
    listed = list(selectors.pick_list())

    # then only the waiting order is on it
    assert waiting in listed
    assert shipped not in listed
    assert not_yet_accepted not in listed


def test_a_cancelled_shipment_puts_nothing_back_on_the_pick_list_but_frees_the_order_for_a_new_one(hall, clerk):
    # given an order whose shipment was cancelled by the desk (which cancels the order too)
    order = hall.order()
    shipment = services.shipment_create(order=order, by=clerk)
    services.shipment_cancel(shipment_id=shipment.pk, by=clerk, reason="customer changed their mind")

    # then the cancelled order is not to be picked
    assert order not in list(selectors.pick_list())


def test_shipment_copies_the_appointment_and_amount_and_ships_from_the_hall_holding_the_stock(hall, clerk):
    # given an accepted order whose SIM is held in the hall
    order = hall.order()
    held = StockReservation.objects.get(order=order, status=StockReservation.Status.HELD)

    # when the clerk creates its shipment
    shipment = services.shipment_create(order=order, by=clerk)

    # then it copies what the customer agreed to, ships from that hall and was recorded
    assert shipment.status == ShipmentStatus.CREATED
    assert shipment.warehouse == held.warehouse == hall.warehouse
    assert (shipment.appointment_date, shipment.appointment_slot) == (order.appointment_date, order.appointment_slot)
    assert shipment.amount_due == order.price == Decimal("129.00")
    assert shipment.tracking_number == ""
    assert steps(shipment) == [("create", "", "created")]


def test_carrier_is_assigned_by_preference_then_promised_time_among_active_carriers_serving_the_item(hall, clerk):
    # given carriers: the hall's own (preference 100, 48 h), a faster one at the same preference,
    # a preferred one that only carries handsets, and an even more preferred inactive one
    fast = CarrierFactory(serves=[ItemKind.SIM], promised_hours=24, priority=100)
    CarrierFactory(serves=[ItemKind.HANDSET], priority=1)
    CarrierFactory(serves=[ItemKind.SIM], priority=1, active=False)

    # when a SIM order is shipped
    shipment = services.shipment_create(order=hall.order(), by=clerk)

    # then the fastest active carrier of the best preference that carries SIMs gets it
    assert shipment.carrier == fast
    assert not shipment.carrier_chosen_by_clerk

    # and a preferred carrier wins over a faster one
    preferred = CarrierFactory(serves=[ItemKind.SIM], promised_hours=72, priority=10, kind=Carrier.Kind.PARTNER)
    assert services.shipment_create(order=hall.order(), by=clerk).carrier == preferred


def test_without_a_carrier_serving_the_item_the_shipment_waits_for_the_clerk_to_assign_one(hall, clerk):
    # given no active carrier carries SIMs
    Carrier.objects.update(active=False)
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)

    # then it has no carrier, and cannot be handed over until one is assigned
    assert shipment.carrier is None
    with pytest.raises(ValidationError) as refused:
        services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    assert "carrier" in refused.value.message_dict
    assert fresh(shipment).status == ShipmentStatus.PICKED


def test_clerk_overrides_the_carrier_before_hand_over_and_not_after(hall, clerk):
    # given a created shipment with the rules' carrier and a partner firm that also carries SIMs
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    partner = CarrierFactory(serves=[ItemKind.SIM], kind=Carrier.Kind.PARTNER, priority=500)

    # when the clerk chooses the partner
    services.shipment_assign_carrier(shipment_id=shipment.pk, carrier_id=partner.pk, by=clerk)

    # then it carries it, marked as the clerk's choice and recorded
    assert (fresh(shipment).carrier, fresh(shipment).carrier_chosen_by_clerk) == (partner, True)
    assert steps(shipment)[-1] == ("assign_carrier", "created", "created")

    # and once handed over, the carrier can no longer change (409 naming the state)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    with pytest.raises(TransitionRefused) as refused:
        services.shipment_assign_carrier(shipment_id=shipment.pk, carrier_id=hall.carrier.pk, by=clerk)
    assert refused.value.current == ShipmentStatus.HANDED_TO_CARRIER
    assert fresh(shipment).carrier == partner


@pytest.mark.parametrize("case", ["inactive", "does not carry SIMs"])
def test_clerk_cannot_choose_a_carrier_the_rules_exclude(hall, clerk, case):
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    other = CarrierFactory(serves=[ItemKind.SIM], active=False) if case == "inactive" else CarrierFactory(serves=[ItemKind.HANDSET])

    with pytest.raises(ValidationError) as refused:
        services.shipment_assign_carrier(shipment_id=shipment.pk, carrier_id=other.pk, by=clerk)

    assert "carrier" in refused.value.message_dict
    assert fresh(shipment).carrier == hall.carrier


def test_shipment_is_refused_for_an_order_not_accepted_already_shipped_or_holding_no_stock(hall, clerk, submitted_order):
    # an order not yet accepted: 409
    with pytest.raises(TransitionRefused):
        services.shipment_create(order=submitted_order(product=hall.product, customer=CustomerFactory(area=hall.area)), by=clerk)

    # a second shipment of an order: 409
    order = hall.order()
    services.shipment_create(order=order, by=clerk)
    with pytest.raises(Conflict):
        services.shipment_create(order=order, by=clerk)
    assert Shipment.objects.filter(order=order).count() == 1

    # an accepted order holding no stock (its reservation was given back): a clear message
    bare = hall.order()
    StockReservation.objects.filter(order=bare).update(status=StockReservation.Status.RELEASED)
    with pytest.raises(ValidationError) as refused:
        services.shipment_create(order=bare, by=clerk)
    assert "order" in refused.value.message_dict


def test_an_order_without_an_item_is_never_shipped(clerk, accepted_order):
    order = accepted_order(product=ProductFactory(item_kind=ItemKind.NONE))

    with pytest.raises(ValidationError):
        services.shipment_create(order=order, by=clerk)


@pytest.mark.parametrize("role", ["agent", "account_clerk", "manager"])
def test_roles_that_do_not_deliver_may_not_create_or_move_shipments(hall, clerk, make_user, role):
    outsider = make_user(role)
    order = hall.order()
    with pytest.raises(PermissionDenied):
        services.shipment_create(order=order, by=outsider)

    shipment = services.shipment_create(order=order, by=clerk)
    with pytest.raises(PermissionDenied):
        services.shipment_pick(shipment_id=shipment.pk, by=outsider)
    assert fresh(shipment).status == ShipmentStatus.CREATED


# --- Hand-over and delivery --------------------------------------------------------------------------

def test_hand_over_sets_the_tracking_number_and_moves_the_order_and_the_stock(hall, clerk):
    # given a picked shipment
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)

    # when it is handed to the carrier without a waybill number
    services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)

    # then a tracking number is generated, the order is with delivery and the SIM left the hall
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.HANDED_TO_CARRIER
    assert shipment.tracking_number == f"SD{shipment.pk:010d}"
    assert shipment.order.status == OrderStatus.HANDED_TO_DELIVERY
    unit = SerialUnit.objects.get(order=shipment.order)
    assert (unit.status, unit.warehouse) == (SerialUnit.Status.SHIPPED, None)
    assert steps(shipment) == [
        ("create", "", "created"), ("pick", "created", "picked"), ("hand_to_carrier", "picked", "handed_to_carrier"),
    ]


def test_hand_over_keeps_the_carriers_waybill_number_and_refuses_one_already_used(hall, clerk):
    first = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_pick(shipment_id=first.pk, by=clerk)
    services.shipment_hand_to_carrier(shipment_id=first.pk, by=clerk, tracking_number="SF1000000001")
    second = services.shipment_create(order=hall.order(), by=clerk)
    services.shipment_pick(shipment_id=second.pk, by=clerk)

    with pytest.raises(ValidationError) as refused:
        services.shipment_hand_to_carrier(shipment_id=second.pk, by=clerk, tracking_number="SF1000000001")
    with pytest.raises(ValidationError):
        services.shipment_hand_to_carrier(shipment_id=second.pk, by=clerk, tracking_number="no spaces!")

    assert fresh(first).tracking_number == "SF1000000001"
    assert "tracking_number" in refused.value.message_dict
    assert (fresh(second).status, fresh(second).tracking_number) == (ShipmentStatus.PICKED, "")
    assert fresh(second).order.status == OrderStatus.ACCEPTED


def test_delivery_records_signature_id_and_money_and_the_order_activates_through_billing(
    hall, clerk, sent_notices, django_capture_on_commit_callbacks,
):
    # given a shipment out for delivery
    shipment = out_for_delivery(hall, clerk)

    # when the courier delivers it, paid by POS, and billing runs after commit
    with django_capture_on_commit_callbacks(execute=True):
        deliver(shipment, clerk, amount_collected="129.00", payment_method="pos", pos_reference="POS-1")

    # then the delivery is recorded, the SIM is with the customer, the number sold and the line live
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.DELIVERED
    assert (shipment.signed_by, shipment.id_checked, shipment.amount_collected) == ("张三", True, Decimal("129.00"))
    assert (shipment.payment_method, shipment.pos_reference) == ("pos", "POS-1")
    assert shipment.delivered_at is not None
    order = shipment.order
    assert order.status == OrderStatus.COMPLETED
    assert list(OrderTransition.objects.filter(order=order).order_by("id").values_list("transition", flat=True))[-4:] == [
        "hand_to_delivery", "mark_delivered", "activate", "complete",
    ]
    assert PoolNumber.objects.get(pk=order.pool_number_id).status == NumberStatus.SOLD
    assert hall.sku.units.get().status == SerialUnit.Status.DELIVERED
    # and the customer was told before delivery and once the line was active
    assert sent_notices == [(shipment.pk, "before_delivery"), (shipment.pk, "activated")]


def test_the_activation_sms_waits_until_billing_has_activated_the_line(
    hall, clerk, sent_notices, django_capture_on_commit_callbacks, monkeypatch,
):
    # given billing is unreachable when the shipment is delivered
    from django.utils import timezone as tz

    from servicedesk.models import OutboxMessage
    from servicedesk.outbox import TransientDeliveryError, outbox_deliver

    class Unreachable:
        def provision(self, *, key, request):
            raise TransientDeliveryError("BSS timeout")

    from orders import handlers

    reachable = handlers.billing_adapter
    monkeypatch.setattr(handlers, "billing_adapter", lambda: Unreachable())
    shipment = out_for_delivery(hall, clerk)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(shipment, clerk)

    # then the order is delivered but not active, and the SMS waits in the outbox
    assert fresh(shipment).order.status == OrderStatus.DELIVERED
    assert "activated" not in [kind for _id, kind in sent_notices]
    waiting = OutboxMessage.objects.get(key=f"shipment:{shipment.pk}:activation-notice")
    assert waiting.status == OutboxMessage.Status.PENDING

    # when billing is back and the outbox re-drives both
    monkeypatch.setattr(handlers, "billing_adapter", reachable)
    OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).update(next_attempt_at=tz.now())
    with django_capture_on_commit_callbacks(execute=True):
        outbox_deliver(message_id=OutboxMessage.objects.get(key=f"order:{shipment.order_id}:activate").pk)
        outbox_deliver(message_id=waiting.pk)

    # then the line is active and the customer told, once
    assert fresh(shipment).order.status == OrderStatus.COMPLETED
    assert [kind for _id, kind in sent_notices].count("activated") == 1
    assert OutboxMessage.objects.get(pk=waiting.pk).status == OutboxMessage.Status.SENT


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"signed_by": " "}, "signed_by"),
        ({"id_checked": False}, "id_checked"),
        ({"amount_collected": "-1"}, "amount_collected"),
        ({"amount_collected": "12.345"}, "amount_collected"),
        ({"amount_collected": "lots"}, "amount_collected"),
        ({"amount_collected": "NaN"}, "amount_collected"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"payment_method": "pos", "pos_reference": ""}, "pos_reference"),
    ],
)
def test_delivery_needs_a_signature_a_checked_id_a_sound_amount_and_a_pos_reference(hall, clerk, overrides, field):
    shipment = out_for_delivery(hall, clerk)

    with pytest.raises(ValidationError) as refused:
        deliver(shipment, clerk, **overrides)

    assert field in refused.value.message_dict
    assert fresh(shipment).status == ShipmentStatus.OUT_FOR_DELIVERY
    assert fresh(shipment).order.status == OrderStatus.HANDED_TO_DELIVERY


def test_a_cash_delivery_of_nothing_to_collect_is_fine_and_keeps_no_pos_reference(hall, clerk):
    shipment = out_for_delivery(hall, clerk)

    deliver(shipment, clerk, amount_collected=Decimal("0"), payment_method="cash", pos_reference="ignored")

    assert (fresh(shipment).amount_collected, fresh(shipment).pos_reference) == (Decimal("0.00"), "")


def test_a_failed_delivery_is_attempted_again_and_then_delivered(hall, clerk, sent_notices, django_capture_on_commit_callbacks):
    # given a first attempt that failed
    shipment = out_for_delivery(hall, clerk)
    services.shipment_fail(shipment_id=shipment.pk, by=clerk, reason="nobody home")
    assert (fresh(shipment).status, fresh(shipment).failure_reason) == (ShipmentStatus.FAILED, "nobody home")
    assert fresh(shipment).order.status == OrderStatus.HANDED_TO_DELIVERY

    # when the courier goes out again and delivers
    services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(shipment, clerk)

    # then two attempts were made, each announced, and the order completed
    shipment = fresh(shipment)
    assert (shipment.status, shipment.attempts) == (ShipmentStatus.DELIVERED, 2)
    assert shipment.order.status == OrderStatus.COMPLETED
    assert [kind for _id, kind in sent_notices] == ["before_delivery", "failed", "before_delivery", "activated"]
    assert [t for t, _f, _to in steps(shipment)][-4:] == ["go_out_for_delivery", "fail", "go_out_for_delivery", "deliver"]


def test_a_failure_needs_a_reason(hall, clerk):
    shipment = out_for_delivery(hall, clerk)

    with pytest.raises(ValidationError):
        services.shipment_fail(shipment_id=shipment.pk, by=clerk, reason="  ")

    assert fresh(shipment).status == ShipmentStatus.OUT_FOR_DELIVERY


def test_return_to_stock_puts_the_sim_back_and_cancels_the_order_releasing_its_number(hall, clerk):
    # given a failed delivery
    shipment = out_for_delivery(hall, clerk)
    services.shipment_fail(shipment_id=shipment.pk, by=clerk, reason="refused at the door")

    # when the carrier brings it back
    services.shipment_return_to_stock(shipment_id=shipment.pk, by=clerk)

    # then the SIM is on the shelf again and free, the order cancelled with the reason and its number free
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.RETURNED
    unit = hall.sku.units.get()
    assert (unit.status, unit.warehouse, unit.order) == (SerialUnit.Status.IN_STOCK, hall.warehouse, None)
    assert shipment.order.status == OrderStatus.CANCELLED
    assert shipment.order.closing_reason == "refused at the door"
    number = PoolNumber.objects.get(pk=shipment.order.pool_number_id)
    assert (number.status, number.order) == (NumberStatus.AVAILABLE, None)
    assert steps(shipment)[-1] == ("return_to_stock", "failed", "returned")


def test_support_desk_cancels_before_hand_over_and_the_order_gives_back_stock_and_number(hall, make_user):
    # given a picked shipment and a back-office clerk at the support desk
    clerk = make_user("delivery_clerk")
    desk = make_user("back_office")
    order = hall.order()
    shipment = services.shipment_create(order=order, by=clerk)
    services.shipment_pick(shipment_id=shipment.pk, by=clerk)

    # when the customer cancels
    services.shipment_cancel(shipment_id=shipment.pk, by=desk, reason="customer cancelled by phone")

    # then the shipment and the order are cancelled, the SIM is free and the number back in the pool
    shipment = fresh(shipment)
    assert shipment.status == ShipmentStatus.CANCELLED
    assert shipment.order.status == OrderStatus.CANCELLED
    assert SerialUnit.objects.get(pk=order.unit.pk).status == SerialUnit.Status.IN_STOCK
    assert PoolNumber.objects.get(pk=order.pool_number_id).status == NumberStatus.AVAILABLE
    assert steps(shipment)[-1] == ("cancel", "picked", "cancelled")


def test_cancelling_after_hand_over_is_refused_naming_what_is_allowed(hall, clerk):
    shipment = handed_over(hall, clerk)

    with pytest.raises(TransitionRefused) as refused:
        services.shipment_cancel(shipment_id=shipment.pk, by=clerk, reason="too late")

    assert refused.value.current == ShipmentStatus.HANDED_TO_CARRIER
    assert set(refused.value.allowed) == {ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.RETURNED}
    assert fresh(shipment).order.status == OrderStatus.HANDED_TO_DELIVERY


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("created", "hand_over"),
        ("created", "go_out"),
        ("created", "deliver"),
        ("created", "return"),
        ("picked", "pick"),
        ("picked", "fail"),
        ("handed", "deliver"),
        ("handed", "fail"),
        ("handed", "pick"),
        ("delivered", "fail"),
        ("delivered", "return"),
        ("delivered", "go_out"),
    ],
)
def test_illegal_steps_are_refused_with_the_allowed_states_and_change_nothing(hall, clerk, state, action):
    # given a shipment in the state
    shipment = services.shipment_create(order=hall.order(), by=clerk)
    if state != "created":
        services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    if state in ("handed", "delivered"):
        services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    if state == "delivered":
        services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
        deliver(shipment, clerk)
    before = fresh(shipment)
    recorded = ShipmentTransition.objects.filter(shipment=shipment).count()
    actions = {
        "pick": lambda: services.shipment_pick(shipment_id=shipment.pk, by=clerk),
        "hand_over": lambda: services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk),
        "go_out": lambda: services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk),
        "deliver": lambda: deliver(shipment, clerk),
        "fail": lambda: services.shipment_fail(shipment_id=shipment.pk, by=clerk, reason="x"),
        "return": lambda: services.shipment_return_to_stock(shipment_id=shipment.pk, by=clerk),
    }

    # when the step is tried
    with pytest.raises(TransitionRefused) as refused:
        actions[action]()

    # then it is refused with the current and allowed states, and nothing moved
    assert refused.value.current == before.status
    assert refused.value.status_code == 409
    after = fresh(shipment)
    assert (after.status, after.order.status, after.tracking_number) == (before.status, before.order.status, before.tracking_number)
    assert ShipmentTransition.objects.filter(shipment=shipment).count() == recorded


def test_appointment_changes_until_the_courier_sets_off(hall, clerk):
    shipment = handed_over(hall, clerk)
    new_day = timezone.localdate() + timedelta(days=3)

    services.shipment_change_appointment(shipment_id=shipment.pk, by=clerk, appointment_date=new_day, appointment_slot="evening")

    assert (fresh(shipment).appointment_date, fresh(shipment).appointment_slot) == (new_day, "evening")
    assert steps(shipment)[-1][0] == "change_appointment"
    with pytest.raises(ValidationError):
        services.shipment_change_appointment(shipment_id=shipment.pk, by=clerk, appointment_date=timezone.localdate() - timedelta(days=1))
    services.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
    with pytest.raises(TransitionRefused):
        services.shipment_change_appointment(shipment_id=shipment.pk, by=clerk, appointment_date=new_day)


# --- The customer screen ----------------------------------------------------------------------------

def test_every_step_shows_in_the_customer_timeline_and_live_shipments_in_a_panel(hall, clerk, make_user):
    # given a shipment handed over and one delivered for the same customer
    customer = CustomerFactory(area=hall.area)
    live = handed_over(hall, clerk, customer=customer)
    done = out_for_delivery(hall, clerk, customer=customer)
    deliver(done, clerk)
    agent = make_user("agent")

    # when an agent opens the customer screen
    panel = next(p for p in panels_for(customer, agent) if p.key == "shipments")
    entries = [e for e in timeline_for(customer, agent, limit=50) if e.kind == "shipment"]

    # then the panel lists the live shipment only, and the timeline every step of both, newest first
    assert [item["state"] for item in panel.items] == ["Handed to carrier"]
    assert fresh(live).tracking_number in panel.items[0]["label"]
    assert len(entries) == len(steps(live)) + len(steps(done))
    assert entries[0].title.endswith("Delivered")
    assert entries[0].actor == clerk.get_full_name()
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)


def test_roles_without_sight_of_shipments_get_no_panel_and_no_timeline_entries(hall, clerk, make_user):
    customer = CustomerFactory(area=hall.area)
    handed_over(hall, clerk, customer=customer)
    client_system = make_user("api_client")

    assert all(p.key != "shipments" for p in panels_for(customer, client_system))
    assert [e for e in timeline_for(customer, client_system, limit=50) if e.kind == "shipment"] == []
