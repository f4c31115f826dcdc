"""Each KPI as DOMAIN.md section 5 defines it: its value, target and groupings, and its edge cases, each on a small world.

Edge cases: an empty period is "no data", refused deliveries count only in
delivery success, a contact counts on its start day in Asia/Shanghai, rows with
no team or area are under the empty group, and a period is a sum of days.
(A complaint reopened later and an order cancelled after its acceptance change
their first day's rollup: tests/kpi/test_incremental.py.)
"""
from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from complaints.models import Callback
from delivery.models import ShipmentStatus
from kpi.definitions import KPIS, Dimension, Kind, kpi
from kpi.facts import SOURCES, dimensions_of
from kpi.selectors import group_labels, kpi_summary, kpi_values
from orders.models import OrderStatus
from servicedesk.models import Channel, Subscription
from tests.factories import (
    CallbackFactory, ComplaintFactory, ContactFactory, CustomerFactory, OrderFactory, ShipmentFactory, SubscriptionFactory, TeamFactory,
    UserFactory,
)
from tests.kpi.generate import CENTRE_DAY, by_hand, load_facts, local, recompute_all, values

D = CENTRE_DAY


# --- The definitions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "target", "op"), [
    # The targets DOMAIN.md gives, with the side of them that is good.
    ("satisfaction", 80, ">="),
    ("fcr", 40, ">="),
    ("complaint_rate", 70, "<="),
    ("appeal_share", 10, "<"),
    ("repair_timeliness", 95, ">="),
    ("callback_coverage", 100, ">="),
])
def test_the_targets_are_those_of_domain_md(code, target, op):
    assert (KPIS[code].target, KPIS[code].op) == (Decimal(target), op)


def test_every_kpi_of_domain_md_is_defined_and_counted_by_its_source():
    # then each KPI of section 5 is there, named, with a numerator and a denominator its source counts
    assert set(KPIS) == {
        "satisfaction", "fcr", "complaint_timeliness", "complaint_rate", "appeal_share", "repair_timeliness", "acceptance_success",
        "acceptance_accuracy", "acceptance_timeliness", "delivery_timeliness", "delivery_success", "callback_coverage", "conversion",
        "channel_share", "contact_volume", "aht",
    }
    for definition in KPIS.values():
        assert definition.name and definition.numerator and definition.denominator
        assert definition.code in SOURCES[definition.source].kpis


@pytest.mark.parametrize(("code", "numerator", "denominator", "value"), [
    ("satisfaction", 1, 3, Decimal("33.33")),
    ("satisfaction", 2, 3, Decimal("66.67")),          # half up
    ("satisfaction", 1, 8, Decimal("12.50")),
    ("satisfaction", 1, 200, Decimal("0.50")),
    ("satisfaction", 0, 7, Decimal("0.00")),            # none satisfied is 0 %, not "no data"
    ("satisfaction", 7, 7, Decimal("100.00")),
    ("complaint_rate", 2, 4, Decimal("5000.00")),       # per 10,000
    ("complaint_rate", 7, 10_000, Decimal("7.00")),
    ("channel_share", 3, 4, Decimal("75.00")),
    ("aht", 1000, 3, Decimal("333.33")),                # seconds on average
    ("contact_volume", 12, 12, Decimal(12)),            # a count
])
def test_a_value_is_its_numerator_over_its_denominator(code, numerator, denominator, value):
    assert kpi(code).value(numerator, denominator) == value


@pytest.mark.parametrize("code", [code for code, definition in KPIS.items() if definition.kind != Kind.COUNT])
def test_an_empty_denominator_is_no_data_never_zero_or_a_hundred(code):
    assert kpi(code).value(0, 0) is None
    assert kpi(code).met(kpi(code).value(0, 0)) is None


def test_a_count_of_nothing_is_zero():
    assert kpi("contact_volume").value(0, 0) == Decimal(0)


@pytest.mark.parametrize(("code", "value", "met"), [
    ("satisfaction", "80.00", True), ("satisfaction", "79.99", False), ("satisfaction", "100", True),
    ("complaint_rate", "70.00", True), ("complaint_rate", "70.01", False), ("complaint_rate", "0", True),
    ("appeal_share", "9.99", True), ("appeal_share", "10.00", False),
    ("aht", "300", True), ("aht", "300.01", False),
    ("channel_share", "50", None),                       # no target
])
def test_a_value_meets_its_target_on_the_right_side(code, value, met):
    assert kpi(code).met(Decimal(value)) is met


