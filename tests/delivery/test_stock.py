"""Stock services: goods in, transfers down the chain, and what an order holds, ships, returns and delivers."""
from collections import defaultdict

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from delivery.models import SerialUnit, Sku, StockLevel, StockMovement, StockReservation, Transfer, TransferTransition, Warehouse
from delivery.services import stock as services
from orders import services as order_services
from orders.models import ItemKind, NumberStatus, Order, OrderStatus
from servicedesk.fsm import TransitionRefused
from tests.delivery.stock_helpers import iccid, serials_for, sku_for, stock_for
from tests.factories import CustomerFactory, ProductFactory, SkuFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
MOVE = StockMovement.Kind


@pytest.fixture
def clerk(make_user):
    return make_user("delivery_clerk")


@pytest.fixture
def chain():
    """A company store, its branch store and the branch's hall store."""
    company = WarehouseFactory(level=Warehouse.Level.COMPANY, name="Company store")
    branch = WarehouseFactory(level=Warehouse.Level.BRANCH, parent=company, name="Heping branch store")
    hall = WarehouseFactory(level=Warehouse.Level.HALL, parent=branch, name="Heping hall store")
    return company, branch, hall


def level_of(warehouse, sku) -> tuple[int, int]:
    level = StockLevel.objects.filter(warehouse=warehouse, sku=sku).first()
    return (level.on_hand, level.reserved) if level else (0, 0)


def units_in(warehouse, sku, status=SerialUnit.Status.IN_STOCK) -> int:
    return SerialUnit.objects.filter(warehouse=warehouse, sku=sku, status=status).count()


def assert_ledger_matches_counts():
    """Every (store, item): the ledger sums to the on-hand count; for serialised items the counts are the units."""
    ledger = defaultdict(int)
    for row in StockMovement.objects.values("warehouse_id", "sku_id").annotate(total=Sum("quantity")):
        ledger[(row["warehouse_id"], row["sku_id"])] = row["total"]
    for level in StockLevel.objects.select_related("sku"):
        assert ledger.pop((level.warehouse_id, level.sku_id), 0) == level.on_hand, level
        if level.sku.serialised:
            here = SerialUnit.objects.filter(warehouse_id=level.warehouse_id, sku=level.sku)
            assert here.count() == level.on_hand
            assert here.filter(status=SerialUnit.Status.RESERVED).count() == level.reserved
    assert all(v == 0 for v in ledger.values())


def accept(order) -> Order:
    return order_services.order_accept(order_id=order.pk, clerk=UserFactory(roles=["back_office"]))


# --- serial numbers ------------------------------------------------------------------------

@pytest.mark.parametrize(("serial", "ok"), [
    ("8986011234567890123", True),  # 19 digits
    ("89860112345678901234", True),  # 20 digits
    ("898601123456789012", False),  # 18
    ("898601123456789012345", False),  # 21
    ("8986011234567890ABC", False),
    ("", False),
])
def test_an_iccid_has_19_or_20_digits(serial, ok):
    sim = SkuFactory.build(item_kind=ItemKind.SIM)
    assert (services.serial_problem(sku=sim, serial=serial) == "") is ok


@pytest.mark.parametrize(("serial", "ok"), [
    ("490154203237518", True),  # the textbook IMEI
    ("490154203237517", False),  # check digit off by one
    ("49015420323751", False),  # 14 digits
    ("4901542032375180", False),  # 16 digits
    ("49015420323751X", False),
])
def test_an_imei_has_15_digits_and_a_luhn_check_digit(serial, ok):
    handset = SkuFactory.build(handset=True)
    assert (services.serial_problem(sku=handset, serial=serial) == "") is ok


# --- goods in ------------------------------------------------------------------------------

def test_receiving_serials_books_each_unit_into_the_store_with_a_movement(chain, clerk):
    # given a company store and a serialised SIM
    company, _, _ = chain
    sim = SkuFactory()
    serials = [iccid() for _ in range(3)]

    # when three ICCIDs are booked in (with blank lines and spaces around them)
    services.stock_receive(warehouse=company, sku=sim, by=clerk, serials=[f" {s} " for s in serials] + ["", "  "], note="supplier note 42")

    # then three units are in stock there, counted, each with its receipt in the ledger
    assert units_in(company, sim) == 3
    assert level_of(company, sim) == (3, 0)
    receipts = StockMovement.objects.filter(kind=MOVE.RECEIPT, warehouse=company, sku=sim)
    assert sorted(receipts.values_list("unit__serial", flat=True)) == sorted(serials)
    assert set(receipts.values_list("quantity", "by", "note")) == {(1, clerk.pk, "supplier note 42")}
    assert_ledger_matches_counts()


