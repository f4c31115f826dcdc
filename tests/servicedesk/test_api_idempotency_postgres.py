"""Concurrent retries with one ``Idempotency-Key`` on PostgreSQL: one contact, the same answer for all."""
import threading

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from servicedesk.models import Contact, IdempotencyRecord
from servicedesk.roles import Role
from tests.factories import CustomerFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8



def test_concurrent_retries_with_one_key_create_one_contact():
    # given an agent whose client fires the same request 8 times at once (a retry storm)
    agent = UserFactory(roles=[Role.AGENT])
    token = Token.objects.create(user=agent)
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number="13800138000")
    body = {"customer": customer.pk, "reason": "Bill query"}
    barrier = threading.Barrier(WORKERS)
    responses, errors = [None] * WORKERS, []

    def post(n):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            barrier.wait(timeout=30)
            responses[n] = client.post("/api/v1/contacts/", body, format="json", headers={"Idempotency-Key": "storm-1"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then exactly one contact exists and every request got it back
    assert errors == []
    assert [r.status_code for r in responses] == [201] * WORKERS, [r.content for r in responses]
    assert {r.json()["id"] for r in responses} == {Contact.objects.get().pk}
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == WORKERS - 1
    assert IdempotencyRecord.objects.count() == 1
