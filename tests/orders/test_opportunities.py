"""Opportunities through orders.services and orders.selectors: every action, every refusal, the overdue task."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from orders import selectors, services, tasks
from orders.models import CallbackAttempt, Flow, Intent, NumberStatus, Opportunity, Order, OrderStatus, PoolNumber
from servicedesk.fsm import TransitionRefused
from servicedesk.models import StaffNotice
from tests.factories import (
    CallbackAttemptFactory, CustomerFactory, OpportunityFactory, PoolNumberFactory, ProductCategoryFactory, ProductFactory,
    ServiceAreaFactory, SubscriptionFactory, TeamFactory,
)

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def outbound(make_user):
    return make_user("outbound")


def deferred_sim():
    """A SIM the customer hesitated over: converting it needs a number and a delivery."""
    return ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED))


def closed(status: str) -> Opportunity:
    opportunity = OpportunityFactory(status=status, closed_at=timezone.now())
    if status == Opportunity.Status.LOST:
        Opportunity.objects.filter(pk=opportunity.pk).update(lost_reason="bought elsewhere")
    return opportunity


# --- create ---------------------------------------------------------------------

def test_create_records_the_hesitant_customer(agent):
    # given a customer hesitating over a broadband upgrade
    customer, product = CustomerFactory(), ProductFactory(deferred=True)
    callback_at = timezone.now() + timedelta(days=1)

    # when the agent records the opportunity
    opportunity = services.opportunity_create(
        agent=agent, customer=customer, product=product, callback_at=callback_at, intent=Intent.HIGH, notes="  wants to ask spouse  ",
    )

    # then it is open, with what was agreed, nobody assigned yet
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.intent, opportunity.callback_at) == (Opportunity.Status.OPEN, Intent.HIGH, callback_at)
    assert opportunity.notes == "wants to ask spouse"
    assert opportunity.created_by == agent and opportunity.assigned_to is None


@pytest.mark.parametrize(
    ("callback_at", "field"),
    [
        (None, "callback_at"),
        (timezone.now() - timedelta(hours=1), "callback_at"),
    ],
    ids=["missing", "in-the-past"],
)
def test_create_refuses_a_missing_or_past_callback_time(agent, callback_at, field):
    with pytest.raises(ValidationError) as caught:
        services.opportunity_create(agent=agent, customer=CustomerFactory(), product=ProductFactory(deferred=True), callback_at=callback_at)
    assert field in caught.value.message_dict
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"intent": "lukewarm"}, "intent"),
        ({"notes": "x" * 2001}, "notes"),
        ({"product_active": False}, "product"),
    ],
    ids=["unknown-intent", "notes-too-long", "product-off-sale"],
)
def test_create_refuses_bad_input(agent, change, field):
    product = ProductFactory(deferred=True, active=change.pop("product_active", True))
    with pytest.raises(ValidationError) as caught:
        services.opportunity_create(
            agent=agent, customer=CustomerFactory(), product=product, callback_at=timezone.now() + timedelta(hours=1), **change,
        )
    assert field in caught.value.message_dict
    assert not Opportunity.objects.exists()


def test_create_refuses_a_customer_outside_the_area_managers_areas(make_user):
    manager = make_user("area_manager")
    with pytest.raises(PermissionDenied):
        services.opportunity_create(
            agent=manager, customer=CustomerFactory(), product=ProductFactory(deferred=True), callback_at=timezone.now() + timedelta(hours=1),
        )


# --- attempts -------------------------------------------------------------------

@pytest.mark.parametrize("result", [CallbackAttempt.Result.REACHED, CallbackAttempt.Result.NO_ANSWER])
def test_attempt_without_a_new_time_keeps_the_callback_and_assigns_the_caller(outbound, result):
    opportunity = OpportunityFactory()
    agreed = opportunity.callback_at

    attempt = services.opportunity_record_attempt(opportunity_id=opportunity.pk, by=outbound, result=result, notes="line busy")

    opportunity.refresh_from_db()
    assert (attempt.result, attempt.by, attempt.notes) == (result, outbound, "line busy")
    assert opportunity.callback_at == agreed
    assert opportunity.assigned_to == outbound
    assert opportunity.status == Opportunity.Status.OPEN


def test_call_back_later_moves_the_callback_and_keeps_the_first_assignee(outbound, make_user):
    # given an opportunity already worked by one outbound agent
    first = outbound
    opportunity = OpportunityFactory(assigned_to=first)
    later = timezone.now() + timedelta(days=3)

    # when a colleague reaches the customer, who asks for a call in three days
    services.opportunity_record_attempt(
        opportunity_id=opportunity.pk, by=make_user("outbound"), result=CallbackAttempt.Result.CALL_BACK_LATER, next_callback_at=later,
    )

    # then the callback moves and the opportunity stays with its agent
    opportunity.refresh_from_db()
    assert opportunity.callback_at == later
    assert opportunity.assigned_to == first
    assert opportunity.attempts.count() == 1


@pytest.mark.parametrize(
    ("result", "next_callback_at"),
    [
        (CallbackAttempt.Result.CALL_BACK_LATER, None),
        (CallbackAttempt.Result.CALL_BACK_LATER, timezone.now() - timedelta(minutes=1)),
        (CallbackAttempt.Result.REACHED, timezone.now() - timedelta(days=1)),
    ],
    ids=["later-without-time", "later-in-the-past", "reached-with-past-time"],
)
def test_attempt_refuses_a_missing_or_past_new_time(outbound, result, next_callback_at):
    opportunity = OpportunityFactory()
    agreed = opportunity.callback_at

    with pytest.raises(ValidationError) as caught:
        services.opportunity_record_attempt(opportunity_id=opportunity.pk, by=outbound, result=result, next_callback_at=next_callback_at)

    assert "next_callback_at" in caught.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.callback_at == agreed and opportunity.assigned_to is None
    assert not CallbackAttempt.objects.exists()


def test_attempt_refuses_an_unknown_result(outbound):
    opportunity = OpportunityFactory()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_record_attempt(opportunity_id=opportunity.pk, by=outbound, result="hung_up")
    assert "result" in caught.value.message_dict
    assert not CallbackAttempt.objects.exists()


# --- convert --------------------------------------------------------------------

def test_convert_a_direct_product_orders_it_on_the_customers_line_and_provisions_it(outbound, django_capture_on_commit_callbacks):
    # given an opportunity for a tariff change on the customer's line
    subscription = SubscriptionFactory()
    product = ProductFactory(category=ProductCategoryFactory(flow=Flow.DEFERRED), tariff_plan=subscription.tariff_plan)
    opportunity = OpportunityFactory(customer=subscription.customer, product=product)

    # when the outbound agent converts it in one action
    with django_capture_on_commit_callbacks(execute=True):
        order = services.opportunity_convert(opportunity_id=opportunity.pk, by=outbound, service_number=subscription.service_number)

    # then it is a direct outbound order, provisioned, and the opportunity points at it
    order.refresh_from_db()
    assert (order.flow, order.channel, order.created_by) == (Flow.DIRECT, "outbound", outbound)
    assert order.service_number == subscription.service_number
    assert order.status == OrderStatus.COMPLETED
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.CONVERTED and opportunity.order == order and opportunity.closed_at


def test_convert_a_direct_product_needs_one_of_the_customers_lines(outbound):
    opportunity = OpportunityFactory()
    someone_elses = SubscriptionFactory()

    for number in ("", someone_elses.service_number):
        with pytest.raises(ValidationError) as caught:
            services.opportunity_convert(opportunity_id=opportunity.pk, by=outbound, service_number=number)
        assert "service_number" in caught.value.message_dict

    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.OPEN
    assert not Order.objects.exists()


def test_convert_a_sim_reserves_the_number_and_goes_to_the_back_office(outbound):
    # given a hesitant customer who now wants the SIM, and a free number
    opportunity = OpportunityFactory(product=deferred_sim())
    number = PoolNumberFactory(price=Decimal("88.00"))

    # when it is converted with the number, the address and a delivery date
    order = services.opportunity_convert(
        opportunity_id=opportunity.pk, by=outbound, pool_number=number.number, delivery_address="天津市和平区南京路1号",
        appointment_date=TOMORROW, appointment_slot="morning",
    )

    # then the number is held for this order, which waits for the back-office
    number.refresh_from_db()
    assert (number.status, number.order) == (NumberStatus.RESERVED, order)
    assert (order.flow, order.status, order.pool_number) == (Flow.BACK_OFFICE, OrderStatus.SUBMITTED, number)
    assert order.price == opportunity.product.price + Decimal("88.00")
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.CONVERTED


def test_convert_with_a_number_already_taken_writes_nothing(outbound):
    # given a number another order holds
    opportunity = OpportunityFactory(product=deferred_sim())
    taken = PoolNumberFactory()
    first = services.opportunity_convert(
        opportunity_id=OpportunityFactory(product=opportunity.product).pk, by=outbound, pool_number=taken.number,
        delivery_address="南京路1号", appointment_date=TOMORROW,
    )

    # when a second conversion asks for it
    with pytest.raises(ValidationError) as caught:
        services.opportunity_convert(
            opportunity_id=opportunity.pk, by=outbound, pool_number=taken.number, delivery_address="南京路2号", appointment_date=TOMORROW,
        )

    # then it is refused as a whole: no second order, the opportunity still open, the number still the first order's
    assert "pool_number" in caught.value.message_dict
    assert list(Order.objects.values_list("pk", flat=True)) == [first.pk]
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.OPEN
    assert PoolNumber.objects.get(pk=taken.pk).order == first


def test_convert_a_sim_needs_number_address_and_date(outbound):
    opportunity = OpportunityFactory(product=deferred_sim())
    with pytest.raises(ValidationError) as caught:
        services.opportunity_convert(opportunity_id=opportunity.pk, by=outbound)
    assert {"pool_number", "delivery_address", "appointment_date"} <= set(caught.value.message_dict)
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.OPEN


# --- lost, update, closed -----------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   "])
def test_close_lost_requires_a_reason(outbound, reason):
    opportunity = OpportunityFactory()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_close_lost(opportunity_id=opportunity.pk, by=outbound, reason=reason)
    assert "reason" in caught.value.message_dict
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.OPEN


def test_close_lost_keeps_the_reason(outbound):
    opportunity = OpportunityFactory()
    services.opportunity_close_lost(opportunity_id=opportunity.pk, by=outbound, reason=" signed with another operator ")
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.lost_reason) == (Opportunity.Status.LOST, "signed with another operator")
    assert opportunity.closed_at is not None


ACTIONS = {
    "attempt": lambda op, by: services.opportunity_record_attempt(opportunity_id=op.pk, by=by, result="reached"),
    "convert": lambda op, by: services.opportunity_convert(opportunity_id=op.pk, by=by, service_number=SubscriptionFactory(customer=op.customer).service_number),
    "lost": lambda op, by: services.opportunity_close_lost(opportunity_id=op.pk, by=by, reason="again"),
    "update": lambda op, by: services.opportunity_update(
        opportunity_id=op.pk, by=by, callback_at=timezone.now() + timedelta(days=1), intent=Intent.HIGH, notes="changed",
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", [Opportunity.Status.CONVERTED, Opportunity.Status.LOST])
def test_a_closed_opportunity_refuses_every_action(outbound, status, action):
    opportunity = closed(status)
    before = Opportunity.objects.filter(pk=opportunity.pk).values().get()

    with pytest.raises(TransitionRefused) as caught:
        ACTIONS[action](opportunity, outbound)

    assert caught.value.status_code == 409
    assert "already closed" in str(caught.value.detail)
    assert Opportunity.objects.filter(pk=opportunity.pk).values().get() == before
    assert not CallbackAttempt.objects.exists() and not Order.objects.exists()


def test_update_moves_the_callback_and_ends_the_overdue_spell(outbound):
    opportunity = OpportunityFactory(callback_at=timezone.now() - timedelta(hours=1), overdue=True, overdue_notified_at=timezone.now())
    later = timezone.now() + timedelta(days=2)

    services.opportunity_update(opportunity_id=opportunity.pk, by=outbound, callback_at=later, intent=Intent.LOW, notes="budget tight")

    opportunity.refresh_from_db()
    assert (opportunity.callback_at, opportunity.intent, opportunity.notes) == (later, Intent.LOW, "budget tight")
    assert opportunity.overdue is False and opportunity.overdue_notified_at is None


def test_update_refuses_moving_the_callback_into_the_past(outbound):
    opportunity = OpportunityFactory()
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(
            opportunity_id=opportunity.pk, by=outbound, callback_at=timezone.now() - timedelta(hours=2), intent=Intent.MEDIUM,
        )
    assert "callback_at" in caught.value.message_dict


def test_update_of_notes_on_an_overdue_callback_keeps_its_time_and_overdue_mark(outbound):
    # given an overdue callback whose stored time has seconds (the edit form works to the minute)
    due = (timezone.now() - timedelta(hours=1)).replace(second=42)
    opportunity = OpportunityFactory(callback_at=due, overdue=True)

    # when only the notes change, the time coming back truncated to the minute
    services.opportunity_update(
        opportunity_id=opportunity.pk, by=outbound, callback_at=due.replace(second=0, microsecond=0), intent=Intent.MEDIUM, notes="asked twice",
    )

    # then the agreement is untouched and it is still overdue
    opportunity.refresh_from_db()
    assert (opportunity.callback_at, opportunity.overdue, opportunity.notes) == (due, True, "asked twice")


# --- delete -----------------------------------------------------------------------

@pytest.mark.parametrize(("role", "allowed"), [("agent", False), ("area_manager", False), ("outbound", True), ("manager", True)])
def test_delete_only_by_roles_that_may(make_user, role, allowed):
    opportunity = OpportunityFactory()
    CallbackAttemptFactory(opportunity=opportunity)

    if allowed:
        services.opportunity_delete(opportunity_id=opportunity.pk, by=make_user(role))
    else:
        with pytest.raises(PermissionDenied):
            services.opportunity_delete(opportunity_id=opportunity.pk, by=make_user(role))

    assert Opportunity.objects.filter(pk=opportunity.pk).exists() is not allowed
    assert CallbackAttempt.objects.exists() is not allowed


def test_delete_of_an_unknown_opportunity_says_so(outbound):
    with pytest.raises(Opportunity.DoesNotExist):
        services.opportunity_delete(opportunity_id=999_999, by=outbound)


# --- the overdue task ---------------------------------------------------------------

@pytest.fixture
def outbound_team(make_user):
    """An outbound team with its lead (who works callbacks too) and two members."""
    team = TeamFactory()
    lead = make_user("outbound", team=team)
    team.lead = lead
    team.save()
    members = [make_user("outbound", team=team), make_user("outbound", team=team)]
    return team, lead, members


def test_overdue_task_marks_only_open_past_due_unmarked_callbacks(outbound_team):
    now = timezone.now()
    past_due = OpportunityFactory(callback_at=now - timedelta(minutes=10))
    upcoming = OpportunityFactory(callback_at=now + timedelta(minutes=10))
    already = OpportunityFactory(callback_at=now - timedelta(hours=3), overdue=True, overdue_notified_at=now - timedelta(hours=2))
    lost = OpportunityFactory(callback_at=now - timedelta(hours=1), status=Opportunity.Status.LOST)
    converted = OpportunityFactory(callback_at=now - timedelta(hours=1), status=Opportunity.Status.CONVERTED)

    marked = tasks.opportunities_mark_overdue.delay().get()

    assert marked == 1
    flags = dict(Opportunity.objects.values_list("pk", "overdue"))
    assert flags == {past_due.pk: True, upcoming.pk: False, already.pk: True, lost.pk: False, converted.pk: False}
    assert Opportunity.objects.get(pk=already.pk).overdue_notified_at < now - timedelta(hours=1)


def test_overdue_task_notices_the_outbound_team_lead_once_and_a_rerun_does_nothing(outbound_team):
    # given two callbacks past due
    team, lead, members = outbound_team
    for minutes in (5, 50):
        OpportunityFactory(callback_at=timezone.now() - timedelta(minutes=minutes))

    # when the task runs twice
    first = tasks.opportunities_mark_overdue.delay().get()
    second = tasks.opportunities_mark_overdue.delay().get()

    # then the lead got one notice for both, the members none, and the second run found nothing to do
    assert (first, second) == (2, 0)
    notice = StaffNotice.objects.get()
    assert notice.recipient == lead
    assert "2" in notice.text and notice.url == "/outbound/"
    assert not StaffNotice.objects.filter(recipient__in=members).exists()


def test_rescheduling_an_overdue_callback_clears_it_and_a_new_lapse_notices_again(outbound_team):
    # given a callback the task marked overdue
    team, lead, members = outbound_team
    opportunity = OpportunityFactory(callback_at=timezone.now() - timedelta(minutes=5))
    services.opportunities_mark_overdue()

    # when the customer is reached and asks to be called tomorrow
    services.opportunity_record_attempt(
        opportunity_id=opportunity.pk, by=members[0], result=CallbackAttempt.Result.CALL_BACK_LATER,
        next_callback_at=timezone.now() + timedelta(days=1),
    )

    # then it is no longer overdue, the task leaves it alone
    opportunity.refresh_from_db()
    assert opportunity.overdue is False and opportunity.overdue_notified_at is None
    assert services.opportunities_mark_overdue() == 0

    # and when that new time lapses too, it is marked and the lead is told again
    assert services.opportunities_mark_overdue(now=timezone.now() + timedelta(days=1, minutes=1)) == 1
    assert StaffNotice.objects.filter(recipient=lead).count() == 2


def test_overdue_notice_goes_to_the_outbound_staff_when_their_team_has_no_lead(make_user):
    members = [make_user("outbound", team=TeamFactory()), make_user("outbound")]
    OpportunityFactory(callback_at=timezone.now() - timedelta(minutes=5))

    services.opportunities_mark_overdue()

    assert set(StaffNotice.objects.values_list("recipient", flat=True)) == {m.pk for m in members}


# --- selectors ----------------------------------------------------------------------

def test_visibility_by_role(make_user):
    # given opportunities in two areas, one taken by a given agent
    area = ServiceAreaFactory()
    manager = make_user("area_manager")
    area.manager = manager
    area.save()
    taker = make_user("agent")
    in_area = OpportunityFactory(customer=CustomerFactory(area=area))
    taken = OpportunityFactory(created_by=taker)
    other = OpportunityFactory()

    def visible(user):
        return set(selectors.opportunities_visible_to(user).values_list("pk", flat=True))

    # then outbound and agents see all, an area manager their area, a role without the permission none
    assert visible(make_user("outbound")) == {in_area.pk, taken.pk, other.pk}
    assert visible(manager) == {in_area.pk}
    assert visible(taker) == visible(make_user("agent")) == {in_area.pk, taken.pk, other.pk}
    assert visible(make_user()) == set()


def test_callbacks_due_orders_by_time_and_filters(outbound, make_user):
    now = timezone.now()
    late = OpportunityFactory(callback_at=now - timedelta(hours=3), intent=Intent.HIGH)
    due = OpportunityFactory(callback_at=now - timedelta(minutes=1), assigned_to=outbound)
    upcoming = OpportunityFactory(callback_at=now + timedelta(hours=1), intent=Intent.HIGH)
    OpportunityFactory(callback_at=now - timedelta(hours=5), status=Opportunity.Status.LOST)
    colleagues = OpportunityFactory(callback_at=now, assigned_to=make_user("outbound"), product=upcoming.product)

    def ids(**filters):
        return [op.pk for op in selectors.callbacks_due(user=outbound, include_future=True, **filters) if op.pk in {late.pk, due.pk, upcoming.pk}]

    assert ids() == [late.pk, due.pk, upcoming.pk]
    assert [op.pk for op in selectors.callbacks_due(user=outbound) if op.pk != colleagues.pk] == [late.pk, due.pk]  # due only
    assert ids(intent=Intent.HIGH) == [late.pk, upcoming.pk]
    assert ids(assigned="me") == [due.pk]
    assert ids(assigned="none") == [late.pk, upcoming.pk]
    assert [op.pk for op in selectors.callbacks_due(user=outbound, include_future=True, product_id=upcoming.product_id)] == [colleagues.pk, upcoming.pk]


def test_search_by_name_prefix_number_status_intent_and_dates(outbound):
    today = timezone.localdate()
    zhao = OpportunityFactory(customer=CustomerFactory(name="赵大伟"), intent=Intent.HIGH, callback_at=timezone.now() + timedelta(days=1))
    SubscriptionFactory(customer=zhao.customer, service_number="13911112222")
    SubscriptionFactory(customer=zhao.customer, service_number="13911113333")
    qian = OpportunityFactory(customer=CustomerFactory(name="钱小红"), status=Opportunity.Status.LOST, callback_at=timezone.now() + timedelta(days=5))

    def ids(**filters):
        return [op.pk for op in selectors.opportunity_search(user=outbound, **filters)]

    assert ids(query="赵") == [zhao.pk]
    assert ids(query="139 1111 3333") == [zhao.pk]  # one row although the customer has two lines
    assert ids(query="+86 139-1111-2222") == [zhao.pk]
    assert ids(query="13900000000") == []
    assert ids(status=Opportunity.Status.LOST) == [qian.pk]
    assert ids(intent=Intent.HIGH) == [zhao.pk]
    assert ids(callback_from=today + timedelta(days=1), callback_to=today + timedelta(days=1)) == [zhao.pk]
    assert ids(callback_from=today + timedelta(days=2)) == [qian.pk]
    assert ids(callback_to=today) == []


def test_follow_up_list_is_the_open_high_intent_ones(outbound):
    wanted = OpportunityFactory(intent=Intent.HIGH)
    OpportunityFactory(intent=Intent.HIGH, status=Opportunity.Status.CONVERTED)
    OpportunityFactory(intent=Intent.MEDIUM)
    assert list(selectors.opportunities_follow_up(user=outbound)) == [wanted]


def test_service_numbers_are_whole_for_callers_and_masked_for_others(outbound, agent):
    opportunity = OpportunityFactory()
    SubscriptionFactory(customer=opportunity.customer, service_number="13812345678")
    assert selectors.opportunity_service_numbers(user=outbound, opportunity=opportunity) == ["13812345678"]
    assert selectors.opportunity_service_numbers(user=agent, opportunity=opportunity) == ["138****5678"]