def test_receiving_a_counted_item_adds_to_its_count(chain, clerk):
    company, _, _ = chain
    cards = SkuFactory(counted=True)
    services.stock_receive(warehouse=company, sku=cards, by=clerk, quantity=500)
    services.stock_receive(warehouse=company, sku=cards, by=clerk, quantity=20)
    assert level_of(company, cards) == (520, 0)
    assert list(StockMovement.objects.filter(sku=cards).order_by("id").values_list("kind", "quantity")) == [(MOVE.RECEIPT, 500), (MOVE.RECEIPT, 20)]


@pytest.mark.parametrize(("kind", "serials", "message"), [
    ("sim", ["898601123456789012"], "Not valid (an ICCID has 19 or 20 digits): 898601123456789012."),
    ("handset", ["490154203237517"], "Not valid (the IMEI's check digit is wrong): 490154203237517."),
    ("handset", ["8986011234567890123"], "Not valid (an IMEI has 15 digits): 8986011234567890123."),
    ("sim", ["89860112345678901234", "89860112345678901234"], "Listed twice: 89860112345678901234."),
    ("sim", [], "List the serial numbers (ICCID or IMEI) of the units, one per line."),
])
def test_receiving_refuses_wrong_serials_and_books_nothing(chain, clerk, kind, serials, message):
    # given a batch in which one serial is wrong, beside good ones
    company, _, _ = chain
    sku = SkuFactory(handset=True) if kind == "handset" else SkuFactory()
    batch = serials + serials_for(sku, 2) if serials else []

    # when it is booked in, it is refused, naming the wrong serial
    with pytest.raises(ValidationError) as refused:
        services.stock_receive(warehouse=company, sku=sku, by=clerk, serials=batch)
    assert refused.value.message_dict == {"serials": [message]}

    # then not even the good ones went in
    assert SerialUnit.objects.count() == 0 and StockMovement.objects.count() == 0
    assert level_of(company, sku) == (0, 0)


def test_a_serial_already_in_stock_is_not_booked_in_again(chain, clerk):
    # given a unit in the hall store
    company, _, hall = chain
    sim = SkuFactory()
    known = iccid()
    services.stock_receive(warehouse=hall, sku=sim, by=clerk, serials=[known])

    # when the same ICCID arrives at the company store, it is refused: a serial is in one place
    with pytest.raises(ValidationError) as refused:
        services.stock_receive(warehouse=company, sku=sim, by=clerk, serials=[iccid(), known])
    assert refused.value.message_dict == {"serials": [f"Already in stock somewhere: {known}."]}
    assert SerialUnit.objects.get(serial=known).warehouse == hall
    assert level_of(company, sim) == (0, 0)


@pytest.mark.parametrize(("fields", "error"), [
    ({"quantity": 0}, {"quantity": ["Give a quantity from 1 to 100000."]}),
    ({"quantity": None}, {"quantity": ["Give a quantity from 1 to 100000."]}),
    ({"quantity": 5, "serials": ["89860112345678901234"]}, {"serials": ["Top-up 50 is counted, not serialised: give a quantity."]}),
])
def test_receiving_a_counted_item_needs_a_sensible_quantity(chain, clerk, fields, error):
    company, _, _ = chain
    cards = SkuFactory(counted=True, name="Top-up 50")
    with pytest.raises(ValidationError) as refused:
        services.stock_receive(warehouse=company, sku=cards, by=clerk, **fields)
    assert refused.value.message_dict == error
    assert level_of(company, cards) == (0, 0)


def test_receiving_into_a_closed_store_or_without_the_role_is_refused(chain, clerk, make_user):
    company, _, _ = chain
    cards = SkuFactory(counted=True)
    with pytest.raises(PermissionDenied):
        services.stock_receive(warehouse=company, sku=cards, by=make_user("agent"), quantity=5)
    Warehouse.objects.filter(pk=company.pk).update(active=False)
    company.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.stock_receive(warehouse=company, sku=cards, by=clerk, quantity=5)
    assert refused.value.message_dict == {"warehouse": ["Company store is closed."]}
    assert StockLevel.objects.filter(sku=cards).count() == 0


# --- transfers ---------------------------------------------------------------------------

