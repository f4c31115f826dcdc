"""Real concurrent clerks on PostgreSQL: the back-office queue never gives one order to two clerks."""
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus, OrderTransition
from tests.concurrency import run_concurrently
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 40
CLERKS = 8


def test_on_postgres():
    assert connection.vendor == "postgresql"


def test_clerks_claiming_at_once_each_get_different_orders_and_every_order_is_accepted_once():
    # given a queue of back-office SIM orders and eight clerks starting at the same moment
    agent = UserFactory(roles=["agent"])
    product = ProductFactory(sim=True)
    tomorrow = timezone.localdate() + timedelta(days=1)
    for _ in range(ORDERS):
        services.order_submit(
            agent=agent, customer=CustomerFactory(), product=product, pool_number=PoolNumberFactory().number,
            delivery_address="南京路1号", appointment_date=tomorrow,
        )
    clerks = [UserFactory(roles=["back_office"]) for _ in range(CLERKS)]

    # when each clerk claims the next order and accepts it, until the queue is empty
    def work(n):
        clerk, done = clerks[n], []
        while (order := services.order_claim_next(clerk=clerk)) is not None:
            services.order_accept(order_id=order.pk, clerk=clerk)
            done.append(order.pk)
        return done

    per_clerk = run_concurrently(work, workers=CLERKS)

    # then no order was served twice, every order was accepted exactly once, and the work was shared
    served = Counter(pk for done in per_clerk for pk in done)
    assert len(served) == ORDERS and set(served.values()) == {1}
    assert Order.objects.filter(status=OrderStatus.ACCEPTED).count() == ORDERS
    accepts = Counter(OrderTransition.objects.filter(transition="accept").values_list("order_id", flat=True))
    assert set(accepts.values()) == {1} and len(accepts) == ORDERS
    assert sum(1 for done in per_clerk if done) > 1


def test_simultaneous_claims_on_a_one_order_queue_give_it_to_exactly_one_clerk():
    order = services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=CustomerFactory(), product=ProductFactory(sim=True),
        pool_number=PoolNumberFactory().number, delivery_address="南京路1号", appointment_date=timezone.localdate() + timedelta(days=1),
    )
    clerks = [UserFactory(roles=["back_office"]) for _ in range(CLERKS)]

    claims = run_concurrently(lambda n: services.order_claim_next(clerk=clerks[n]), workers=CLERKS)

    winners = [c for c in claims if c is not None]
    assert [w.pk for w in winners] == [order.pk]
    order.refresh_from_db()
    assert order.claimed_by == winners[0].claimed_by
