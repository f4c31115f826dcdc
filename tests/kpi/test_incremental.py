"""The incremental update beat runs (kpi.rollups.rollups_update): today and yesterday, and every
older day a logged change touched; and recomputations at the same moment on PostgreSQL."""
from datetime import date, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintTransition
from complaints.services import callbacks as callback_services
from complaints.services import intake, work
from delivery.services import shipments as shipment_services
from kpi import rollups
from kpi.definitions import ACTIVE_SUBSCRIPTIONS, Dimension
from kpi.facts import SOURCES, dimensions_of
from kpi.models import Rollup, RollupSource
from kpi.selectors import direct_values
from orders import services as order_services
from orders.models import Order, OrderTransition
from tests.concurrency import run_concurrently
from tests.factories import (
    ComplaintCategoryFactory, ComplaintFactory, ContactFactory, CustomerFactory, DepartmentFactory, ProductFactory,
    SubscriptionFactory, UserFactory,
)
from tests.kpi.generate import (
    CENTRE_DAY, LAST_DAY, ROLLUP_FIRST, ROLLUP_LAST, SEED, active_subscriptions, by_hand, generate, load_facts, local, recompute_all,
    rollup_rows, values,
)

TODAY = date(2025, 3, 20)
YESTERDAY = TODAY - timedelta(days=1)
# 07:00 in Asia/Shanghai is 23:00 UTC the day before: "today" must be the local day.
NOW = local(TODAY, 7)


def _ids(day: date, kpi: str) -> set[int]:
    return set(Rollup.objects.filter(day=day, kpi=kpi).values_list("pk", flat=True))


def _resolved_complaint(day: date, **fields) -> Complaint:
    resolved = local(day, 15)
    return ComplaintFactory(received_at=local(day, 9), first_resolved_at=resolved, resolved_at=resolved, status="callback", **fields)


def _log_reopen(complaint: Complaint, at) -> None:
    """What complaints.services does on a reopen: the counter moves and the step is logged."""
    Complaint.objects.filter(pk=complaint.pk).update(reopen_count=F("reopen_count") + 1, status="in_progress", resolved_at=None)
    ComplaintTransition.objects.create(complaint=complaint, from_state="callback", to_state="in_progress", transition="reopen", at=at)


@pytest.mark.django_db
def test_the_update_recomputes_today_and_yesterday_in_asia_shanghai(db):
    # given contacts the day before yesterday, yesterday and today (local days), and no rollups yet
    for day in (TODAY - timedelta(days=2), YESTERDAY, TODAY):
        ContactFactory(started_at=local(day, 6, 30))

    # when beat runs the update at 07:00 local (23:00 UTC the day before)
    done = rollups.rollups_update(now=NOW)

    # then every source did yesterday and today, and only those
    assert done == {code: [(YESTERDAY, TODAY)] for code in rollups.ALL_SOURCES}
    assert set(Rollup.objects.filter(kpi="contact_volume").values_list("day", flat=True)) == {YESTERDAY, TODAY}
    assert values("contact_volume", YESTERDAY, TODAY) == {"": (2, 2)}
    # and each source remembers how far it has looked at the change logs
    assert set(RollupSource.objects.values_list("code", "watermark")) == {(code, NOW) for code in rollups.ALL_SOURCES}


@pytest.mark.django_db
def test_a_second_update_without_changes_leaves_the_rows_identical(rolled_up):
    # given the world's rollups, and beat's update run once on its last day
    now = local(LAST_DAY, 18)
    before = rollup_rows()
    rollups.rollups_update(now=now)
    after_first = rollup_rows()

    # when it runs again a few minutes later with nothing changed
    rollups.rollups_update(now=now + timedelta(minutes=5))

    # then the rows are the same, and the same as the full recomputation
    assert rollup_rows() == after_first == before
    assert values("fcr", LAST_DAY - timedelta(days=1), LAST_DAY) == by_hand(load_facts(), "fcr", LAST_DAY - timedelta(days=1), LAST_DAY)


