"""Demo stock: the warehouse chain, the stock items the demo products ship, and stock moved down the chain.

``seed(log)`` (called from ``delivery.demo``) writes a company store, two branch stores and one hall store
per branch serving the demo's service areas; one SKU per physical item model of ``orders.demo.PRODUCTS``;
goods in at the company store and transfers down to the halls, all through the stock services so that
the ledger sums to the counts. It also leaves one transfer asked for and one on its way, to work on.
Run again, it changes nothing once stock exists. ``reset(log)`` removes stock, units, transfers and
the ledger (before the orders they refer to are deleted); stores and SKUs stay.
"""
from decimal import Decimal

from django.db import transaction

from orders.demo import PRODUCTS
from orders.models import ItemKind
from servicedesk.models import ServiceArea, User

from .models import SerialUnit, Sku, StockLevel, StockMovement, StockReservation, Transfer, TransferLine, TransferTransition, Warehouse
from .services import stock as services

COMPANY = ("TJ-CO", "天津公司总库")
# branch code, branch name, hall code, hall name, the districts the hall delivers to
BRANCHES = (
    ("TJ-BR-S", "市南分公司库", "TJ-HALL-S", "市南呼叫中心营业厅库", ("和平区", "河西区", "南开区")),
    ("TJ-BR-N", "市北分公司库", "TJ-HALL-N", "市北呼叫中心营业厅库", ("河东区", "河北区", "红桥区", "滨海新区", "西青区", "东丽区")),
)
# item model -> SKU code, name, unit price; and how many come in at the company store
SKUS = {
    "5G USIM 256K": ("SIM-5G-256K", "5G USIM卡 256K", "0", 160),
    "4G USIM 128K": ("SIM-4G-128K", "4G USIM卡 128K", "0", 80),
    "Huawei Mate 60": ("HS-HW-MATE60", "华为 Mate 60 12+256G", "3999.00", 36),
    "iPhone 16": ("HS-AP-IP16", "Apple iPhone 16 128G", "5999.00", 24),
    "Xiaomi 14": ("HS-MI-14", "小米 14 12+256G", "2999.00", 40),
    "Top-up 50": ("CARD-050", "50元充值卡", "50.00", 600),
    "Top-up 100": ("CARD-100", "100元充值卡", "100.00", 400),
}
# What each branch, then each hall, asks for, as a share of what came in (halls keep the larger part).
BRANCH_SHARE = Decimal("0.4")
HALL_SHARE = Decimal("0.7")


def _serials(sku: Sku, index: int, count: int) -> list[str]:
    if sku.item_kind == ItemKind.HANDSET:
        bodies = [f"86{index:02d}{n:010d}" for n in range(1, count + 1)]
        return [body + _luhn_digit(body) for body in bodies]
    return [f"898601{index:02d}{n:012d}" for n in range(1, count + 1)]


def _luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        d = int(char)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _stores() -> tuple[Warehouse, list[tuple[Warehouse, Warehouse]]]:
    company = Warehouse.objects.update_or_create(code=COMPANY[0], defaults={"name": COMPANY[1], "level": Warehouse.Level.COMPANY, "parent": None})[0]
    chain = []
    for branch_code, branch_name, hall_code, hall_name, districts in BRANCHES:
        branch = Warehouse.objects.update_or_create(code=branch_code, defaults={"name": branch_name, "level": Warehouse.Level.BRANCH, "parent": company})[0]
        hall = Warehouse.objects.update_or_create(code=hall_code, defaults={"name": hall_name, "level": Warehouse.Level.HALL, "parent": branch})[0]
        hall.areas.set(ServiceArea.objects.filter(district__in=districts))
        chain.append((branch, hall))
    return company, chain


def _skus() -> list[tuple[Sku, int]]:
    wanted = {model: kind for _c, _n, _cat, _p, _num, kind, model, _plan in PRODUCTS if kind != ItemKind.NONE and model}
    skus = []
    for model, kind in wanted.items():
        code, name, price, count = SKUS[model]
        tracking = Sku.Tracking.COUNTED if kind == ItemKind.CARD else Sku.Tracking.SERIALISED
        sku = Sku.objects.update_or_create(
            item_model=model, defaults={"code": code, "name": name, "item_kind": kind, "tracking": tracking, "unit_price": Decimal(price)},
        )[0]
        skus.append((sku, count))
    return skus


def _move(to: Warehouse, lines: list[tuple[Sku, int]], by, *, ship: bool = True, receive: bool = True) -> Transfer:
    transfer = services.transfer_request(to_warehouse=to, lines=[(s, q) for s, q in lines if q > 0], by=by, note="demo")
    if ship:
        services.transfer_ship(transfer_id=transfer.pk, by=by)
    if ship and receive:
        services.transfer_receive(transfer_id=transfer.pk, by=by)
    return transfer


@transaction.atomic
def seed(log=print) -> None:
    company, chain = _stores()
    skus = _skus()
    if StockMovement.objects.exists():
        log(f"Stock: {Warehouse.objects.count()} stores, {len(skus)} stock items; stock already there, left as it is.")
        return
    # A transfer names who asked: the demo's delivery clerk, else the admin.
    clerk = User.objects.filter(username="delivery1").first() or User.objects.filter(is_superuser=True).order_by("pk").first()
    if clerk is None:
        log("Stock: no staff yet, so no stock seeded (seed the staff first).")
        return
    for index, (sku, count) in enumerate(skus, start=1):
        if sku.serialised:
            services.stock_receive(warehouse=company, sku=sku, by=clerk, serials=_serials(sku, index, count), note="demo: goods in")
        else:
            services.stock_receive(warehouse=company, sku=sku, by=clerk, quantity=count, note="demo: goods in")
    for branch, hall in chain:
        to_branch = [(sku, int(count * BRANCH_SHARE)) for sku, count in skus]
        _move(branch, to_branch, clerk)
        _move(hall, [(sku, int(q * HALL_SHARE)) for sku, q in to_branch], clerk)
    # Work to do on the transfer pages: one request waiting for the branch, one on its way to the hall.
    (south_branch, south_hall), (north_branch, north_hall) = chain
    _move(north_hall, [(sku, 2) for sku, _count in skus[:3]], clerk, ship=False)
    _move(south_hall, [(sku, 1) for sku, _count in skus[:2]], clerk, receive=False)
    log(
        f"Stock: {Warehouse.objects.count()} stores, {len(skus)} stock items, {SerialUnit.objects.count():,} serialised units, "
        f"{StockMovement.objects.count():,} ledger entries, {Transfer.objects.count()} transfers."
    )


@transaction.atomic
def reset(log=print) -> None:
    """Remove stock, units, transfers and the ledger; the stores and the stock items stay."""
    StockReservation.objects.all().delete()
    StockMovement.objects.all().delete()
    TransferTransition.objects.all().delete()
    SerialUnit.objects.all().delete()
    TransferLine.objects.all().delete()
    Transfer.objects.all().delete()
    StockLevel.objects.all().delete()
    log("Stock: cleared.")
