"""Concurrent retries with one ``Idempotency-Key`` on PostgreSQL: one contact, the same answer for all."""
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from servicedesk.models import Contact, IdempotencyRecord
from servicedesk.roles import Role
from tests.concurrency import run_concurrently
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

    def post(n):
        client = APIClient()  # one per thread, as one per retrying process
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client.post("/api/v1/contacts/", body, format="json", headers={"Idempotency-Key": "storm-1"})

    responses = run_concurrently(post, workers=WORKERS)

    # then exactly one contact exists and every request got it back
    assert [r.status_code for r in responses] == [201] * WORKERS, [r.content for r in responses]
    assert {r.json()["id"] for r in responses} == {Contact.objects.get().pk}
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == WORKERS - 1
    assert IdempotencyRecord.objects.count() == 1