def test_a_hall_asks_its_branch_and_the_request_is_recorded(chain, clerk):
    # given a hall store supplied by its branch
    _, branch, hall = chain
    sim, cards = SkuFactory(), SkuFactory(counted=True)

    # when the hall asks for SIMs and cards
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 2), (cards, 50)], by=clerk, note="weekend")

    # then the request goes to the branch, with its lines and its first step in the log
    assert (transfer.from_warehouse, transfer.to_warehouse, transfer.status) == (branch, hall, Transfer.Status.REQUESTED)
    assert set(transfer.lines.values_list("sku", "quantity")) == {(sim.pk, 2), (cards.pk, 50)}
    assert list(transfer.transitions.values_list("transition", "from_state", "to_state", "by")) == [("request", "", "requested", clerk.pk)]
    # nothing moved yet
    assert StockMovement.objects.count() == 0


def test_a_store_may_only_ask_the_store_that_supplies_it(chain, clerk):
    company, branch, hall = chain
    other_branch = WarehouseFactory(level=Warehouse.Level.BRANCH, parent=company, name="Hexi branch store")
    sim = SkuFactory()
    # a hall store may not skip its branch, nor ask another branch
    for wrong in (company, other_branch):
        with pytest.raises(ValidationError) as refused:
            services.transfer_request(to_warehouse=hall, from_warehouse=wrong, lines=[(sim, 1)], by=clerk)
        assert refused.value.message_dict == {"from_warehouse": ["Heping hall store may only ask Heping branch store, the store that supplies it."]}
    # the company store heads the chain: it has nobody to ask
    with pytest.raises(ValidationError) as refused:
        services.transfer_request(to_warehouse=company, lines=[(sim, 1)], by=clerk)
    assert list(refused.value.message_dict) == ["to_warehouse"]
    # asking the parent by name is fine
    assert services.transfer_request(to_warehouse=hall, from_warehouse=branch, lines=[(sim, 1)], by=clerk).from_warehouse == branch
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize(("lines", "message"), [
    ("none", "Ask for at least one item."),
    ("twice", "USIM X is listed twice; put it on one line."),
    ("zero", "Ask for 1 to 100000 of USIM X."),
])
def test_a_request_needs_sensible_lines(chain, clerk, lines, message):
    _, _, hall = chain
    sim = SkuFactory(name="USIM X")
    lines = {"none": [], "twice": [(sim, 1), (sim, 2)], "zero": [(sim, 0)]}[lines]
    with pytest.raises(ValidationError) as refused:
        services.transfer_request(to_warehouse=hall, lines=lines, by=clerk)
    assert refused.value.message_dict == {"lines": [message]}
    assert Transfer.objects.count() == 0


def test_asking_needs_the_role(chain, make_user):
    _, _, hall = chain
    with pytest.raises(PermissionDenied):
        services.transfer_request(to_warehouse=hall, lines=[(SkuFactory(), 1)], by=make_user("agent"))


def test_shipping_and_receiving_move_counted_and_serialised_stock_down_the_chain(chain, clerk):
    # given a branch with 10 cards and 4 SIMs, one of them held for an order
    _, branch, hall = chain
    sim, cards = SkuFactory(), SkuFactory(counted=True)
    services.stock_receive(warehouse=branch, sku=cards, by=clerk, quantity=10)
    services.stock_receive(warehouse=branch, sku=sim, by=clerk, serials=serials_for(sim, 4))
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 3), (cards, 6)], by=clerk)

    # when the branch ships
    services.transfer_ship(transfer_id=transfer.pk, by=clerk)

    # then the cards left the branch's count and three SIMs are on the way, in no store
    assert level_of(branch, cards) == (4, 0) and level_of(branch, sim) == (1, 0)
    on_the_way = SerialUnit.objects.filter(transfer=transfer)
    assert on_the_way.count() == 3
    assert set(on_the_way.values_list("status", "warehouse")) == {(SerialUnit.Status.IN_TRANSFER, None)}
    assert level_of(hall, cards) == (0, 0) and level_of(hall, sim) == (0, 0)
    # the oldest units went first
    assert list(on_the_way.order_by("pk").values_list("pk", flat=True)) == list(SerialUnit.objects.filter(sku=sim).order_by("pk").values_list("pk", flat=True)[:3])

    # when the hall books them in
    services.transfer_receive(transfer_id=transfer.pk, by=clerk)

    # then they are the hall's, and every step is in the ledger and the log
    assert level_of(hall, cards) == (6, 0) and level_of(hall, sim) == (3, 0)
    assert units_in(hall, sim) == 3
    assert list(TransferTransition.objects.filter(transfer=transfer).order_by("id").values_list("to_state", flat=True)) == ["requested", "shipped", "received"]
    moved = StockMovement.objects.filter(transfer=transfer)
    assert moved.filter(kind=MOVE.TRANSFER_OUT).aggregate(n=Sum("quantity"))["n"] == -9
    assert moved.filter(kind=MOVE.TRANSFER_IN).aggregate(n=Sum("quantity"))["n"] == 9
    assert_ledger_matches_counts()


