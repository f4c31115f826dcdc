"""Helpers of the shipment and carrier API tests: a stocked hall, signed carrier requests."""
import itertools
import json
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from delivery.carrier_auth import signed_headers
from delivery.models import SerialUnit, StockLevel
from orders.models import ItemKind
from tests.factories import (
    CarrierCredentialFactory, CarrierFactory, CustomerFactory, ProductFactory, SerialUnitFactory, ServiceAreaFactory, SkuFactory,
    WarehouseFactory,
)

EVENTS = "/api/v1/carrier/events/"
_models = itertools.count(1)


class Hall:
    """A hall store serving an area, stocked with SIMs of one product, and a carrier with a key.

    ``order()`` puts one more SIM on the shelf and returns an order accepted by the back office
    (the stock services' acceptance check reserves that SIM in this hall)."""

    def __init__(self, accepted_order, *, price=None):
        self._accept = accepted_order
        self.area = ServiceAreaFactory()
        self.warehouse = WarehouseFactory()
        self.warehouse.areas.add(self.area)
        model = f"USIM test {next(_models)}"
        self.product = ProductFactory(sim=True, item_model=model, **({"price": price} if price is not None else {}))
        self.sku = SkuFactory(item_model=model, item_kind=ItemKind.SIM)
        self.level = StockLevel.objects.create(warehouse=self.warehouse, sku=self.sku, on_hand=0)
        self.carrier = CarrierFactory(serves=[ItemKind.SIM])
        self.credential = CarrierCredentialFactory(carrier=self.carrier)

    def order(self, **fields):
        unit = SerialUnitFactory(sku=self.sku, warehouse=self.warehouse)
        StockLevel.objects.filter(pk=self.level.pk).update(on_hand=SerialUnit.objects.filter(sku=self.sku, warehouse=self.warehouse).count())
        order = self._accept(product=self.product, customer=fields.pop("customer", None) or CustomerFactory(area=self.area), **fields)
        order.unit = unit
        return order


def body_of(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def post_signed(payload, credential, *, timestamp=None):
    """POST ``payload`` to the tracking API signed with ``credential``, as a carrier's system would."""
    raw = body_of(payload)
    return post_raw(raw, signed_headers(key_id=credential.key_id, secret=credential.secret, body=raw, timestamp=timestamp))


def post_raw(raw: bytes, headers: dict, *, client=None):
    return (client or APIClient()).generic("POST", EVENTS, raw, content_type="application/json", headers=headers)


def event(tracking_number: str, code: str, at: datetime, *, event_id: str | None = None, **details) -> dict:
    body = {"event_id": event_id or f"{code}-{at.timestamp():.0f}", "tracking_number": tracking_number, "code": code, "occurred_at": at.isoformat()}
    return {**body, **details}


def delivered(tracking_number: str, at: datetime, *, event_id: str | None = None, **details) -> dict:
    fields = {"signed_by": "张三", "id_checked": True, "amount_collected": "50.00", "payment_method": "cash", **details}
    return event(tracking_number, "delivered", at, event_id=event_id, **fields)


def minutes_ago(minutes: int) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)
