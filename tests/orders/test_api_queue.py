"""The back-office queue over the API: list in queue order, claim next, accept, reject."""
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services
from orders.models import NumberStatus, Order, OrderStatus
from servicedesk.models import VipTier
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def sell(vip_tier=VipTier.ORDINARY):
    return services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=CustomerFactory(vip_tier=vip_tier), product=ProductFactory(sim=True),
        pool_number=PoolNumberFactory().number, delivery_address="南京路1号", appointment_date=timezone.localdate() + timedelta(days=1),
    )


def test_the_queue_lists_breached_then_vip_then_oldest_and_filters(api_for):
    ordinary, diamond, breached = sell(), sell(VipTier.DIAMOND), sell()
    Order.objects.filter(pk=breached.pk).update(accept_by=timezone.now() - timedelta(minutes=5))
    clerk = api_for("back_office")

    body = clerk.get("/api/v1/orders/queue/").json()
    assert [o["id"] for o in body["results"]] == [breached.pk, diamond.pk, ordinary.pk]
    assert [o["id"] for o in clerk.get("/api/v1/orders/queue/", {"vip_tier": "diamond"}).json()["results"]] == [diamond.pk]
    assert [o["id"] for o in clerk.get("/api/v1/orders/queue/", {"breached": "true"}).json()["results"]] == [breached.pk]
    bad = clerk.get("/api/v1/orders/queue/", {"vip_tier": "platinum"})
    assert bad.status_code == 400 and "vip_tier" in bad.json()["detail"]


def test_a_clerk_claims_the_next_order_and_accepts_it_another_clerk_cannot(api_for):
    order = sell()
    first, second = api_for("back_office"), api_for("back_office")

    claimed = first.post("/api/v1/orders/claim-next/")
    assert claimed.status_code == 200 and claimed.json()["id"] == order.pk
    assert second.post("/api/v1/orders/claim-next/").status_code == 204

    refused = second.post(f"/api/v1/orders/{order.pk}/accept/")
    assert refused.status_code == 409 and refused.json()["code"] == "claimed_by_other"

    accepted = first.post(f"/api/v1/orders/{order.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == OrderStatus.ACCEPTED
    again = first.post(f"/api/v1/orders/{order.pk}/accept/")
    assert again.status_code == 409 and "handed_to_delivery" in again.json()["detail"]["allowed"]


def test_reject_needs_a_reason_and_frees_the_number(api_for):
    order = sell()
    clerk = api_for("back_office")
    assert clerk.post(f"/api/v1/orders/{order.pk}/reject/", {}, format="json").status_code == 400
    response = clerk.post(f"/api/v1/orders/{order.pk}/reject/", {"reason": "ID photo unreadable"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == OrderStatus.REJECTED
    order.pool_number.refresh_from_db()
    assert order.pool_number.status == NumberStatus.AVAILABLE


@pytest.mark.parametrize("call", ["get queue/", "post claim-next/", "post {id}/accept/", "post {id}/reject/"])
def test_roles_without_acceptance_are_refused(api_for, call):
    order = sell()
    method, path = call.split(" ")
    agent = api_for("agent")
    response = getattr(agent, method)("/api/v1/orders/" + path.format(id=order.pk), {"reason": "x"}, format="json")
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED and order.claimed_by is None
