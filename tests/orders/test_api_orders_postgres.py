"""Concurrent order submissions through the API on PostgreSQL: one order per key, one order per number."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import NumberStatus, Order, PoolNumber
from servicedesk.roles import Role
from tests.concurrency import run_concurrently
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


def fire(requests: list) -> list:
    """Send ``(token, body, key)`` requests all at once, each on its own connection; the responses in order."""

    def post(n):
        token, body, key = requests[n]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.post("/api/v1/orders/", body, format="json", headers={"Idempotency-Key": key})

    return run_concurrently(post, workers=len(requests))


def sale(customer, product, number):
    return {
        "customer": customer.pk, "product": product.code, "pool_number": number, "delivery_address": "天津市和平区南京路100号",
        "appointment_date": (timezone.localdate() + timedelta(days=1)).isoformat(), "appointment_slot": "morning",
    }


def test_concurrent_retries_with_one_key_create_one_order():
    # given a client whose retry storm sends one sale 8 times at once
    token = Token.objects.create(user=UserFactory(roles=[Role.API_CLIENT])).key
    body = sale(CustomerFactory(), ProductFactory(sim=True), PoolNumberFactory(number="18600000001").number)

    responses = fire([(token, body, "storm-1")] * WORKERS)

    # then one order exists, holding the number, and every request got that order back
    order = Order.objects.get()
    assert [r.status_code for r in responses] == [201] * WORKERS, [r.content for r in responses]
    assert {r.json()["id"] for r in responses} == {order.pk}
    assert PoolNumber.objects.get(number="18600000001").order_id == order.pk


def test_concurrent_sales_of_one_number_sell_it_once():
    # given 8 clients that each try to sell the same free number to a different customer
    product = ProductFactory(sim=True)
    PoolNumberFactory(number="18600000001")
    requests = [
        (Token.objects.create(user=UserFactory(roles=[Role.API_CLIENT])).key, sale(CustomerFactory(), product, "18600000001"), f"k{n}")
        for n in range(WORKERS)
    ]

    responses = fire(requests)

    # then exactly one order holds it; the others are told to pick another number, and no other order exists
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * (WORKERS - 1), [r.content for r in responses]
    assert all("pool_number" in r.json()["detail"] for r in responses if r.status_code == 400)
    winner = Order.objects.get()
    held = PoolNumber.objects.get(number="18600000001")
    assert (held.status, held.order_id) == (NumberStatus.RESERVED, winner.pk)