def test_a_target_can_be_changed_in_settings(settings):
    # given the centre's own satisfaction target
    settings.KPI_TARGETS = {"satisfaction": 90}

    # then it is the one values are held against
    assert kpi("satisfaction").target_value == Decimal(90)
    assert kpi("satisfaction").met(Decimal(85)) is False


@pytest.mark.parametrize(("code", "dimensions"), [
    ("satisfaction", {"all", "agent", "team", "area", "channel", "department", "vip_tier"}),
    ("repair_timeliness", {"all", "agent", "team", "area", "channel", "department", "vip_tier"}),
    ("acceptance_success", {"all", "agent", "team", "area", "product", "channel", "vip_tier"}),
    ("delivery_success", {"all", "agent", "team", "area", "product", "channel", "carrier", "vip_tier"}),
    ("conversion", {"all", "agent", "team", "area", "product", "vip_tier"}),
    ("contact_volume", {"all", "agent", "team", "area", "channel", "vip_tier"}),
    # Complaints per subscriber: only by what a subscription has, its customer's area and tier.
    ("complaint_rate", {"all", "area", "vip_tier"}),
])
def test_each_kpi_is_grouped_by_what_its_rows_have(code, dimensions):
    assert set(dimensions_of(code)) == dimensions


def test_every_grouping_of_the_issue_is_offered_by_some_kpi():
    offered = {dimension for code in KPIS for dimension in dimensions_of(code)}
    assert offered == set(Dimension.values)


def test_the_kinds_are_what_the_units_say():
    assert kpi("complaint_rate").kind == Kind.PER_10K
    assert kpi("aht").kind == Kind.AVERAGE
    assert kpi("contact_volume").kind == Kind.COUNT
    assert kpi("channel_share").kind == Kind.SHARE


# --- Edge cases, each on a small world --------------------------------------------------------------

def test_without_subscribers_the_complaint_rate_is_no_data_too(db):
    # given a complaint and no subscription at all
    ComplaintFactory(received_at=local(D, 10))
    recompute_all(D)

    # then its rate has no denominator: no data, not infinity or 0
    (rate,) = [v for v in kpi_summary(D, D) if v.kpi.code == "complaint_rate"]
    assert (rate.numerator, rate.denominator, rate.value) == (1, 0, None)


def test_refused_deliveries_count_in_delivery_success_only_and_cancelled_ones_in_neither(db):
    # given on day D: one shipment delivered the day after its order, one refused at the door (returned), one cancelled
    order_at = local(D - timedelta(days=1), 10)
    ShipmentFactory(order__submitted_at=order_at, status=ShipmentStatus.DELIVERED, delivered_at=local(D, 11), closed_at=local(D, 11))
    ShipmentFactory(order__submitted_at=order_at, status=ShipmentStatus.RETURNED, closed_at=local(D, 12), failure_reason="Refused")
    ShipmentFactory(order__submitted_at=order_at, status=ShipmentStatus.CANCELLED, closed_at=local(D, 13))

    # when the day is rolled up
    recompute_all(D)

    # then success is 1 of the 2 closed, and timeliness 1 of the 1 delivered: the refusal is not a late delivery
    assert values("delivery_success", D) == {"": (1, 2)}
    assert values("delivery_timeliness", D) == {"": (1, 1)}
    assert by_hand(load_facts(), "delivery_success", D, D) == {"": (1, 2)}


@pytest.mark.parametrize(("started", "day", "utc_day"), [
    (local(D, 23, 59), D, D),                                   # 15:59 UTC
    (local(D, 23, 59, 59), D, D),                               # 15:59:59 UTC
    (local(D + timedelta(days=1), 0, 0), D + timedelta(days=1), D),   # 16:00 UTC the day before
    (local(D + timedelta(days=1), 0, 1), D + timedelta(days=1), D),   # 16:01 UTC the day before
    (local(D, 7, 59), D, D - timedelta(days=1)),                # 23:59 UTC the day before
    (local(D, 8, 0), D, D),                                     # 00:00 UTC
])
def test_a_contact_counts_on_the_day_it_started_in_asia_shanghai(db, started, day, utc_day):
    # given a contact started then and finished five minutes later (across midnight for the late ones)
    ContactFactory(started_at=started, ended_at=started + timedelta(minutes=5))
    assert started.astimezone(UTC).date() == utc_day

    # when the days around it are rolled up
    recompute_all(day - timedelta(days=1), day + timedelta(days=1))

    # then it is counted on its local start day, with its whole handling time, and on no other day
    assert values("contact_volume", day) == {"": (1, 1)}
    assert values("aht", day) == {"": (300, 1)}
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        assert values("contact_volume", other) == {}


