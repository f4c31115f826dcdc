"""On generated data, the rollups agree exactly with DOMAIN.md's definitions counted by hand:
every KPI, every grouping it has, periods of one day, a few days, the whole range and none.

The world is generated once for the module (tests/kpi/generate.py, rolled back
after it); ``by_hand`` counts it in plain Python from the model instances. The
edge cases of each definition are in test_definitions.py, each on a small world
of its own.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from complaints.models import Callback, Complaint, WorkOrder
from delivery.models import ShipmentStatus
from kpi.definitions import KPIS
from kpi.facts import dimensions_of
from kpi.models import Rollup
from kpi.selectors import direct_values, kpi_summary, kpi_trend, kpi_values
from orders.models import Opportunity, Order, OrderStatus
from servicedesk.models import Contact, Subscription
from tests.kpi.generate import (
    CENTRE_DAY, EMPTY_FIRST, EMPTY_LAST, FIRST_DAY, ROLLUP_FIRST, ROLLUP_LAST, SEED, anchored_days, by_hand, generate, values,
)

pytestmark = pytest.mark.django_db

PERIODS = {
    "one day": (CENTRE_DAY, CENTRE_DAY),
    "the first day": (FIRST_DAY, FIRST_DAY),
    "a few days": (CENTRE_DAY - timedelta(days=2), CENTRE_DAY + timedelta(days=1)),
    "the whole range": (ROLLUP_FIRST, ROLLUP_LAST),
    "an empty period": (EMPTY_FIRST, EMPTY_LAST),
}


def _days(first, last):
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- The generated world ------------------------------------------------------------------------

def test_the_generated_world_holds_every_case_the_kpis_distinguish(shared_rolled_up):
    # given the seeded world
    world = shared_rolled_up
    facts = world.facts
    complaints, orders, shipments = facts.complaints, facts.orders, facts.shipments

    # then each case a KPI tells apart is in it, so that agreeing on it means something
    assert any(c.reopen_count and c.first_resolved_at and c.resolved_at > c.first_resolved_at for c in complaints)
    assert any(c.transfer_count and c.first_resolved_at for c in complaints)
    assert any(c.first_resolved_at and c.first_resolved_at > c.due_at for c in complaints)
    assert any(c.first_resolved_at == c.due_at for c in complaints)
    assert any(c.appeal for c in complaints) and not all(c.appeal for c in complaints)
    assert any(c.closed_at and not c.callbacks.filter(status=Callback.Status.COMPLETED).exists() for c in complaints)
    assert {c.satisfaction for c in facts.callbacks if c.kind == Callback.Kind.SATISFACTION and c.satisfaction} == {1, 2, 3, 4, 5}
    assert any(c.kind == Callback.Kind.REPAIR and c.satisfaction for c in facts.callbacks)
    assert any(c.department_id is None for c in complaints)
    repairs = [w for w in facts.work_orders if w.kind == WorkOrder.Kind.REPAIR]
    assert {w.status for w in repairs} == {WorkOrder.Status.DONE, WorkOrder.Status.OPEN}
    assert any(w.done_at and w.done_at > w.due_at for w in repairs) and any(w.done_at == w.due_at for w in repairs)
    assert {OrderStatus.REJECTED, OrderStatus.FAILED, OrderStatus.COMPLETED, OrderStatus.SUBMITTED} <= {o.status for o in orders}
    assert any(o.accepted_at and o.status == OrderStatus.CANCELLED for o in orders)
    assert any(o.status == OrderStatus.CANCELLED and o.decided_at is None for o in orders)
    assert any(o.accepted_at and o.accepted_at > o.accept_by for o in orders) and any(o.accepted_at == o.accept_by for o in orders)
    assert any(o.created_by_id is None for o in orders)
    ended = {ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.CANCELLED}
    assert {s.status for s in shipments} >= {*ended, ShipmentStatus.HANDED_TO_CARRIER}
    delivered = [s for s in shipments if s.status == ShipmentStatus.DELIVERED]
    assert any(s.delivered_at > s.order.submitted_at + timedelta(days=3) for s in delivered)
    assert any(s.delivered_at == s.order.submitted_at + timedelta(days=3) for s in delivered)
    assert any(s.carrier_id is None for s in shipments)
    assert {o.status for o in facts.opportunities} == set(Opportunity.Status.values)
    assert any(o.assigned_to_id is None for o in facts.opportunities)
    contacts = facts.contacts
    assert any(c.ended_at is None for c in contacts)
    assert any(c.agent_id is None for c in contacts) and any(c.customer_id is None for c in contacts)
    assert any(c.ended_at and timezone.localdate(c.ended_at) > timezone.localdate(c.started_at) for c in contacts)
    assert any(a.team_id is None for a in world.agents) and any(c.area_id is None for c in world.customers)
    subscriptions = facts.subscriptions
    assert {s.status for s in subscriptions} == set(Subscription.Status.values)
    assert any(s.activated_on is None for s in subscriptions) and any(s.activated_on and s.activated_on > FIRST_DAY for s in subscriptions)
    # and every anchor is on the rolled-up days, none on the empty period
    days = anchored_days(facts)
    assert min(days) >= ROLLUP_FIRST and max(days) < EMPTY_FIRST


def test_the_same_seed_generates_the_same_world(shared_rolled_up):
    # given the world generated once
    first = _fingerprint(after=(0, 0, 0))
    marks = _last_ids()

    # when it is generated again
    generate(SEED)

    # then its facts have the same times and fates
    assert _fingerprint(after=marks) == first


def _last_ids():
    return tuple(model.objects.order_by("-pk").values_list("pk", flat=True)[0] for model in (Contact, Order, Complaint))


def _fingerprint(*, after):
    contacts, orders, complaints = after
    return (
        sorted((c.started_at, c.ended_at, c.channel) for c in Contact.objects.filter(pk__gt=contacts)),
        sorted((o.submitted_at, o.status, o.decided_at, o.accepted_at) for o in Order.objects.filter(pk__gt=orders)),
        sorted((c.received_at, c.status, c.first_resolved_at, c.reopen_count, c.transfer_count, c.appeal)
               for c in Complaint.objects.filter(pk__gt=complaints)),
    )


@pytest.mark.parametrize("code", list(KPIS))
def test_every_rollup_equals_the_count_by_hand_for_every_grouping_and_period(shared_rolled_up, code):
    # given the world's rollups over all its days
    facts = shared_rolled_up.facts
    mismatches = []
    # when the KPI is read for each grouping it has and each period
    for dimension in dimensions_of(code):
        for period, (first, last) in PERIODS.items():
            got, expected = values(code, first, last, dimension), by_hand(facts, code, first, last, dimension)
            if got != expected:
                mismatches.append((dimension, period, {"rollups": got, "by hand": expected}))

    # then every number is the one counted by hand from the rows
    assert mismatches == []
    # and that was not a comparison of nothings
    numerator, denominator = by_hand(facts, code, *PERIODS["the whole range"])[""]
    assert denominator > 0 and numerator > 0


@pytest.mark.parametrize("code", list(KPIS))
def test_the_direct_computation_agrees_with_the_rollups(shared_rolled_up, code):
    # given the world's rollups
    mismatches = []
    for dimension in dimensions_of(code):
        for period, (first, last) in PERIODS.items():
            # when the ops check recomputes the counts straight from the rows
            direct = direct_values(code, first, last, dimension=dimension)
            stored = {
                row["key"]: (row["n"], row["d"])
                for row in Rollup.objects.filter(kpi=code, dimension=dimension, day__gte=first, day__lte=last)
                .values("key").annotate(n=Sum("numerator"), d=Sum("denominator")).order_by()
            }
            if direct != stored:
                mismatches.append((dimension, period, {"direct": direct, "rollups": stored}))

    # then the two agree everywhere
    assert mismatches == []


@pytest.mark.parametrize("code", list(KPIS))
def test_the_trend_is_the_count_by_hand_of_each_day(shared_rolled_up, code):
    # given the world's rollups
    facts = shared_rolled_up.facts
    mismatches = []
    for dimension in dimensions_of(code):
        daily = {day: by_hand(facts, code, day, day, dimension) for day in _days(ROLLUP_FIRST, ROLLUP_LAST)}
        for key in by_hand(facts, code, ROLLUP_FIRST, ROLLUP_LAST, dimension):
            # when the KPI's trend is drawn for the group
            drawn = kpi_trend(code, ROLLUP_FIRST, ROLLUP_LAST, dimension=dimension, key=key)
            trend = {day: (v.numerator, v.denominator) for day, v in drawn}
            # then each day with data is that day counted by hand (the complaint rate: each day with subscribers)
            expected = {
                day: counts[key] for day, counts in daily.items()
                if key in counts and (code != "complaint_rate" or counts[key][1])
            }
            if trend != expected:
                mismatches.append((dimension, key, {"trend": trend, "by hand": expected}))
    assert mismatches == []


def test_the_summary_shows_every_kpi_valued_from_its_counts(shared_rolled_up):
    # when the whole centre's summary is read for a few days
    first, last = PERIODS["a few days"]
    summary = kpi_summary(first, last)

    # then it lists every KPI in definition order, each valued from the counts by hand
    assert [v.kpi.code for v in summary] == list(KPIS)
    for value in summary:
        numerator, denominator = by_hand(shared_rolled_up.facts, value.kpi.code, first, last).get("", (0, 0))
        assert (value.numerator, value.denominator, value.value) == (numerator, denominator, value.kpi.value(numerator, denominator))


def test_an_empty_period_is_no_data_never_zero_or_a_hundred(shared_rolled_up):
    # when the KPIs are read for days without any fact
    summary = {v.kpi.code: v.value for v in kpi_summary(EMPTY_FIRST, EMPTY_LAST)}

    # then every ratio is "no data"; the complaint rate is 0, since there are subscribers and no complaint,
    # and the count of contacts is 0
    assert (summary.pop("complaint_rate"), summary.pop("contact_volume")) == (Decimal("0.00"), Decimal(0))
    assert summary == {code: None for code in KPIS if code not in ("complaint_rate", "contact_volume")}
    # and no group has a value either, but for the complaint rate's subscribers
    for code in KPIS:
        for dimension in dimensions_of(code):
            found = {key: v.value for key, v in kpi_values([code], EMPTY_FIRST, EMPTY_LAST, dimension=dimension)[code].items()}
            if code == "complaint_rate":
                assert found and set(found.values()) == {Decimal("0.00")}
            else:
                assert found == {}
