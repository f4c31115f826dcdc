"""The back-office queue page: order, filters, claiming, accepting and rejecting."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orders import hooks, services
from orders.models import NumberStatus, Order, OrderStatus
from servicedesk.models import VipTier
from tests.factories import CustomerFactory, PoolNumberFactory, ProductCategoryFactory, ProductFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)


@pytest.fixture
def clerk_client(client, make_user):
    user = make_user("back_office")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def agent(make_user):
    return make_user("agent")


def sim_order(agent, *, tier=VipTier.ORDINARY, product=None, submitted_ago=timedelta(0), customer=None) -> Order:
    order = services.order_submit(
        agent=agent, customer=customer or CustomerFactory(vip_tier=tier), product=product or ProductFactory(sim=True),
        pool_number=PoolNumberFactory().number, delivery_address="天津市和平区南京路100号", appointment_date=TOMORROW,
        appointment_slot="morning",
    )
    if submitted_ago:
        # Moving the clock back as if submitted earlier, with the acceptance limit counted from then.
        Order.objects.filter(pk=order.pk).update(submitted_at=order.submitted_at - submitted_ago, accept_by=order.accept_by - submitted_ago)
    return order


def queue_ids(response) -> list[int]:
    return [o.pk for o in response.context["page"].object_list]


def test_agent_cannot_see_the_queue(client, make_user):
    client.force_login(make_user("agent"))
    assert client.get(reverse("orders:queue")).status_code == 403
    assert client.post(reverse("orders:queue_claim_next")).status_code == 403


def test_queue_needs_login(client):
    response = client.get(reverse("orders:queue"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_queue_puts_breached_first_then_vip_then_oldest(clerk_client, agent):
    # given a breached ordinary order, a fresh diamond one, and two fresh ordinary ones of different ages
    young = sim_order(agent)
    older = sim_order(agent, submitted_ago=timedelta(hours=2))
    diamond = sim_order(agent, tier=VipTier.DIAMOND)
    breached = sim_order(agent, submitted_ago=timedelta(hours=30))
    line = SubscriptionFactory()  # and a direct order, which never reaches the queue
    services.order_submit(agent=agent, customer=line.customer, product=ProductFactory(direct=True), service_number=line.service_number)
    # when the clerk opens the queue
    response = clerk_client.get(reverse("orders:queue"))
    body = response.content.decode()
    # then the order is breached, VIP, oldest; and the breach is flagged
    assert response.status_code == 200
    assert queue_ids(response) == [breached.pk, diamond.pk, older.pk, young.pk]
    assert "breached" in body and "left" in body


def test_queue_shows_only_submitted_back_office_orders(clerk_client, agent, make_user):
    waiting = sim_order(agent)
    accepted = sim_order(agent)
    services.order_accept(order_id=accepted.pk, clerk=make_user("back_office"))
    response = clerk_client.get(reverse("orders:queue"))
    assert queue_ids(response) == [waiting.pk]


@pytest.mark.parametrize("params, expected", [
    ({"vip_tier": "gold"}, ["gold"]),
    ({"category": "SIMS"}, ["gold", "old"]),
    ({"breached_only": "1"}, ["old"]),
    ({"vip_tier": "gold", "category": "PHONES"}, []),
])
def test_queue_filters(clerk_client, agent, params, expected):
    sims = ProductCategoryFactory(code="SIMS")
    phones = ProductCategoryFactory(code="PHONES")
    orders = {
        "gold": sim_order(agent, tier=VipTier.GOLD, product=ProductFactory(sim=True, category=sims)),
        "old": sim_order(agent, product=ProductFactory(sim=True, category=sims), submitted_ago=timedelta(hours=30)),
        "phone": sim_order(agent, product=ProductFactory(sim=True, category=phones)),
    }
    response = clerk_client.get(reverse("orders:queue"), params)
    assert sorted(queue_ids(response)) == sorted(orders[name].pk for name in expected)


@pytest.mark.parametrize("params", [{"vip_tier": "platinum"}, {"category": "' OR 1=1"}, {"page": "-3"}, {"page": "99999999"}])
def test_bad_filters_are_reported_and_ignored(clerk_client, agent, params):
    order = sim_order(agent)
    response = clerk_client.get(reverse("orders:queue"), params)
    assert response.status_code == 200
    assert queue_ids(response) == [order.pk]
    if "page" not in params:
        assert "was not understood" in response.content.decode()


def test_queue_is_paginated_and_keeps_filters_across_pages(clerk_client, agent):
    product = ProductFactory(sim=True)
    for _ in range(27):
        sim_order(agent, tier=VipTier.GOLD, product=product)
    response = clerk_client.get(reverse("orders:queue"), {"vip_tier": "gold"})
    assert response.context["page"].paginator.count == 27
    assert len(response.context["page"].object_list) == 25
    assert 'href="?vip_tier=gold&amp;page=2"' in response.content.decode()
    assert len(clerk_client.get(reverse("orders:queue"), {"vip_tier": "gold", "page": "2"}).context["page"].object_list) == 2


def test_queue_shows_who_holds_a_claim(clerk_client, agent, make_user):
    other = make_user("back_office", first_name="Zhou", last_name="Jie")
    order = sim_order(agent)
    services.order_claim_next(clerk=other)
    body = clerk_client.get(reverse("orders:queue")).content.decode()
    assert f'data-order="{order.pk}"' in body
    assert "Zhou Jie" in body


def test_claim_next_opens_the_most_urgent_order_with_accept_and_reject(clerk_client, agent):
    sim_order(agent)
    urgent = sim_order(agent, tier=VipTier.DIAMOND)
    response = clerk_client.post(reverse("orders:queue_claim_next"))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[urgent.pk])
    urgent.refresh_from_db()
    assert urgent.claimed_by == clerk_client.user
    page = clerk_client.get(response["Location"])
    assert {"accept", "reject", "release_claim"} <= page.context["actions"]
    assert 'data-testid="accept"' in page.content.decode()


def test_claim_next_on_an_empty_queue_says_so(clerk_client):
    response = clerk_client.post(reverse("orders:queue_claim_next"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:queue")
    assert "The queue is empty" in response.content.decode()


def test_two_clerks_never_claim_the_same_order(clerk_client, agent, make_user):
    first, second = sim_order(agent), sim_order(agent)
    services.order_claim_next(clerk=make_user("back_office"))
    response = clerk_client.post(reverse("orders:queue_claim_next"))
    assert response["Location"] == reverse("orders:detail", args=[second.pk])
    assert first.pk != second.pk


def test_accept_lands_back_on_the_queue_with_a_message(clerk_client, agent):
    order = sim_order(agent)
    clerk_client.post(reverse("orders:queue_claim_next"))
    response = clerk_client.post(reverse("orders:order_accept", args=[order.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:queue")
    assert f"Order #{order.pk} accepted" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.claimed_by) == (OrderStatus.ACCEPTED, None)
    assert order.pool_number.status == NumberStatus.RESERVED


def test_reject_needs_a_reason_and_then_releases_the_number(clerk_client, agent):
    order = sim_order(agent)
    # without a reason: the page again, with the message, nothing changed
    response = clerk_client.post(reverse("orders:order_reject", args=[order.pk]), {"reason": ""})
    assert response.status_code == 422
    assert "Say why the order is rejected." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    # with one: rejected, number back in the pool, clerk back on the queue
    response = clerk_client.post(reverse("orders:order_reject", args=[order.pk]), {"reason": "ID document expired"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:queue")
    assert f"Order #{order.pk} rejected" in response.content.decode()
    order.refresh_from_db()
    order.pool_number.refresh_from_db()
    assert (order.status, order.closing_reason) == (OrderStatus.REJECTED, "ID document expired")
    assert order.pool_number.status == NumberStatus.AVAILABLE


def test_cannot_accept_an_order_another_clerk_holds(clerk_client, agent, make_user):
    # given another clerk holds a live claim
    other = make_user("back_office", first_name="Zhou", last_name="Jie", username="zhoujie")
    order = sim_order(agent)
    services.order_claim_next(clerk=other)
    # then the page hides accept/reject and says who is on it
    page = clerk_client.get(reverse("orders:detail", args=[order.pk]))
    assert not {"accept", "reject"} & page.context["actions"]
    # and posting anyway is refused with 409 and the message
    response = clerk_client.post(reverse("orders:order_accept", args=[order.pk]))
    assert response.status_code == 409
    assert "zhoujie is working on this order." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_an_expired_claim_no_longer_blocks(clerk_client, agent, make_user, settings):
    order = sim_order(agent)
    services.order_claim_next(clerk=make_user("back_office"))
    Order.objects.filter(pk=order.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    response = clerk_client.post(reverse("orders:order_accept", args=[order.pk]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED


def test_claim_lasts_the_configured_minutes(clerk_client, agent, settings):
    settings.ORDER_CLAIM_MINUTES = 7
    order = sim_order(agent)
    before = timezone.now()
    clerk_client.post(reverse("orders:queue_claim_next"))
    order.refresh_from_db()
    assert before + timedelta(minutes=7) <= order.claim_expires_at <= timezone.now() + timedelta(minutes=7)


def test_release_puts_the_order_back(clerk_client, agent):
    order = sim_order(agent)
    clerk_client.post(reverse("orders:queue_claim_next"))
    response = clerk_client.post(reverse("orders:order_release_claim", args=[order.pk]))
    assert response["Location"] == reverse("orders:queue")
    order.refresh_from_db()
    assert order.claimed_by is None


def test_accept_without_identity_document_is_refused_with_the_message(clerk_client, agent):
    order = sim_order(agent, customer=CustomerFactory(id_number=""))
    response = clerk_client.post(reverse("orders:order_accept", args=[order.pk]))
    assert response.status_code == 422
    assert "identity document is missing" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_a_failing_acceptance_check_is_shown_and_nothing_changes(clerk_client, agent, monkeypatch):
    from django.core.exceptions import ValidationError

    def no_stock(order):
        raise ValidationError("No USIM 128K in stock.")

    monkeypatch.setattr(hooks, "acceptance_checks", [no_stock])
    order = sim_order(agent)
    response = clerk_client.post(reverse("orders:order_accept", args=[order.pk]))
    assert response.status_code == 422
    assert "No USIM 128K in stock." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_agent_cannot_accept_or_reject(client, agent):
    order = sim_order(agent)
    client.force_login(agent)
    assert client.post(reverse("orders:order_accept", args=[order.pk])).status_code == 403
    assert client.post(reverse("orders:order_reject", args=[order.pk]), {"reason": "x"}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_accepting_an_unknown_order_is_404(clerk_client):
    assert clerk_client.post(reverse("orders:order_accept", args=[999999])).status_code == 404


def test_queue_page_query_count_does_not_grow_with_its_length(clerk_client, agent, make_user, django_assert_max_num_queries):
    product = ProductFactory(sim=True)
    for _ in range(20):
        sim_order(agent, product=product)
    services.order_claim_next(clerk=make_user("back_office"))
    with django_assert_max_num_queries(12):
        response = clerk_client.get(reverse("orders:queue"))
    assert len(response.context["page"].object_list) == 20