def test_handling_time_is_counted_in_whole_seconds_per_contact(db):
    # given two finished contacts of 90.4 s and 120.6 s, and one still going
    started = local(D, 10)
    ContactFactory(started_at=started, ended_at=started + timedelta(seconds=90, microseconds=400_000))
    ContactFactory(started_at=started, ended_at=started + timedelta(seconds=120, microseconds=600_000))
    ContactFactory(started_at=started, ended_at=None)
    recompute_all(D)

    # then each is rounded to the second (90 and 121), and the one going on counts as a contact, not in the average
    assert values("aht", D) == {"": (211, 2)}
    assert kpi_values(["aht"], D, D)["aht"][""].value == Decimal("105.50")
    assert values("contact_volume", D) == {"": (3, 3)}


def test_a_complaint_resolved_a_second_before_midnight_counts_on_that_day(db):
    # given a complaint first resolved at 23:59:59 local on D (15:59:59 UTC)
    ComplaintFactory(received_at=local(D, 9), first_resolved_at=local(D, 23, 59, 59), resolved_at=local(D, 23, 59, 59), status="callback")

    # when D and the day after are rolled up
    recompute_all(D, D + timedelta(days=1))

    # then it is on D
    assert values("fcr", D) == {"": (1, 1)}
    assert values("fcr", D + timedelta(days=1)) == {}


def test_agents_without_a_team_and_customers_without_an_area_are_under_the_empty_group(db):
    # given a team agent's contact, a contact of an agent without a team for a customer without an area,
    # and one with neither agent nor customer
    team = TeamFactory()
    in_team, loner = UserFactory(team=team), UserFactory(team=None)
    placed = CustomerFactory()
    nowhere = CustomerFactory(area=None)
    ContactFactory(agent=in_team, customer=placed, started_at=local(D, 9))
    ContactFactory(agent=loner, customer=nowhere, started_at=local(D, 10))
    ContactFactory(agent=None, customer=None, started_at=local(D, 11))
    ComplaintFactory(first_ask_owner=loner, customer=nowhere, received_at=local(D, 12))

    # when the day is rolled up
    recompute_all(D)

    # then the team-less and area-less rows are counted under "", beside the named groups
    assert values("contact_volume", D, dimension=Dimension.TEAM) == {str(team.pk): (1, 1), "": (2, 2)}
    assert values("contact_volume", D, dimension=Dimension.AREA) == {str(placed.area_id): (1, 1), "": (2, 2)}
    assert values("contact_volume", D, dimension=Dimension.AGENT) == {str(in_team.pk): (1, 1), str(loner.pk): (1, 1), "": (1, 1)}
    assert values("appeal_share", D, dimension=Dimension.TEAM) == {"": (0, 1)}
    assert values("appeal_share", D, dimension=Dimension.AREA) == {"": (0, 1)}
    # and the empty group has no label to look up (the page names it)
    assert group_labels(Dimension.TEAM, [str(team.pk), ""]) == {str(team.pk): team.name}


def test_a_period_is_the_sum_of_its_days_not_the_mean_of_their_ratios(db):
    # given one satisfied callback of one on day 1, and one satisfied of three on day 2
    complaint = ComplaintFactory()
    day1, day2 = D, D + timedelta(days=1)
    for day, scores in [(day1, [5]), (day2, [4, 2, 1])]:
        for score in scores:
            CallbackFactory(complaint=complaint, status=Callback.Status.COMPLETED, satisfaction=score, completed_at=local(day, 15))
    recompute_all(day1, day2)

    # when the two days are read as one period
    (value,) = kpi_values(["satisfaction"], day1, day2)["satisfaction"].values()

    # then it is (1 + 1) / (1 + 3) = 50 %, not the mean of 100 % and 33.33 %
    assert kpi_values(["satisfaction"], day1, day1)["satisfaction"][""].value == Decimal("100.00")
    assert kpi_values(["satisfaction"], day2, day2)["satisfaction"][""].value == Decimal("33.33")
    assert (value.numerator, value.denominator, value.value) == (2, 4, Decimal("50.00"))


