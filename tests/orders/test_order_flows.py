"""The three fulfilment flows end to end through orders.services, and every refusal."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from orders import hooks, services
from orders.models import Flow, NumberStatus, Opportunity, Order, OrderStatus, OrderTransition
from servicedesk.billing import BillingRejected, ProvisioningResult
from servicedesk.fsm import TransitionRefused
from servicedesk.models import OutboxMessage, Subscription, VipTier
from tests.factories import (
    CustomerFactory, PoolNumberFactory, ProductCategoryFactory, ProductFactory, ServiceAreaFactory, SubscriptionFactory,
    TariffPlanFactory,
)

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)


@pytest.fixture
def staff(make_user):
    class Staff:
        agent = make_user("agent")
        clerk = make_user("back_office")
        courier_desk = make_user("delivery_clerk")

    return Staff


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a service schedules after commit (outbox provisioning), as production does."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def sell_sim(staff, *, customer=None, number=None, **fields):
    product = fields.pop("product", None) or ProductFactory(sim=True)
    number = number or PoolNumberFactory(price=Decimal("88.00"))
    return services.order_submit(
        agent=staff.agent, customer=customer or CustomerFactory(), product=product, pool_number=number.number,
        delivery_address="天津市和平区南京路100号", appointment_date=TOMORROW, appointment_slot="morning", **fields,
    )


def trail(order: Order) -> list[tuple[str, str, str]]:
    return list(OrderTransition.objects.filter(order=order).order_by("id").values_list("transition", "from_state", "to_state"))


# --- Direct flow ----------------------------------------------------------------

def test_direct_order_is_provisioned_in_billing_after_commit_and_completed(staff, run_on_commit):
    # given a customer's existing line and a direct-flow tariff change
    subscription = SubscriptionFactory()
    new_plan = TariffPlanFactory(code="5G-199", name="5G 199", monthly_fee=Decimal("199.00"))
    product = ProductFactory(direct=True, tariff_plan=new_plan)

    # when the agent submits it during the call
    order = run_on_commit(
        services.order_submit, agent=staff.agent, customer=subscription.customer, product=product,
        service_number=subscription.service_number,
    )

    # then billing provisioned it once and the order completed, every step recorded
    order.refresh_from_db()
    assert order.flow == Flow.DIRECT
    assert order.status == OrderStatus.COMPLETED
    assert order.billing_reference.startswith("BSS-")
    assert trail(order) == [
        ("submit", "", "submitted"), ("provision", "submitted", "provisioned"), ("complete", "provisioned", "completed"),
    ]
    subscription.refresh_from_db()
    assert subscription.tariff_plan == new_plan
    assert OutboxMessage.objects.filter(key=f"order:{order.pk}:provision").count() == 1


def test_direct_order_rejected_by_billing_fails_with_the_reason(staff, run_on_commit, monkeypatch):
    class Refusing:
        def provision(self, *, key, request):
            raise BillingRejected("tariff not allowed on this line")

    monkeypatch.setattr("orders.handlers.billing_adapter", lambda: Refusing())
    subscription = SubscriptionFactory()

    order = run_on_commit(
        services.order_submit, agent=staff.agent, customer=subscription.customer, product=ProductFactory(direct=True),
        service_number=subscription.service_number,
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.closing_reason == "tariff not allowed on this line"
    assert trail(order)[-1] == ("fail", "submitted", "failed")


def test_direct_order_is_never_provisioned_twice_when_the_work_is_redelivered(staff, run_on_commit, monkeypatch):
    # given a BSS that counts the requests it receives
    calls = []

    class Counting:
        def provision(self, *, key, request):
            calls.append(key)
            return ProvisioningResult(f"REF-{len(calls)}")

    monkeypatch.setattr("orders.handlers.billing_adapter", lambda: Counting())
    subscription = SubscriptionFactory()
    order = run_on_commit(
        services.order_submit, agent=staff.agent, customer=subscription.customer, product=ProductFactory(direct=True),
        service_number=subscription.service_number,
    )

    # when the same outbox message is delivered again (a worker crashed after sending, say)
    from servicedesk.outbox import outbox_deliver

    message = OutboxMessage.objects.get(key=f"order:{order.pk}:provision")
    outbox_deliver(message_id=message.pk)

    # then billing saw one request and the order moved once
    assert calls == [f"order:{order.pk}:provision"]
    assert [t for t, _f, _t in trail(order)].count("provision") == 1


def test_direct_order_with_a_transient_billing_failure_waits_and_is_retried(staff, run_on_commit, monkeypatch):
    from servicedesk.outbox import TransientDeliveryError, outbox_deliver

    outcomes = [TransientDeliveryError("BSS timeout"), ProvisioningResult("REF-OK")]

    class Flaky:
        def provision(self, *, key, request):
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

    monkeypatch.setattr("orders.handlers.billing_adapter", lambda: Flaky())
    subscription = SubscriptionFactory()
    order = run_on_commit(
        services.order_submit, agent=staff.agent, customer=subscription.customer, product=ProductFactory(direct=True),
        service_number=subscription.service_number,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    message = OutboxMessage.objects.get(key=f"order:{order.pk}:provision")
    assert message.status == OutboxMessage.Status.PENDING and message.next_attempt_at > timezone.now()

    # when the redrive delivers it again once the backoff has passed
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_deliver(message_id=message.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.billing_reference == "REF-OK"


@pytest.mark.parametrize(
    "service_number, message",
    [("", "Choose the line this applies to."), ("13900000000", "This service number does not belong to the customer.")],
)
def test_direct_order_needs_one_of_the_customers_lines(staff, service_number, message):
    subscription = SubscriptionFactory()
    with pytest.raises(ValidationError) as refused:
        services.order_submit(
            agent=staff.agent, customer=subscription.customer, product=ProductFactory(direct=True), service_number=service_number,
        )
    assert refused.value.message_dict["service_number"] == [message]
    assert not Order.objects.exists()


# --- Back-office flow -------------------------------------------------------------

def test_back_office_order_goes_through_acceptance_delivery_and_activation(staff, run_on_commit):
    # given a SIM sale with a new number from the pool
    customer = CustomerFactory(vip_tier=VipTier.GOLD)
    number = PoolNumberFactory(price=Decimal("88.00"))
    order = sell_sim(staff, customer=customer, number=number)
    number.refresh_from_db()
    assert order.flow == Flow.BACK_OFFICE and order.status == OrderStatus.SUBMITTED
    assert number.status == NumberStatus.RESERVED and number.order_id == order.pk
    assert order.price == Decimal("138.00")  # product 50 + number fee 88
    assert order.priority == services.VIP_PRIORITY[VipTier.GOLD]
    assert order.accept_by is not None

    # when back-office accepts, delivery hands it over and delivers, and billing activates
    services.order_accept(order_id=order.pk, clerk=staff.clerk)
    services.order_hand_to_delivery(order_id=order.pk, by=staff.courier_desk)
    run_on_commit(services.order_mark_delivered, order_id=order.pk, by=staff.courier_desk)

    # then the order is complete, the number sold and the customer has the new line
    order.refresh_from_db()
    number.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert number.status == NumberStatus.SOLD and number.sold_at and number.activated_at
    assert Subscription.objects.get(service_number=number.number).customer == customer
    assert trail(order) == [
        ("submit", "", "submitted"),
        ("accept", "submitted", "accepted"),
        ("hand_to_delivery", "accepted", "handed_to_delivery"),
        ("mark_delivered", "handed_to_delivery", "delivered"),
        ("activate", "delivered", "activated"),
        ("complete", "activated", "completed"),
    ]
    by = dict(OrderTransition.objects.filter(order=order).values_list("transition", "by"))
    assert by["accept"] == staff.clerk.pk and by["mark_delivered"] == staff.courier_desk.pk and by["activate"] is None


def test_urgent_activation_before_delivery_then_delivery_completes(staff, run_on_commit):
    order = sell_sim(staff)
    services.order_accept(order_id=order.pk, clerk=staff.clerk)

    run_on_commit(services.order_request_urgent_activation, order_id=order.pk, by=staff.clerk, reason="VIP travelling tonight")
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVATED and order.urgent_activation
    assert PoolNumberFactory._meta.model.objects.get(pk=order.pool_number_id).status == NumberStatus.SOLD

    run_on_commit(services.order_mark_delivered, order_id=order.pk, by=staff.courier_desk)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert [t for t, _f, _t in trail(order)] == [
        "submit", "accept", "request_urgent_activation", "urgent_activate", "complete",
    ]


def test_urgent_activation_is_refused_to_roles_that_may_not(staff, make_user):
    order = sell_sim(staff)
    services.order_accept(order_id=order.pk, clerk=staff.clerk)
    with pytest.raises(PermissionDenied):
        services.order_request_urgent_activation(order_id=order.pk, by=staff.agent)
    order.refresh_from_db()
    assert not order.urgent_activation


def test_urgent_activation_before_acceptance_is_refused_naming_the_allowed_states(staff):
    order = sell_sim(staff)
    with pytest.raises(TransitionRefused) as refused:
        services.order_request_urgent_activation(order_id=order.pk, by=staff.clerk)
    assert refused.value.status_code == 409
    assert set(refused.value.allowed) == {"accepted", "rejected", "cancelled"}


@pytest.mark.parametrize("how", ["reject", "cancel_submitted", "cancel_accepted", "cancel_on_failed_delivery"])
def test_rejection_and_cancellation_release_the_number(staff, how):
    # given a SIM order holding a number, and a downstream app that reserved stock for it
    released = []
    hooks.register_release_hook(released.append)
    try:
        number = PoolNumberFactory()
        order = sell_sim(staff, number=number)
        if how == "reject":
            services.order_reject(order_id=order.pk, clerk=staff.clerk, reason="ID photo unreadable")
        elif how == "cancel_submitted":
            services.order_cancel(order_id=order.pk, by=staff.agent, reason="customer changed their mind")
        else:
            services.order_accept(order_id=order.pk, clerk=staff.clerk)
            if how == "cancel_on_failed_delivery":
                services.order_hand_to_delivery(order_id=order.pk, by=staff.courier_desk)
            services.order_cancel(order_id=order.pk, by=staff.courier_desk, reason="refused at the door")
    finally:
        hooks.release_hooks.remove(released.append)

    # then the number is free again and the downstream release ran once, with the reason kept
    number.refresh_from_db()
    order.refresh_from_db()
    assert number.status == NumberStatus.AVAILABLE and number.order is None
    assert order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
    assert order.closing_reason and order.closed_at
    assert [o.pk for o in released] == [order.pk]
    assert trail(order)[-1][2] == order.status


@pytest.mark.parametrize("service, kwargs", [
    (services.order_reject, {"reason": "  "}),
    (services.order_cancel, {"reason": ""}),
])
def test_reject_and_cancel_need_a_reason(staff, service, kwargs):
    order = sell_sim(staff)
    actor = {"clerk": staff.clerk} if service is services.order_reject else {"by": staff.clerk}
    with pytest.raises(ValidationError):
        service(order_id=order.pk, **actor, **kwargs)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_acceptance_needs_the_customers_identity_document(staff):
    order = sell_sim(staff, customer=CustomerFactory(id_number=""))
    with pytest.raises(ValidationError) as refused:
        services.order_accept(order_id=order.pk, clerk=staff.clerk)
    assert "customer" in refused.value.message_dict
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_a_downstream_acceptance_check_can_refuse_and_nothing_changes(staff):
    def no_stock(order):
        raise ValidationError({"stock": ["No USIM in the hall store."]})

    hooks.register_acceptance_check(no_stock)
    try:
        order = sell_sim(staff)
        with pytest.raises(ValidationError):
            services.order_accept(order_id=order.pk, clerk=staff.clerk)
    finally:
        hooks.acceptance_checks.remove(no_stock)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert [t for t, _f, _t in trail(order)] == ["submit"]


@pytest.mark.parametrize("steps, service, allowed", [
    ([], services.order_hand_to_delivery, {"accepted", "rejected", "cancelled"}),
    ([], services.order_mark_delivered, {"accepted", "rejected", "cancelled"}),
    (["accept"], services.order_mark_delivered, {"handed_to_delivery", "cancelled", "activated"}),
    (["accept", "reject_after"], None, set()),
])
def test_illegal_transitions_are_refused_with_the_allowed_next_states(staff, steps, service, allowed):
    order = sell_sim(staff)
    if "accept" in steps:
        services.order_accept(order_id=order.pk, clerk=staff.clerk)
    if "reject_after" in steps:
        # an accepted order can no longer be rejected: only cancelled
        service, allowed = services.order_reject, {"handed_to_delivery", "cancelled", "activated"}
        call = {"order_id": order.pk, "clerk": staff.clerk, "reason": "too late"}
    else:
        call = {"order_id": order.pk, "by": staff.courier_desk}
    before = trail(order)
    with pytest.raises(TransitionRefused) as refused:
        service(**call)
    assert refused.value.status_code == 409
    assert set(refused.value.allowed) == allowed
    assert trail(order) == before


def test_a_completed_order_cannot_be_cancelled(staff, run_on_commit):
    subscription = SubscriptionFactory()
    order = run_on_commit(
        services.order_submit, agent=staff.agent, customer=subscription.customer, product=ProductFactory(direct=True),
        service_number=subscription.service_number,
    )
    with pytest.raises(TransitionRefused) as refused:
        services.order_cancel(order_id=order.pk, by=staff.clerk, reason="too late")
    assert refused.value.allowed == []


def test_the_agent_role_may_not_accept(staff):
    order = sell_sim(staff)
    with pytest.raises(PermissionDenied):
        services.order_accept(order_id=order.pk, clerk=staff.agent)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_a_role_that_may_never_accept_gets_403_not_a_409_about_the_state(staff):
    order = sell_sim(staff)
    services.order_cancel(order_id=order.pk, by=staff.agent, reason="customer changed their mind")
    with pytest.raises(PermissionDenied):
        services.order_accept(order_id=order.pk, clerk=staff.agent)
    with pytest.raises(TransitionRefused):
        services.order_accept(order_id=order.pk, clerk=staff.clerk)


def test_moving_an_unknown_order_says_so(staff):
    with pytest.raises(Order.DoesNotExist):
        services.order_hand_to_delivery(order_id=999_999, by=staff.courier_desk)


# --- Submission validation and routing ------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("pool_number", "", "Pick a number from the pool."),
    ("delivery_address", " ", "A delivery address is needed."),
    ("appointment_date", None, "Agree a delivery date with the customer."),
    ("appointment_date", timezone.localdate() - timedelta(days=1), "The delivery date cannot be in the past."),
])
def test_a_sim_sale_missing_what_it_needs_is_refused_and_nothing_is_written(staff, field, value, message):
    number = PoolNumberFactory()
    fields = {"pool_number": number.number, "delivery_address": "南京路1号", "appointment_date": TOMORROW, field: value}
    with pytest.raises(ValidationError) as refused:
        services.order_submit(agent=staff.agent, customer=CustomerFactory(), product=ProductFactory(sim=True), **fields)
    assert message in refused.value.message_dict[field]
    number.refresh_from_db()
    assert not Order.objects.exists() and number.status == NumberStatus.AVAILABLE


@pytest.mark.parametrize("status", [NumberStatus.RESERVED, NumberStatus.SOLD, NumberStatus.QUARANTINED, "missing"])
def test_a_number_that_is_not_available_cannot_be_sold_and_nothing_is_written(staff, status):
    if status == "missing":
        wanted = "18600009999"
    else:
        holder = sell_sim(staff) if status != NumberStatus.QUARANTINED else None
        number = PoolNumberFactory(status=status, order=holder)
        wanted = number.number
    before = Order.objects.count()
    with pytest.raises(ValidationError) as refused:
        sell_sim(staff, number=type("N", (), {"number": wanted})())
    assert "pool_number" in refused.value.message_dict
    assert Order.objects.count() == before


def test_a_product_no_longer_on_sale_is_refused(staff):
    with pytest.raises(ValidationError) as refused:
        sell_sim(staff, product=ProductFactory(sim=True, active=False))
    assert "product" in refused.value.message_dict


def test_an_area_manager_cannot_sell_outside_their_areas(make_user):
    manager = make_user("area_manager")
    mine = ServiceAreaFactory(manager=manager)
    subscription = SubscriptionFactory(customer__area=ServiceAreaFactory())
    with pytest.raises(PermissionDenied):
        services.order_submit(
            agent=manager, customer=subscription.customer, product=ProductFactory(direct=True), service_number=subscription.service_number,
        )
    assert mine.pk and not Order.objects.exists()


def test_routing_is_configuration_moving_a_category_changes_the_flow(staff):
    # given a category configured as direct in the admin
    category = ProductCategoryFactory(flow=Flow.DIRECT)
    product = ProductFactory(category=category)
    subscription = SubscriptionFactory()
    first = services.order_submit(agent=staff.agent, customer=subscription.customer, product=product, service_number=subscription.service_number)

    # when the admin moves it to back-office
    category.flow = Flow.BACK_OFFICE
    category.acceptance_limit_hours = 4
    category.save()
    second = services.order_submit(agent=staff.agent, customer=subscription.customer, product=product, service_number=subscription.service_number)

    # then the next sale takes the new flow, with the category's time limit
    assert (first.flow, second.flow) == (Flow.DIRECT, Flow.BACK_OFFICE)
    assert second.accept_by - second.submitted_at == timedelta(hours=4)


def test_a_deferred_product_becomes_an_opportunity_not_an_order(staff):
    customer = CustomerFactory()
    callback_at = timezone.now() + timedelta(days=2)
    sale = services.sale_submit(
        agent=staff.agent, customer=customer, product=ProductFactory(deferred=True), callback_at=callback_at, intent="high", notes="asks about family plan",
    )
    assert sale.order is None
    assert sale.opportunity.status == Opportunity.Status.OPEN
    assert (sale.opportunity.callback_at, sale.opportunity.intent) == (callback_at, "high")
    assert not Order.objects.exists()


def test_a_converted_opportunity_for_a_sim_takes_the_back_office_flow(staff, make_user):
    outbound = make_user("outbound")
    sim_of_interest = ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED))
    opportunity = services.opportunity_create(
        agent=staff.agent, customer=CustomerFactory(), product=sim_of_interest, callback_at=timezone.now() + timedelta(hours=1),
    )
    order = services.opportunity_convert(
        opportunity_id=opportunity.pk, by=outbound, pool_number=PoolNumberFactory().number, delivery_address="南京路1号", appointment_date=TOMORROW,
    )
    assert order.flow == Flow.BACK_OFFICE and order.channel == "outbound"
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.CONVERTED and opportunity.order == order


def test_every_order_step_shows_in_the_customer_timeline(staff, make_user):
    from servicedesk.registry import timeline_for

    customer = CustomerFactory()
    order = sell_sim(staff, customer=customer)
    services.order_reject(order_id=order.pk, clerk=staff.clerk, reason="ID photo unreadable")

    entries = [e for e in timeline_for(customer, staff.agent, limit=20) if e.kind == "order"]
    assert [e.title.rsplit(": ", 1)[1] for e in entries] == ["Rejected", "Submitted"]
    assert entries[0].detail == "ID photo unreadable"
    assert entries[0].url == f"/orders/{order.pk}/"


# --- Back-office queue claims -------------------------------------------------------------

def test_the_queue_serves_breached_first_then_vip_then_oldest(staff, make_user):
    now = timezone.now()
    old_ordinary = sell_sim(staff, customer=CustomerFactory(vip_tier=VipTier.ORDINARY))
    diamond = sell_sim(staff, customer=CustomerFactory(vip_tier=VipTier.DIAMOND))
    breached = sell_sim(staff, customer=CustomerFactory(vip_tier=VipTier.ORDINARY))
    Order.objects.filter(pk=old_ordinary.pk).update(submitted_at=now - timedelta(hours=2))
    Order.objects.filter(pk=breached.pk).update(accept_by=now - timedelta(minutes=1))

    clerks = [make_user("back_office") for _ in range(3)]
    served = [services.order_claim_next(clerk=clerk).pk for clerk in clerks]

    assert served == [breached.pk, diamond.pk, old_ordinary.pk]
    assert services.order_claim_next(clerk=make_user("back_office")) is None


def test_a_clerk_keeps_their_claim_and_an_abandoned_claim_expires(staff, make_user, settings):
    order = sell_sim(staff)
    first, second = make_user("back_office"), make_user("back_office")

    assert services.order_claim_next(clerk=first).pk == order.pk
    assert services.order_claim_next(clerk=first).pk == order.pk  # asking again gives the same order back
    assert services.order_claim_next(clerk=second) is None

    Order.objects.filter(pk=order.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.order_claim_next(clerk=second).pk == order.pk


def test_a_clerk_cannot_accept_an_order_another_clerk_is_working_on(staff, make_user):
    order = sell_sim(staff)
    holder, other = make_user("back_office"), make_user("back_office")
    services.order_claim_next(clerk=holder)

    with pytest.raises(TransitionRefused) as refused:
        services.order_accept(order_id=order.pk, clerk=other)
    assert refused.value.status_code == 409

    accepted = services.order_accept(order_id=order.pk, clerk=holder)
    assert accepted.status == OrderStatus.ACCEPTED and accepted.claimed_by is None