def test_shipping_is_refused_when_the_supplier_has_not_enough_available(chain, clerk, submitted_order):
    # given a branch with 2 SIMs, one of which is reserved for an order in a hall it also serves, and 5 cards
    _, branch, hall = chain
    product = ProductFactory(sim=True)
    sim = sku_for(product)
    cards = SkuFactory(counted=True, name="Top-up 100")
    services.stock_receive(warehouse=branch, sku=sim, by=clerk, serials=serials_for(sim, 2))
    services.stock_receive(warehouse=branch, sku=cards, by=clerk, quantity=5)
    held = SerialUnit.objects.filter(sku=sim).first()
    order = submitted_order(product=product)
    SerialUnit.objects.filter(pk=held.pk).update(status=SerialUnit.Status.RESERVED, order=order)
    StockLevel.objects.filter(warehouse=branch, sku=sim).update(reserved=1)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 2), (cards, 6)], by=clerk)

    # when the branch tries to ship two SIMs and six cards
    with pytest.raises(ValidationError) as refused:
        services.transfer_ship(transfer_id=transfer.pk, by=clerk)

    # then it is told what is short, and nothing moved: the transfer is still asked for
    assert refused.value.message_dict == {"stock": [
        f"Not enough stock at Heping branch store: {sim.name}: 2 asked, 1 available; Top-up 100: 6 asked, 5 available."]}
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.REQUESTED
    assert level_of(branch, sim) == (2, 1) and level_of(branch, cards) == (5, 0)
    assert SerialUnit.objects.filter(status=SerialUnit.Status.IN_TRANSFER).count() == 0
    assert SerialUnit.objects.get(pk=held.pk).status == SerialUnit.Status.RESERVED
    assert StockMovement.objects.filter(transfer=transfer).count() == 0


def test_the_supplier_may_ship_the_units_it_scanned(chain, clerk):
    _, branch, hall = chain
    sim = SkuFactory()
    serials = serials_for(sim, 4)
    services.stock_receive(warehouse=branch, sku=sim, by=clerk, serials=serials)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 2)], by=clerk)

    services.transfer_ship(transfer_id=transfer.pk, by=clerk, serials=[serials[3], serials[1]])

    assert sorted(SerialUnit.objects.filter(transfer=transfer).values_list("serial", flat=True)) == sorted([serials[1], serials[3]])


@pytest.mark.parametrize(("scanned", "field"), [
    (lambda s, other: [s[0]], "serials"),  # one scanned for two asked
    (lambda s, other: [s[0], other], "serials"),  # one from another store
    (lambda s, other: [s[0], "89860100000000000999"], "serials"),  # unknown
])
def test_scanned_units_must_match_the_request_and_be_in_the_supplying_store(chain, clerk, scanned, field):
    _, branch, hall = chain
    sim = SkuFactory()
    serials = serials_for(sim, 3)
    services.stock_receive(warehouse=branch, sku=sim, by=clerk, serials=serials)
    elsewhere = serials_for(sim, 1)
    services.stock_receive(warehouse=hall, sku=sim, by=clerk, serials=elsewhere)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 2)], by=clerk)

    with pytest.raises(ValidationError) as refused:
        services.transfer_ship(transfer_id=transfer.pk, by=clerk, serials=scanned(serials, elsewhere[0]))

    assert list(refused.value.message_dict) == [field]
    assert SerialUnit.objects.filter(transfer=transfer).count() == 0
    assert level_of(branch, sim) == (3, 0)


def test_transfer_steps_are_refused_out_of_order(chain, clerk):
    _, branch, hall = chain
    cards = SkuFactory(counted=True)
    services.stock_receive(warehouse=branch, sku=cards, by=clerk, quantity=10)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(cards, 1)], by=clerk)
    # receiving what was never shipped
    with pytest.raises(TransitionRefused) as refused:
        services.transfer_receive(transfer_id=transfer.pk, by=clerk)
    assert refused.value.allowed == ["rejected", "shipped"]
    services.transfer_ship(transfer_id=transfer.pk, by=clerk)
    # shipping twice, or rejecting once shipped
    with pytest.raises(TransitionRefused):
        services.transfer_ship(transfer_id=transfer.pk, by=clerk)
    with pytest.raises(TransitionRefused):
        services.transfer_reject(transfer_id=transfer.pk, by=clerk, reason="too late")
    services.transfer_receive(transfer_id=transfer.pk, by=clerk)
    # receiving twice
    with pytest.raises(TransitionRefused):
        services.transfer_receive(transfer_id=transfer.pk, by=clerk)
    assert level_of(branch, cards) == (9, 0) and level_of(hall, cards) == (1, 0)
    assert_ledger_matches_counts()