def test_the_complaint_rate_divides_by_the_subscribers_of_the_last_day_not_a_sum_over_days(db):
    # given two complaints over three days; four subscriptions active by the last day (one activated on it),
    # one closed, and one activated only the day after
    first, last = D, D + timedelta(days=2)
    customer = CustomerFactory()
    for activated in [D - timedelta(days=100), D - timedelta(days=1), D + timedelta(days=1), last]:
        SubscriptionFactory(customer=customer, activated_on=activated)
    SubscriptionFactory(customer=customer, activated_on=D - timedelta(days=5), status=Subscription.Status.CLOSED)
    SubscriptionFactory(customer=customer, activated_on=last + timedelta(days=1))
    ComplaintFactory(customer=customer, received_at=local(D, 9))
    ComplaintFactory(customer=customer, received_at=local(last, 22))
    recompute_all(first, last + timedelta(days=1))

    # when the rate is read for the three days
    rate = kpi_values(["complaint_rate"], first, last)["complaint_rate"][""]

    # then it is 2 complaints per 4 subscribers: 5,000 per 10,000
    assert (rate.numerator, rate.denominator, rate.value) == (2, 4, Decimal("5000.00"))
    assert values("complaint_rate", first, last, Dimension.AREA) == {str(customer.area_id): (2, 4)}
    # and on the first day alone the stock was two
    assert values("complaint_rate", first) == {"": (1, 2)}


def test_a_channel_share_is_out_of_all_orders_of_the_period(db):
    # given three hotline orders and one web-hall order on D, and one hotline order the day after
    for channel in [Channel.HOTLINE, Channel.HOTLINE, Channel.HOTLINE, Channel.WEB_HALL]:
        OrderFactory(channel=channel, submitted_at=local(D, 10))
    OrderFactory(channel=Channel.HOTLINE, submitted_at=local(D + timedelta(days=1), 10))
    recompute_all(D, D + timedelta(days=1))

    # when the share is read by channel for D
    shares = kpi_values(["channel_share"], D, D, dimension=Dimension.CHANNEL)["channel_share"]

    # then each channel's orders are out of all four
    assert {k: v.value for k, v in shares.items()} == {Channel.HOTLINE: Decimal("75.00"), Channel.WEB_HALL: Decimal("25.00")}
    assert kpi_values(["channel_share"], D, D)["channel_share"][""].value == Decimal("100.00")
    # and over both days hotline has four of five
    assert values("channel_share", D, D + timedelta(days=1), Dimension.CHANNEL) == {Channel.HOTLINE: (4, 5), Channel.WEB_HALL: (1, 5)}


def test_an_order_accepted_and_later_cancelled_is_a_success_but_not_accurate(db):
    # given on D: an order accepted in time, one accepted and cancelled two days later, one rejected
    OrderFactory(status=OrderStatus.ACCEPTED, submitted_at=local(D, 8), accepted_at=local(D, 9), decided_at=local(D, 9))
    OrderFactory(status=OrderStatus.CANCELLED, submitted_at=local(D, 8), accepted_at=local(D, 10), decided_at=local(D, 10),
                 closed_at=local(D + timedelta(days=2), 10))
    OrderFactory(status=OrderStatus.REJECTED, submitted_at=local(D, 8), decided_at=local(D, 11), closed_at=local(D, 11))
    recompute_all(D, D + timedelta(days=2))

    # then on its decision day: 2 of 3 succeeded, 1 of the 2 accepted stayed, both in time; nothing on the cancellation day
    assert values("acceptance_success", D) == {"": (2, 3)}
    assert values("acceptance_accuracy", D) == {"": (1, 2)}
    assert values("acceptance_timeliness", D) == {"": (2, 2)}
    assert values("acceptance_accuracy", D + timedelta(days=2)) == {}


def test_a_shipment_refers_to_its_order_for_the_three_days(db):
    # given two shipments delivered on D: one exactly 3 days after its order, one a second later
    for late in (0, 1):
        order = OrderFactory(submitted_at=local(D - timedelta(days=3), 10), status=OrderStatus.COMPLETED)
        at = local(D, 10, 0, late)
        ShipmentFactory(order=order, status=ShipmentStatus.DELIVERED, delivered_at=at, closed_at=at)
    recompute_all(D)

    # then only the first is in time
    assert values("delivery_timeliness", D) == {"": (1, 2)}
