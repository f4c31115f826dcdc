"""Real concurrency on PostgreSQL: clerks racing for the last units and stores racing for the same stock.

Whatever the interleaving: no count goes negative, no unit is held by two orders or in two places,
and the ledger still sums to the counts.
"""
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from delivery.models import SerialUnit, StockLevel, StockMovement, StockReservation, Transfer, Warehouse
from delivery.services import stock as services
from orders import services as order_services
from orders.models import ItemKind, Order, OrderStatus
from servicedesk.fsm import TransitionRefused
from tests.concurrency import run_concurrently
from tests.delivery.stock_helpers import serials_for, sku_for, stock_for
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, SkuFactory, UserFactory, WarehouseFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8
TOMORROW = timezone.localdate() + timedelta(days=1)


def test_on_postgres():
    assert connection.vendor == "postgresql"


def submit(product, customer):
    return order_services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=customer, product=product,
        pool_number=PoolNumberFactory().number if product.needs_number else "",
        delivery_address="南京路1号", appointment_date=TOMORROW, appointment_slot="afternoon",
    )


def assert_whole():
    """Counts are never negative nor below what is reserved; units mirror counts; the ledger sums to the counts."""
    ledger = defaultdict(int)
    for row in StockMovement.objects.values("warehouse_id", "sku_id").annotate(total=Sum("quantity")):
        ledger[(row["warehouse_id"], row["sku_id"])] = row["total"]
    for level in StockLevel.objects.select_related("sku"):
        assert 0 <= level.reserved <= level.on_hand
        assert ledger[(level.warehouse_id, level.sku_id)] == level.on_hand
        if level.sku.serialised:
            here = SerialUnit.objects.filter(warehouse_id=level.warehouse_id, sku=level.sku)
            assert here.count() == level.on_hand
            assert here.filter(status=SerialUnit.Status.RESERVED).count() == level.reserved
    held = StockReservation.objects.filter(status=StockReservation.Status.HELD, unit__isnull=False)
    assert held.count() == held.values("unit").distinct().count(), "a unit held for two orders"
    reserved_units = SerialUnit.objects.filter(status=SerialUnit.Status.RESERVED)
    assert sorted(reserved_units.values_list("pk", "order_id")) == sorted(held.values_list("unit_id", "order_id"))


@pytest.mark.parametrize("tracking", ["serialised", "counted"])
def test_clerks_accepting_at_once_never_promise_more_than_the_hall_has(tracking):
    # given a hall with 5 items and 24 submitted orders for them, 3 per clerk
    product = ProductFactory(sim=True) if tracking == "serialised" else ProductFactory(item_kind=ItemKind.CARD, item_model="Top-up 50")
    customer = CustomerFactory()
    hall = stock_for(product, units=5, area=customer.area)
    orders = [submit(product, customer).pk for _ in range(WORKERS * 3)]
    clerks = [UserFactory(roles=["back_office"]) for _ in range(WORKERS)]

    def work(n):
        outcomes = []
        for order_id in orders[n::WORKERS]:
            try:
                order_services.order_accept(order_id=order_id, clerk=clerks[n])
                outcomes.append("accepted")
            except ValidationError as exc:
                outcomes.append(list(exc.message_dict))
        return outcomes

    # when the eight clerks accept at the same moment
    outcomes = [o for worker in run_concurrently(work, workers=WORKERS) for o in worker]

    # then exactly five were accepted, each holding its own item; the rest were refused for stock and stay submitted
    assert outcomes.count("accepted") == 5
    assert all(o == ["stock"] for o in outcomes if o != "accepted")
    sku = sku_for(product)
    level = StockLevel.objects.get(warehouse=hall, sku=sku)
    assert (level.on_hand, level.reserved) == (5, 5)
    accepted = set(StockReservation.objects.filter(status="held").values_list("order_id", flat=True))
    assert len(accepted) == 5
    statuses = Counter(Order.objects.filter(pk__in=orders).values_list("status", flat=True))
    assert statuses == {OrderStatus.ACCEPTED: 5, OrderStatus.SUBMITTED: WORKERS * 3 - 5}
    assert_whole()


def test_clerks_falling_back_across_halls_in_opposite_orders_do_not_deadlock():
    # given two halls, each serving one area with 2 SIMs, and a third hall with 4; 16 orders from both areas
    product = ProductFactory(sim=True)
    east, west = CustomerFactory(), CustomerFactory()
    stock_for(product, units=2, area=east.area)
    stock_for(product, units=2, area=west.area)
    stock_for(product, units=4)
    orders = [submit(product, east if i % 2 else west).pk for i in range(WORKERS * 2)]

    def work(n):
        # once its own hall is empty, an east order tries the west hall and a west order the east hall
        outcomes = []
        for order_id in orders[n::WORKERS]:
            try:
                order_services.order_accept(order_id=order_id, clerk=UserFactory(roles=["back_office"]))
                outcomes.append(True)
            except ValidationError:
                outcomes.append(False)
        return outcomes

    # when they all accept at once: no worker fails (a deadlock would surface as a database error)
    outcomes = [o for worker in run_concurrently(work, workers=WORKERS) for o in worker]

    # then all eight SIMs are held, each by one order, and the other eight orders wait
    assert outcomes.count(True) == 8
    assert SerialUnit.objects.filter(status=SerialUnit.Status.RESERVED).count() == 8
    assert_whole()