def test_rejecting_a_request_needs_a_reason_and_moves_nothing(chain, clerk, make_user):
    _, branch, hall = chain
    cards = SkuFactory(counted=True)
    services.stock_receive(warehouse=branch, sku=cards, by=clerk, quantity=10)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(cards, 5)], by=clerk)
    with pytest.raises(ValidationError):
        services.transfer_reject(transfer_id=transfer.pk, by=clerk, reason="  ")
    with pytest.raises(PermissionDenied):
        services.transfer_reject(transfer_id=transfer.pk, by=make_user("agent"), reason="no")

    services.transfer_reject(transfer_id=transfer.pk, by=clerk, reason="stock kept for the new-year campaign")

    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.REJECTED
    assert transfer.transitions.last().reason == "stock kept for the new-year campaign"
    assert level_of(branch, cards) == (10, 0)
    with pytest.raises(TransitionRefused):
        services.transfer_ship(transfer_id=transfer.pk, by=clerk)


def test_an_unknown_transfer_is_not_found(clerk):
    with pytest.raises(Transfer.DoesNotExist):
        services.transfer_ship(transfer_id=999_999, by=clerk)


# --- orders: reserve and release -----------------------------------------------------------

def test_accepting_an_order_reserves_a_unit_in_the_hall_serving_the_customers_area(submitted_order):
    # given two halls with SIMs: one serving the customer's area, one elsewhere with more stock
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    WarehouseFactory(code="A-HALL")
    elsewhere = stock_for(product, units=5, hall=WarehouseFactory(code="A-FIRST"))
    local = stock_for(product, units=2, area=customer.area, hall=WarehouseFactory(code="Z-LAST"))
    order = submitted_order(product=product, customer=customer)

    # when back-office accepts it
    accept(order)

    # then the first SIM of the local hall is held for the order
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    reservation = StockReservation.objects.get(order=order)
    first_local = SerialUnit.objects.filter(warehouse=local).order_by("pk").first()
    assert (reservation.warehouse, reservation.unit, reservation.status) == (local, first_local, StockReservation.Status.HELD)
    first_local.refresh_from_db()
    assert (first_local.status, first_local.order) == (SerialUnit.Status.RESERVED, order)
    sim = reservation.sku
    assert level_of(local, sim) == (2, 1) and level_of(elsewhere, sim) == (5, 0)
    assert StockMovement.objects.filter(kind=MOVE.RESERVE, order=order, unit=first_local, quantity=0).exists()
    assert_ledger_matches_counts()


def test_when_the_local_hall_is_empty_another_hall_with_stock_serves(submitted_order):
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    empty_local = WarehouseFactory()
    empty_local.areas.add(customer.area)
    WarehouseFactory()  # a hall without any stock
    other = stock_for(product, units=1)
    order = accept(submitted_order(product=product, customer=customer))
    assert StockReservation.objects.get(order=order).warehouse == other


def test_a_closed_hall_is_not_used(submitted_order):
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    closed = stock_for(product, units=3, area=customer.area)
    Warehouse.objects.filter(pk=closed.pk).update(active=False)
    order = submitted_order(product=product, customer=customer)
    with pytest.raises(ValidationError):
        accept(order)


def test_with_nothing_available_the_order_stays_submitted_and_nothing_is_held(submitted_order):
    # given the local hall's only SIM is already held by another order
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    hall = stock_for(product, units=1, area=customer.area)
    hall.name = "Nankai hall store"
    hall.save()
    accept(submitted_order(product=product, customer=CustomerFactory(area=customer.area)))
    order = submitted_order(product=product, customer=customer)

    # when back-office tries to accept the second order
    with pytest.raises(ValidationError) as refused:
        accept(order)

    # then it is told which item is out where; the order is still submitted with its number held
    sku = sku_for(product)
    assert refused.value.message_dict == {"stock": [
        f"“{sku.name}” is out of stock at Nankai hall store and at every other hall store; the order stays submitted until stock arrives."]}
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.pool_number.status == NumberStatus.RESERVED
    assert not StockReservation.objects.filter(order=order).exists()
    assert not order.transitions.filter(transition="accept").exists()
    assert level_of(hall, sku) == (1, 1)


