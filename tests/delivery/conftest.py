"""Fixtures of the delivery tests: orders as the back-office leaves them."""
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services as order_services
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory


@pytest.fixture
def submitted_order(db):
    """``submitted_order(product=..., customer=...)``: a back-office SIM sale with a pool number, not yet accepted."""

    def make(*, product=None, customer=None, agent=None, **fields):
        product = product or ProductFactory(sim=True)
        return order_services.order_submit(
            agent=agent or UserFactory(roles=["agent"]),
            customer=customer or CustomerFactory(),
            product=product,
            pool_number=PoolNumberFactory().number if product.needs_number else "",
            delivery_address=fields.pop("delivery_address", "天津市和平区南京路100号"),
            appointment_date=fields.pop("appointment_date", timezone.localdate() + timedelta(days=1)),
            appointment_slot=fields.pop("appointment_slot", "afternoon"),
            **fields,
        )

    return make


@pytest.fixture
def accepted_order(submitted_order):
    """``accepted_order(...)``: as ``submitted_order``, then accepted by a back-office clerk
    (so the delivery app's acceptance check has run and reserved the stock)."""

    def make(**kwargs):
        order = submitted_order(**kwargs)
        return order_services.order_accept(order_id=order.pk, clerk=UserFactory(roles=["back_office"]))

    return make