@pytest.mark.django_db
def test_old_days_are_untouched_unless_a_logged_change_touches_them(db):
    # given two complaints first resolved on old days, rolled up, and beat's update run once
    quiet_day, changed_day = TODAY - timedelta(days=10), TODAY - timedelta(days=8)
    quiet, changed = _resolved_complaint(quiet_day), _resolved_complaint(changed_day)
    recompute_all(quiet_day, TODAY)
    rollups.rollups_update(now=NOW)
    quiet_rows = _ids(quiet_day, "fcr")

    # when one is reopened through the log and the other is changed behind the log's back
    Complaint.objects.filter(pk=quiet.pk).update(transfer_count=1)
    _log_reopen(changed, at=NOW + timedelta(minutes=1))
    done = rollups.rollups_update(now=NOW + timedelta(minutes=5))

    # then the logged change recomputed its first-resolution (and receipt) day: no longer a first-contact resolution
    assert (changed_day, changed_day) in done["complaints_resolved"]
    assert (changed_day, changed_day) in done["complaints_received"]
    assert values("fcr", changed_day) == {"": (0, 1)}
    # and the old day nobody logged a change on was not rewritten (a rebuild corrects it)
    assert (quiet_day, quiet_day) not in done["complaints_resolved"]
    assert _ids(quiet_day, "fcr") == quiet_rows
    assert values("fcr", quiet_day) == {"": (1, 1)}
    # and sources without a log (contacts) did only yesterday and today
    assert done["contacts"] == [(YESTERDAY, TODAY)]


@pytest.mark.django_db
@pytest.mark.parametrize(("days_ago", "recomputed"), [
    (3, True),
    (rollups.LATE_CHANGE_DAYS, True),
    (rollups.LATE_CHANGE_DAYS + 1, False),
])
def test_a_late_change_older_than_late_change_days_is_left_to_a_rebuild(days_ago, recomputed):
    # given a complaint first resolved that many days ago, rolled up, and beat's update run once
    day = TODAY - timedelta(days=days_ago)
    complaint = _resolved_complaint(day)
    recompute_all(day)
    rollups.rollups_update(now=NOW)

    # when it is reopened now
    _log_reopen(complaint, at=NOW + timedelta(minutes=1))
    done = rollups.rollups_update(now=NOW + timedelta(minutes=5))

    # then its day is recomputed only if it is within LATE_CHANGE_DAYS of today
    assert ((day, day) in done["complaints_resolved"]) is recomputed
    assert values("fcr", day) == ({"": (0, 1)} if recomputed else {"": (1, 1)})


def _backdate(model, pk, days: int, *fields):
    """Move a row's moments (and its log) ``days`` back, as if the services had run then."""
    shift = timedelta(days=days)
    model.objects.filter(pk=pk).update(**{name: F(name) - shift for name in fields})
    log, fk = {Complaint: (ComplaintTransition, "complaint_id"), Order: (OrderTransition, "order_id")}[model]
    log.objects.filter(**{fk: pk}).update(at=F("at") - shift)


@pytest.mark.django_db
def test_a_complaint_reopened_days_after_its_first_resolution_changes_that_days_rollup(make_user):
    # given a complaint taken, worked and resolved (by the complaints services) three days ago
    agent = make_user("agent")
    category = ComplaintCategoryFactory()
    complaint = intake.complaint_take(
        agent=agent, customer=CustomerFactory(), category=category, severity="normal", description="No signal",
    )
    handler = UserFactory(roles=["complaint_handler"], department=category.department)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Reset the line")
    _backdate(Complaint, complaint.pk, 3, "received_at", "due_at", "first_resolved_at", "resolved_at")
    complaint.refresh_from_db()
    day = timezone.localdate(complaint.first_resolved_at)
    today = timezone.localdate()
    recompute_all(day, today)
    assert values("fcr", day) == {"": (1, 1)}
    rollups.rollups_update()

    # when the customer says at today's callback that it is not solved: reopened
    callback = Callback.objects.get(complaint=complaint, kind=Callback.Kind.SATISFACTION)
    callback_services.callback_record(callback_id=callback.pk, by=agent, reached=True, satisfaction=2, solved=False)
    done = rollups.rollups_update(now=timezone.now())

    # then the update found the day of its first resolution and it no longer counts as resolved first time
    assert (day, day) in done["complaints_resolved"]
    assert values("fcr", day) == {"": (0, 1)}
    assert values("fcr", day, dimension=Dimension.AGENT) == {str(agent.pk): (0, 1)}
    # and it is still counted on that day, not on the reopening's
    complaint.refresh_from_db()
    assert (timezone.localdate(complaint.first_resolved_at), complaint.reopen_count) == (day, 1)
    assert values("fcr", today) == {}