def test_with_no_stock_item_set_up_for_the_model_acceptance_is_refused(submitted_order):
    order = submitted_order(product=ProductFactory(sim=True, item_model="Nokia 3310"))
    with pytest.raises(ValidationError) as refused:
        accept(order)
    assert "“Nokia 3310”" in refused.value.message_dict["stock"][0]
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_an_order_with_nothing_to_deliver_holds_no_stock(submitted_order):
    order = accept(submitted_order(product=ProductFactory()))
    assert order.status == OrderStatus.ACCEPTED
    assert not StockReservation.objects.exists()


def test_a_counted_item_is_reserved_by_count(submitted_order):
    product = ProductFactory(item_kind=ItemKind.CARD, item_model="Top-up 50")
    customer = CustomerFactory()
    hall = stock_for(product, units=3, area=customer.area)
    order = accept(submitted_order(product=product, customer=customer))
    reservation = StockReservation.objects.get(order=order)
    assert (reservation.unit, reservation.quantity, reservation.warehouse) == (None, 1, hall)
    assert level_of(hall, reservation.sku) == (3, 1)


def test_reserving_twice_for_the_same_order_holds_one_item(submitted_order):
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    stock_for(product, units=3, area=customer.area)
    order = accept(submitted_order(product=product, customer=customer))
    again = services.stock_reserve_for_order(order)
    assert StockReservation.objects.filter(order=order).count() == 1 and again.order == order


def test_cancelling_an_accepted_order_gives_the_item_back(submitted_order):
    # given an accepted order holding the hall's only SIM
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    hall = stock_for(product, units=1, area=customer.area)
    order = accept(submitted_order(product=product, customer=customer))
    sku = sku_for(product)

    # when it is cancelled
    order_services.order_cancel(order_id=order.pk, by=UserFactory(roles=["back_office"]), reason="customer changed their mind")

    # then the unit is free again in the hall and the counts are back
    unit = SerialUnit.objects.get(sku=sku)
    assert (unit.status, unit.order, unit.warehouse) == (SerialUnit.Status.IN_STOCK, None, hall)
    assert level_of(hall, sku) == (1, 0)
    assert list(StockReservation.objects.filter(order=order).values_list("status", flat=True)) == [StockReservation.Status.RELEASED]
    assert StockMovement.objects.filter(kind=MOVE.RELEASE, order=order, unit=unit).count() == 1
    # and releasing again changes nothing
    assert services.stock_release_for_order(order) == 0
    assert level_of(hall, sku) == (1, 0)
    assert_ledger_matches_counts()


def test_a_unit_freed_by_a_cancellation_serves_the_next_order(submitted_order):
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    stock_for(product, units=1, area=customer.area)
    first = accept(submitted_order(product=product, customer=customer))
    second = submitted_order(product=product, customer=customer)
    with pytest.raises(ValidationError):
        accept(second)
    order_services.order_cancel(order_id=first.pk, by=UserFactory(roles=["back_office"]), reason="changed mind")
    assert accept(second).status == OrderStatus.ACCEPTED
    assert SerialUnit.objects.get().order == second


def test_rejecting_a_submitted_order_leaves_stock_alone(submitted_order):
    # a submitted order holds nothing (acceptance reserves all or nothing), so its rejection frees nothing
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    hall = stock_for(product, units=2, area=customer.area)
    accept(submitted_order(product=product, customer=customer))
    order = submitted_order(product=product, customer=customer)
    order_services.order_reject(order_id=order.pk, clerk=UserFactory(roles=["back_office"]), reason="ID does not match")
    assert level_of(hall, sku_for(product)) == (2, 1)
    assert not StockMovement.objects.filter(kind=MOVE.RELEASE).exists()


# --- orders: ship, return, delivered ---------------------------------------------------------

@pytest.fixture
def held(accepted_order):
    """An accepted SIM order holding the only unit of the hall serving its customer."""
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    hall = stock_for(product, units=1, area=customer.area)
    order = accepted_order(product=product, customer=customer)
    return order, hall, sku_for(product), SerialUnit.objects.get(sku__item_model=product.item_model)


def test_shipping_an_order_takes_the_unit_out_of_the_hall(held, clerk):
    order, hall, sku, unit = held

    shipped = services.stock_ship_for_order(order=order, by=clerk)

    unit.refresh_from_db()
    assert (unit.status, unit.warehouse, unit.order) == (SerialUnit.Status.SHIPPED, None, order)
    assert level_of(hall, sku) == (0, 0)
    assert [r.status for r in shipped] == [StockReservation.Status.SHIPPED]
    assert StockReservation.objects.get(order=order).status == StockReservation.Status.SHIPPED
    assert list(StockMovement.objects.filter(kind=MOVE.SHIP, order=order).values_list("warehouse", "unit", "quantity", "by")) == [(hall.pk, unit.pk, -1, clerk.pk)]
    # a retry changes nothing
    services.stock_ship_for_order(order=order, by=clerk)
    assert StockMovement.objects.filter(kind=MOVE.SHIP).count() == 1 and level_of(hall, sku) == (0, 0)
    assert_ledger_matches_counts()


