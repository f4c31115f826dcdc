"""Fixtures of the KPI tests: the generated world, alone or with its rollups written; a hall to ship from."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from orders import services as order_services
from tests.delivery.shipment_helpers import Hall
from tests.factories import PoolNumberFactory, UserFactory
from tests.kpi.generate import ROLLUP_FIRST, ROLLUP_LAST, SEED, generate, load_facts, recompute_all


@pytest.fixture
def world(db):
    """The seeded world of facts (no rollups yet)."""
    return generate(SEED)


@pytest.fixture
def rolled_up(world):
    """The world with every source's rollups written over all its days; ``world.facts`` holds its rows as model instances."""
    recompute_all(ROLLUP_FIRST, ROLLUP_LAST)
    world.facts = load_facts()
    return world


@pytest.fixture(scope="module")
def shared_rolled_up(django_db_setup, django_db_blocker):
    """``rolled_up`` made once for a whole module of checks that only read it.

    It is written inside a transaction that is rolled back after the module; each
    test's own transaction nests in it as a savepoint, so a test that writes leaves
    the next one the same world."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = generate(SEED)
            recompute_all(ROLLUP_FIRST, ROLLUP_LAST)
            world.facts = load_facts()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def hall(db):
    """A stocked hall store and a carrier (tests/delivery's ``Hall``); ``hall.order()`` is an order the back office accepted."""

    def accepted_order(*, product, customer, **fields):
        order = order_services.order_submit(
            agent=UserFactory(roles=["agent"]), customer=customer, product=product,
            pool_number=PoolNumberFactory().number if product.needs_number else "", delivery_address="天津市和平区南京路100号",
            appointment_date=timezone.localdate() + timedelta(days=1), appointment_slot="afternoon", **fields,
        )
        return order_services.order_accept(order_id=order.pk, clerk=UserFactory(roles=["back_office"]))

    return Hall(accepted_order)