@pytest.mark.django_db
def test_an_order_accepted_then_cancelled_days_later_lowers_accuracy_on_its_decision_day(make_user):
    # given an order submitted and accepted (by the orders services) three days ago
    order = order_services.order_submit(agent=make_user("agent"), customer=CustomerFactory(), product=ProductFactory())
    order_services.order_accept(order_id=order.pk, clerk=make_user("back_office"))
    _backdate(Order, order.pk, 3, "submitted_at", "accept_by", "accepted_at", "decided_at")
    order.refresh_from_db()
    day = timezone.localdate(order.decided_at)
    recompute_all(day, timezone.localdate())
    assert values("acceptance_accuracy", day) == {"": (1, 1)}
    rollups.rollups_update()

    # when it is cancelled today
    order_services.order_cancel(order_id=order.pk, by=make_user("back_office"), reason="Customer withdrew")
    done = rollups.rollups_update(now=timezone.now())

    # then its decision day is recomputed: the acceptance was rolled back, but it was a success and in time
    assert (day, day) in done["orders_decided"]
    assert values("acceptance_accuracy", day) == {"": (0, 1)}
    assert values("acceptance_success", day) == {"": (1, 1)}
    assert values("acceptance_timeliness", day) == {"": (1, 1)}


@pytest.mark.django_db
def test_a_transfer_after_a_scored_callback_moves_that_days_satisfaction_to_the_new_department(make_user):
    # given a complaint resolved, scored 2 and reopened at its callback three days ago (by the complaints services)
    category = ComplaintCategoryFactory()
    complaint = intake.complaint_take(
        agent=make_user("agent"), customer=CustomerFactory(), category=category, severity="normal", description="No signal",
    )
    handler = UserFactory(roles=["complaint_handler"], department=category.department)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Reset the line")
    callback = Callback.objects.get(complaint=complaint, kind=Callback.Kind.SATISFACTION)
    callback_services.callback_record(callback_id=callback.pk, by=make_user("agent"), reached=True, satisfaction=2, solved=False)
    _backdate(Complaint, complaint.pk, 3, "received_at", "due_at", "first_resolved_at")
    Callback.objects.filter(pk=callback.pk).update(completed_at=F("completed_at") - timedelta(days=3))
    day = timezone.localdate(Complaint.objects.get(pk=complaint.pk).first_resolved_at)
    recompute_all(day, timezone.localdate())
    rollups.rollups_update()

    # when it is transferred today to another department
    other = DepartmentFactory()
    work.complaint_transfer(complaint_id=complaint.pk, department=other, by=handler, reason="A billing matter after all")
    rollups.rollups_update(now=timezone.now())

    # then every KPI of that day, by department, is what the rows say now: the new department's
    for kpi in ("fcr", "appeal_share", "satisfaction"):
        assert values(kpi, day, dimension=Dimension.DEPARTMENT) == direct_values(kpi, day, day, dimension=Dimension.DEPARTMENT), kpi
    assert values("satisfaction", day, dimension=Dimension.DEPARTMENT) == {str(other.pk): (0, 1)}


@pytest.mark.django_db
def test_a_delivery_a_carrier_reports_days_late_is_counted_on_the_day_it_happened(hall, make_user):
    # given a shipment handed to the carrier, and beat's update run
    clerk = make_user("delivery_clerk")
    shipment = shipment_services.shipment_create(order=hall.order(), by=clerk)
    shipment_services.shipment_pick(shipment_id=shipment.pk, by=clerk)
    shipment = shipment_services.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    rollups.rollups_update()

    # when the carrier reports today that it delivered it three days ago
    delivered_at = timezone.now() - timedelta(days=3)
    result = shipment_services.tracking_event_record(
        carrier=hall.carrier, event_id="EV-LATE", tracking_number=shipment.tracking_number, code="delivered", occurred_at=delivered_at,
        details={"signed_by": "张三", "id_checked": True, "amount_collected": str(shipment.amount_due), "payment_method": "cash"},
    )
    assert result.result == "applied"
    done = rollups.rollups_update(now=timezone.now())

    # then the next update counts it on the day it was delivered, as a rebuild would
    day = timezone.localdate(delivered_at)
    assert values("delivery_success", day) == {"": (1, 1)} == by_hand(load_facts(), "delivery_success", day, day)
    assert (day, day) in done["shipments_closed"]