def test_a_returned_shipment_puts_the_unit_back_in_its_hall_free_for_others(held, clerk):
    order, hall, sku, unit = held
    services.stock_ship_for_order(order=order, by=clerk)

    assert services.stock_return_for_order(order=order, by=clerk) == 1

    unit.refresh_from_db()
    assert (unit.status, unit.warehouse, unit.order) == (SerialUnit.Status.IN_STOCK, hall, None)
    assert level_of(hall, sku) == (1, 0)
    assert StockReservation.objects.get(order=order).status == StockReservation.Status.RELEASED
    assert list(StockMovement.objects.filter(kind=MOVE.RETURN).values_list("warehouse", "unit", "quantity", "order")) == [(hall.pk, unit.pk, 1, order.pk)]
    # a retry changes nothing, and the cancellation that follows has nothing left to release
    assert services.stock_return_for_order(order=order, by=clerk) == 0
    order_services.order_cancel(order_id=order.pk, by=UserFactory(roles=["back_office"]), reason="refused at the door")
    assert level_of(hall, sku) == (1, 0)
    assert_ledger_matches_counts()


def test_a_shipment_returned_before_it_left_releases_the_hold(held, clerk):
    order, hall, sku, unit = held
    assert services.stock_return_for_order(order=order, by=clerk) == 0
    unit.refresh_from_db()
    assert (unit.status, unit.warehouse) == (SerialUnit.Status.IN_STOCK, hall)
    assert level_of(hall, sku) == (1, 0)


def test_delivered_marks_the_unit_delivered_once(held, clerk):
    order, hall, sku, unit = held
    services.stock_ship_for_order(order=order, by=clerk)

    assert services.stock_delivered_for_order(order=order) == 1
    assert services.stock_delivered_for_order(order=order) == 0

    unit.refresh_from_db()
    assert (unit.status, unit.warehouse, unit.order) == (SerialUnit.Status.DELIVERED, None, order)
    assert level_of(hall, sku) == (0, 0)
    assert_ledger_matches_counts()


def test_delivered_without_a_reported_departure_ships_first(held):
    order, hall, sku, unit = held
    assert services.stock_delivered_for_order(order=order) == 1
    unit.refresh_from_db()
    assert unit.status == SerialUnit.Status.DELIVERED
    assert level_of(hall, sku) == (0, 0)
    assert StockMovement.objects.filter(kind=MOVE.SHIP, order=order).count() == 1


def test_shipping_an_order_that_holds_nothing_is_refused(submitted_order, clerk):
    order = submitted_order(product=ProductFactory(sim=True))
    with pytest.raises(ValidationError) as refused:
        services.stock_ship_for_order(order=order, by=clerk)
    assert list(refused.value.message_dict) == ["stock"]
    # an order with nothing to deliver has nothing to ship, and that is fine
    assert services.stock_ship_for_order(order=submitted_order(product=ProductFactory()), by=clerk) == []


def test_a_counted_item_ships_and_returns_by_count(submitted_order, clerk):
    product = ProductFactory(item_kind=ItemKind.CARD, item_model="Top-up 100")
    customer = CustomerFactory()
    hall = stock_for(product, units=2, area=customer.area)
    order = accept(submitted_order(product=product, customer=customer))
    sku = sku_for(product)
    services.stock_ship_for_order(order=order, by=clerk)
    assert level_of(hall, sku) == (1, 0)
    services.stock_return_for_order(order=order, by=clerk)
    assert level_of(hall, sku) == (2, 0)
    assert services.stock_delivered_for_order(order=order) == 0
    assert_ledger_matches_counts()


