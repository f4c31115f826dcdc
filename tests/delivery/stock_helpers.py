"""Putting stock where an order will look for it, through the stock services (so the ledger stays whole).

``stock_for(product, units=3, area=customer.area)`` before accepting an order of ``product``: the
delivery app's acceptance check reserves an item of the product's model in a hall store, and refuses
the acceptance when there is none.
"""
from itertools import count

from delivery.models import Sku, Warehouse
from delivery.services.stock import stock_receive
from orders.models import ItemKind
from tests.factories import SkuFactory, WarehouseFactory

_serials = count(1)


def luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        d = int(char)
        if i % 2 == 0:  # doubled: these sit in odd places once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def imei(n: int | None = None) -> str:
    """A valid 15-digit IMEI (Luhn check digit)."""
    body = f"86{(next(_serials) if n is None else n):012d}"
    return body + luhn_digit(body)


def iccid(n: int | None = None) -> str:
    """A 20-digit ICCID."""
    return f"898601{(next(_serials) if n is None else n):014d}"


def serials_for(sku: Sku, how_many: int) -> list[str]:
    make = imei if sku.item_kind == ItemKind.HANDSET else iccid
    return [make() for _ in range(how_many)]


def sku_for(product) -> Sku:
    """The stock item an order of ``product`` takes (created the first time): serialised unless a top-up card."""
    sku = Sku.objects.filter(item_model=product.item_model).first()
    if sku is None:
        card = product.item_kind == ItemKind.CARD
        sku = SkuFactory(item_model=product.item_model, item_kind=product.item_kind, name=product.item_model,
                         tracking=Sku.Tracking.COUNTED if card else Sku.Tracking.SERIALISED)
    return sku


def stock_for(product, *, units: int = 1, area=None, hall: Warehouse | None = None) -> Warehouse:
    """Book ``units`` of the product's item into a hall store (a new one unless given) that serves ``area``."""
    sku = sku_for(product)
    hall = hall or WarehouseFactory()
    if area is not None:
        hall.areas.add(area)
    if sku.serialised:
        stock_receive(warehouse=hall, sku=sku, by=None, serials=serials_for(sku, units))
    else:
        stock_receive(warehouse=hall, sku=sku, by=None, quantity=units)
    return hall