def test_accepting_and_cancelling_at_once_keeps_every_unit_in_one_place():
    # given 4 SIMs held by 4 accepted orders, and 8 more orders waiting
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    stock_for(product, units=4, area=customer.area)
    clerk = UserFactory(roles=["back_office"])
    held = [order_services.order_accept(order_id=submit(product, customer).pk, clerk=clerk).pk for _ in range(4)]
    waiting = [submit(product, customer).pk for _ in range(WORKERS)]

    def work(n):
        # half the workers cancel a held order then try to accept a waiting one; the others only accept
        if n < 4:
            order_services.order_cancel(order_id=held[n], by=clerk, reason="changed mind")
        try:
            order_services.order_accept(order_id=waiting[n], clerk=UserFactory(roles=["back_office"]))
            return True
        except ValidationError:
            return False

    results = run_concurrently(work, workers=WORKERS)

    # then at most the 4 freed units were taken again, none twice
    assert sum(results) <= 4
    assert StockReservation.objects.filter(status="held").count() == sum(results)
    assert_whole()


def test_halls_racing_for_the_branchs_stock_never_get_more_than_it_had():
    # given a branch with 10 SIMs and 100 cards, and 8 halls each asking for 3 SIMs and 30 cards
    company = WarehouseFactory(level=Warehouse.Level.COMPANY)
    branch = WarehouseFactory(level=Warehouse.Level.BRANCH, parent=company)
    halls = [WarehouseFactory(level=Warehouse.Level.HALL, parent=branch) for _ in range(WORKERS)]
    sim, cards = SkuFactory(), SkuFactory(counted=True)
    services.stock_receive(warehouse=branch, sku=sim, by=None, serials=serials_for(sim, 10))
    services.stock_receive(warehouse=branch, sku=cards, by=None, quantity=100)
    clerk = UserFactory(roles=["delivery_clerk"])
    transfers = [services.transfer_request(to_warehouse=h, lines=[(sim, 3), (cards, 30)], by=clerk).pk for h in halls]

    def ship(n):
        try:
            services.transfer_ship(transfer_id=transfers[n], by=clerk)
            return True
        except ValidationError:
            return False

    # when the branch ships them all at once
    shipped = [t for t, ok in zip(transfers, run_concurrently(ship, workers=WORKERS), strict=True) if ok]

    # then exactly three went (3 x 3 SIMs, 3 x 30 cards), the others stayed asked for, with nothing moved
    assert len(shipped) == 3
    assert Counter(Transfer.objects.values_list("status", flat=True)) == {Transfer.Status.SHIPPED: 3, Transfer.Status.REQUESTED: 5}
    assert StockLevel.objects.get(warehouse=branch, sku=sim).on_hand == 1
    assert StockLevel.objects.get(warehouse=branch, sku=cards).on_hand == 10
    assert SerialUnit.objects.filter(status=SerialUnit.Status.IN_TRANSFER, warehouse=None).count() == 9
    assert Counter(SerialUnit.objects.filter(status="in_transfer").values_list("transfer_id", flat=True)) == {t: 3 for t in shipped}

    # when the halls all book theirs in at once, and the unlucky ones try again meanwhile
    def receive(n):
        if transfers[n] in shipped:
            services.transfer_receive(transfer_id=transfers[n], by=clerk)
            return "received"
        try:
            services.transfer_ship(transfer_id=transfers[n], by=clerk)
            return "shipped"
        except ValidationError:
            return "short"

    outcomes = Counter(run_concurrently(receive, workers=WORKERS))

    # then nothing was made or lost: the ten SIMs and hundred cards are all somewhere, once
    assert outcomes == {"received": 3, "short": 5}
    assert SerialUnit.objects.count() == 10 and SerialUnit.objects.filter(warehouse__isnull=True).count() == 0
    assert StockLevel.objects.filter(sku=sim).aggregate(n=Sum("on_hand"))["n"] == 10
    assert StockLevel.objects.filter(sku=cards).aggregate(n=Sum("on_hand"))["n"] == 100
    assert_whole()


def test_the_same_transfer_shipped_by_several_clerks_at_once_ships_once():
    company = WarehouseFactory(level=Warehouse.Level.COMPANY)
    branch = WarehouseFactory(level=Warehouse.Level.BRANCH, parent=company)
    sim = SkuFactory()
    services.stock_receive(warehouse=company, sku=sim, by=None, serials=serials_for(sim, 20))
    clerk = UserFactory(roles=["delivery_clerk"])
    transfer = services.transfer_request(to_warehouse=branch, lines=[(sim, 5)], by=clerk)

    def work(n):
        try:
            services.transfer_ship(transfer_id=transfer.pk, by=clerk)
            return "shipped"
        except TransitionRefused:
            return "refused"

    assert Counter(run_concurrently(work, workers=WORKERS)) == {"shipped": 1, "refused": WORKERS - 1}
    assert StockLevel.objects.get(warehouse=company, sku=sim).on_hand == 15
    assert SerialUnit.objects.filter(transfer=transfer).count() == 5
    assert StockMovement.objects.filter(transfer=transfer).count() == 5
    assert_whole()


def test_a_shipment_reported_leaving_and_returning_several_times_at_once_counts_once():
    # given an accepted order holding a SIM
    product = ProductFactory(sim=True)
    customer = CustomerFactory()
    hall = stock_for(product, units=2, area=customer.area)
    order = order_services.order_accept(order_id=submit(product, customer).pk, clerk=UserFactory(roles=["back_office"]))
    sku = sku_for(product)
    clerk = UserFactory(roles=["delivery_clerk"])

    # when the departure is reported by several retries at once
    run_concurrently(lambda n: services.stock_ship_for_order(order=order, by=clerk), workers=4)
    assert StockMovement.objects.filter(kind="ship").count() == 1
    level = StockLevel.objects.get(warehouse=hall, sku=sku)
    assert (level.on_hand, level.reserved) == (1, 0)

    # and then the return, also several times at once
    run_concurrently(lambda n: services.stock_return_for_order(order=order, by=clerk), workers=4)
    assert StockMovement.objects.filter(kind="return").count() == 1
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (2, 0)
    assert_whole()