def test_the_ledger_sums_to_the_counts_after_a_busy_day(chain, clerk, submitted_order):
    # given goods in at the company store, moved down to the hall, and orders reserving, shipping, returning, cancelling
    company, branch, hall = chain
    product = ProductFactory(sim=True)
    cards_product = ProductFactory(item_kind=ItemKind.CARD, item_model="Top-up 30")
    sim, cards = sku_for(product), sku_for(cards_product)
    customer_area = CustomerFactory().area
    hall.areas.add(customer_area)
    services.stock_receive(warehouse=company, sku=sim, by=clerk, serials=serials_for(sim, 10))
    services.stock_receive(warehouse=company, sku=cards, by=clerk, quantity=100)
    for to, n in ((branch, 8), (hall, 5)):
        t = services.transfer_request(to_warehouse=to, lines=[(sim, n), (cards, n * 5)], by=clerk)
        services.transfer_ship(transfer_id=t.pk, by=clerk)
        services.transfer_receive(transfer_id=t.pk, by=clerk)
    orders = [accept(submitted_order(product=p, customer=CustomerFactory(area=customer_area))) for p in (product, product, product, cards_product, cards_product)]
    services.stock_ship_for_order(order=orders[0], by=clerk)
    services.stock_delivered_for_order(order=orders[0])
    services.stock_ship_for_order(order=orders[1], by=clerk)
    services.stock_return_for_order(order=orders[1], by=clerk)
    order_services.order_cancel(order_id=orders[2].pk, by=clerk, reason="changed mind")
    services.stock_ship_for_order(order=orders[3], by=clerk)

    # then every store's ledger sums to its count, units mirror counts, and nothing was made or lost
    assert_ledger_matches_counts()
    assert level_of(company, sim) == (2, 0) and level_of(branch, sim) == (3, 0) and level_of(hall, sim) == (4, 0)
    assert level_of(hall, cards) == (24, 1)
    assert SerialUnit.objects.filter(sku=sim).count() == 10
    assert SerialUnit.objects.filter(status=SerialUnit.Status.DELIVERED).count() == 1


# --- the database's own guarantees ------------------------------------------------------------

@pytest.mark.parametrize(("on_hand", "reserved"), [(-1, 0), (2, 3), (2, -1)])
def test_the_database_refuses_impossible_counts(on_hand, reserved):
    level = StockLevel.objects.create(warehouse=WarehouseFactory(), sku=SkuFactory(counted=True), on_hand=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(on_hand=on_hand, reserved=reserved)


def test_the_database_keeps_a_serial_in_one_place():
    sim = SkuFactory()
    SerialUnit.objects.create(sku=sim, serial="89860100000000000001", warehouse=WarehouseFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        SerialUnit.objects.create(sku=sim, serial="89860100000000000001", warehouse=WarehouseFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        SerialUnit.objects.create(sku=sim, serial="89860100000000000002", warehouse=None, status=SerialUnit.Status.IN_STOCK)
    with pytest.raises(IntegrityError), transaction.atomic():
        SerialUnit.objects.create(sku=sim, serial="89860100000000000003", warehouse=WarehouseFactory(), status=SerialUnit.Status.RESERVED)


def test_the_acceptance_and_release_hooks_are_registered():
    from orders import hooks

    assert services.stock_reserve_for_order in hooks.acceptance_checks
    assert services.stock_release_for_order in hooks.release_hooks


# --- demo data ------------------------------------------------------------------------------

def test_the_demo_stock_covers_every_demo_product_and_keeps_the_ledger_whole():
    from delivery import demo_stock
    from orders.demo import PRODUCTS
    from tests.factories import ServiceAreaFactory

    # given the demo's areas
    heping, dongli = ServiceAreaFactory(district="和平区"), ServiceAreaFactory(district="东丽区")
    UserFactory(username="delivery1", roles=["delivery_clerk"])
    lines = []

    # when the stock demo is seeded twice
    demo_stock.seed(log=lines.append)
    counts = (SerialUnit.objects.count(), StockMovement.objects.count(), Transfer.objects.count())
    demo_stock.seed(log=lines.append)

    # then the chain is company → 2 branches → 1 hall each, the halls cover the areas, and the second run changed nothing
    halls = Warehouse.objects.filter(level=Warehouse.Level.HALL)
    assert Warehouse.objects.filter(level=Warehouse.Level.BRANCH, parent__level=Warehouse.Level.COMPANY).count() == 2
    assert sorted(h.parent.parent.code for h in halls) == ["TJ-CO", "TJ-CO"]
    assert {a for h in halls for a in h.areas.all()} == {heping, dongli}
    assert (SerialUnit.objects.count(), StockMovement.objects.count(), Transfer.objects.count()) == counts
    assert 200 <= counts[0] <= 1000
    # every product that ships an item finds its stock, and every hall has some of each
    models = {model for *_, kind, model, _plan in PRODUCTS if kind != ItemKind.NONE}
    assert set(Sku.objects.values_list("item_model", flat=True)) == models
    for hall in halls:
        assert StockLevel.objects.filter(warehouse=hall, on_hand__gt=0).count() == len(models)
    assert set(Transfer.objects.values_list("status", flat=True)) == {"received", "requested", "shipped"}
    assert_ledger_matches_counts()

    # and the reset clears it for a fresh seed
    demo_stock.reset(log=lines.append)
    assert not SerialUnit.objects.exists() and not StockLevel.objects.exists()