# --- At the same moment, on PostgreSQL -----------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_recomputes_of_the_same_source_and_days_at_once_never_double_a_row():
    # given the world, and no rollup or source row yet
    generate(SEED)
    facts = load_facts()
    for code in ["complaints_resolved", "contacts", "shipments_closed", rollups.SNAPSHOT]:
        # when six workers recompute the same source over the same days at once
        written = run_concurrently(lambda n, code=code: rollups.recompute(code, ROLLUP_FIRST, ROLLUP_LAST), workers=6)

        # then each wrote the same rows in its turn, and they are there once
        assert len(set(written)) == 1 and written[0] > 0, code
        rows = Rollup.objects.filter(kpi__in=[ACTIVE_SUBSCRIPTIONS] if code == rollups.SNAPSHOT else list(SOURCES[code].kpis))
        assert rows.count() == written[0] == len(set(rows.values_list("kpi", "dimension", "day", "key"))), code
        assert RollupSource.objects.filter(code=code).count() == 1
        # and they are the counts by hand
        if code == rollups.SNAPSHOT:
            for day in (ROLLUP_FIRST, CENTRE_DAY, ROLLUP_LAST):
                stock = rows.filter(dimension=Dimension.AREA, day=day).values_list("key", "numerator")
                assert dict(stock) == active_subscriptions(facts, day, Dimension.AREA)
            continue
        for kpi in SOURCES[code].kpis:
            for dimension in dimensions_of(kpi):
                assert values(kpi, ROLLUP_FIRST, ROLLUP_LAST, dimension) == by_hand(facts, kpi, ROLLUP_FIRST, ROLLUP_LAST, dimension)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beat_updates_at_once_write_each_day_once():
    # given the world, its rollups, and a complaint reopened on its last day
    generate(SEED)
    recompute_all(ROLLUP_FIRST, ROLLUP_LAST)
    now = local(LAST_DAY, 18)
    rollups.rollups_update(now=now)
    reopened = Complaint.objects.filter(first_resolved_at__isnull=False, reopen_count=0).order_by("first_resolved_at").first()
    _log_reopen(reopened, at=now + timedelta(minutes=1))

    # when two overlapping beat runs update at the same moment
    run_concurrently(lambda n: rollups.rollups_update(now=now + timedelta(minutes=5)), workers=2)

    # then every day of every KPI is there once and equal to the count by hand
    facts = load_facts()
    rows = Rollup.objects.all()
    assert rows.count() == len(set(rows.values_list("kpi", "dimension", "day", "key")))
    day = timezone.localdate(reopened.first_resolved_at)
    for dimension in (Dimension.ALL, Dimension.AGENT, Dimension.TEAM):
        assert values("fcr", day, dimension=dimension) == by_hand(facts, "fcr", day, day, dimension)
    assert values("fcr", CENTRE_DAY, LAST_DAY) == by_hand(facts, "fcr", CENTRE_DAY, LAST_DAY)


@pytest.mark.django_db
def test_the_update_recounts_active_subscriptions_once_an_hour_and_on_a_new_day():
    # given a line active since yesterday, and beat's update run now
    now = timezone.now()
    today = timezone.localdate(now)
    SubscriptionFactory(activated_on=today - timedelta(days=1))
    rollups.rollups_update(now=now)
    assert _active(today) == 1

    # when a line is activated today and beat runs again within the hour
    SubscriptionFactory(activated_on=today)
    done = rollups.rollups_update(now=now)

    # then the stock was not rescanned (a scan of every subscription), the flow sources were
    assert done[rollups.SNAPSHOT] == []
    assert done["contacts"] == [(today - timedelta(days=1), today)]
    assert _active(today) == 1

    # and an hour later (or on the next day) it is recounted
    done = rollups.rollups_update(now=now + rollups.SNAPSHOT_REFRESH + timedelta(minutes=1))
    assert done[rollups.SNAPSHOT] != []
    assert _active(timezone.localdate(now + rollups.SNAPSHOT_REFRESH + timedelta(minutes=1))) == 2


def _active(day: date) -> int:
    return Rollup.objects.get(kpi=ACTIVE_SUBSCRIPTIONS, dimension=Dimension.ALL, day=day).numerator


@pytest.mark.django_db
def test_late_changes_on_scattered_days_are_recomputed_together_and_exactly():
    # given complaints first resolved on four old days (two of them consecutive), rolled up, and beat run once
    days = [TODAY - timedelta(days=n) for n in (30, 12, 11, 5)]
    complaints = [_resolved_complaint(day) for day in days]
    quiet_day = TODAY - timedelta(days=20)
    _resolved_complaint(quiet_day)
    recompute_all(days[0], TODAY)
    rollups.rollups_update(now=NOW)

    # when all four are reopened now
    for complaint in complaints:
        _log_reopen(complaint, at=NOW + timedelta(minutes=1))
    done = rollups.rollups_update(now=NOW + timedelta(minutes=5))

    # then their days were recomputed as runs (consecutive days as one), today and yesterday too
    assert done["complaints_resolved"] == [
        (days[0], days[0]), (days[1], days[2]), (days[3], days[3]), (YESTERDAY, TODAY),
    ]
    # and each of those days lost its first-contact resolution, the quiet day kept its own
    for day in days:
        assert values("fcr", day) == {"": (0, 1)}
    assert values("fcr", quiet_day) == {"": (1, 1)}
    # and no row was written twice
    rows = Rollup.objects.all()
    assert rows.count() == len(set(rows.values_list("kpi", "dimension", "day", "key")))
