"""The hall's daily business report: figures compiled in the database, three-level reconciliation, the lock."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.models import DailyReport, DailyReportTransition
from delivery.services import money, shipments
from delivery.tasks import daily_reports_compile
from servicedesk.fsm import TransitionRefused
from tests.delivery.money_helpers import (
    DAY,
    at,
    failed_attempt,
    make_shipper,
    stocked_hall,
)
from tests.factories import CarrierFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall():
    return stocked_hall()


@pytest.fixture
def ship(accepted_order):
    return make_shipper(accepted_order)


@pytest.fixture
def clerk(make_user):
    return make_user("delivery_clerk")


@pytest.fixture
def checker(make_user):
    return make_user("account_clerk")


@pytest.fixture
def supervisor(make_user):
    return make_user("account_supervisor")


def draft(hall, day=DAY) -> DailyReport:
    return money.daily_report_compile(hall_id=hall.pk, day=day)


# --- compiling the figures -----------------------------------------------------------------

def test_compile_counts_exactly_the_halls_deliveries_money_and_failures_of_that_day(hall, ship):
    # given deliveries of the hall that day, paid in cash (one short) and by POS, the first at midnight sharp
    ship(hall, delivered_at=at(DAY, 0, 0), due="100.10", collected="100.10", method="cash", submitted_at=at(DAY, 0, 0))
    ship(hall, delivered_at=at(DAY, 13), due="60.00", collected="50.00", method="cash")
    ship(hall, delivered_at=at(DAY, 23, 59, 59), due="199.99", collected="199.99", method="pos", pos_reference="POS-1")
    # and a shipment that failed that day, then was delivered the day after; one that failed the day before
    late = ship(hall, delivered_at=at(DAY + timedelta(days=1), 0, 0), due="88.00", collected="88.00", method="cash", submitted_at=at(DAY, 9))
    failed_attempt(late, at(DAY, 16))
    earlier = ship(hall, status="failed", due="10.00", submitted_at=at(DAY - timedelta(days=1), 23, 59))
    failed_attempt(earlier, at(DAY - timedelta(days=1), 23, 59, 59))
    # and what must not count: the day before, another hall, a shipment out for delivery, a cancelled one
    ship(hall, delivered_at=at(DAY - timedelta(days=1), 23, 59, 59), due="5.00", collected="5.00", method="cash")
    ship(stocked_hall(), delivered_at=at(DAY, 12), due="999.00", collected="999.00", method="cash", submitted_at=at(DAY, 8))
    ship(hall, status="out_for_delivery", due="70.00", submitted_at=at(DAY, 11))
    ship(hall, status="cancelled", due="30.00", submitted_at=at(DAY, 12))

    # when the day's report is compiled
    report = draft(hall)

    # then the figures are exact, in Decimal, cash apart from POS
    report.refresh_from_db()
    assert (report.deliveries_count, report.failed_count) == (3, 1)
    assert report.expected_total == Decimal("360.09")
    assert report.collected_cash == Decimal("150.10")
    assert report.collected_pos == Decimal("199.99")
    assert report.collected_total == Decimal("350.09")
    assert report.difference == Decimal("-10.00")
    assert all(isinstance(v, Decimal) for v in (report.expected_total, report.collected_cash, report.collected_pos))
    # and orders are the orders submitted that day that ship from the hall (not the cancelled shipment's, not another hall's)
    assert report.orders_count == 3
    assert report.status == DailyReport.Status.DRAFT


def test_a_day_without_activity_compiles_to_zeros(hall):
    report = draft(hall)
    assert (report.orders_count, report.deliveries_count, report.failed_count) == (0, 0, 0)
    assert (report.expected_total, report.collected_cash, report.collected_pos, report.difference) == (Decimal(0),) * 4


def test_compiling_takes_the_same_number_of_queries_whatever_the_number_of_shipments(hall, ship):
    # given a compiled draft, refreshed once one delivery is recorded
    draft(hall)
    ship(hall, delivered_at=at(DAY), due="10.00", collected="10.00", method="cash", submitted_at=at(DAY))
    with CaptureQueriesContext(connection) as few:
        draft(hall)
    # when four more deliveries and a failure are added and it is compiled again
    for hour in (11, 12, 13, 14):
        ship(hall, delivered_at=at(DAY, hour), due="10.00", collected="10.00", method="pos", submitted_at=at(DAY, hour))
    failed_attempt(ship(hall, status="failed"), at(DAY, 15))
    with CaptureQueriesContext(connection) as many:
        report = draft(hall)
    # then the figures grew but the work did not: grouped queries, no loop over rows
    assert report.deliveries_count == 5 and report.failed_count == 1
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_refresh_that_changes_nothing_writes_nothing(hall, clerk):
    report = draft(hall)
    with CaptureQueriesContext(connection) as queries:
        money.daily_report_compile(hall_id=hall.pk, day=DAY, by=clerk)
    assert not any(q["sql"].startswith(("UPDATE", "INSERT")) for q in queries.captured_queries)
    assert not report.transitions.exists()


def test_a_draft_is_refreshed_in_place(hall, ship, clerk):
    # given a compiled draft
    first = draft(hall)
    # when a delivery of that day is recorded late and the clerk refreshes
    ship(hall, delivered_at=at(DAY, 20), due="45.50", collected="45.50", method="pos")
    report = money.daily_report_compile(hall_id=hall.pk, day=DAY, by=clerk)
    # then the same report carries the new figures, and the clerk's refresh is in its history
    assert report.pk == first.pk and DailyReport.objects.count() == 1
    assert (report.deliveries_count, report.collected_pos) == (1, Decimal("45.50"))
    assert list(report.transitions.values_list("transition", "by")) == [("refresh", clerk.pk)]


@pytest.mark.parametrize("status", ["prepared", "checked", "approved"])
def test_a_report_past_the_draft_is_not_recompiled(hall, ship, clerk, status):
    # given a report that has left the draft
    report = draft(hall)
    DailyReport.objects.filter(pk=report.pk).update(status=status)
    # when a delivery of that day turns up and someone (or the task) compiles again
    ship(hall, delivered_at=at(DAY, 20), due="45.50", collected="45.50", method="cash")
    for by in (None, clerk):
        with pytest.raises(money.ReportLocked):
            money.daily_report_compile(hall_id=hall.pk, day=DAY, by=by)
    # then its figures are the ones it was prepared with
    report.refresh_from_db()
    assert (report.deliveries_count, report.collected_cash) == (0, Decimal(0))


def test_compile_refuses_a_future_day_and_a_store_that_is_not_a_hall(hall):
    with pytest.raises(ValidationError) as future:
        money.daily_report_compile(hall_id=hall.pk, day=timezone.localdate() + timedelta(days=1))
    with pytest.raises(ValidationError) as branch:
        money.daily_report_compile(hall_id=hall.parent_id, day=DAY)
    with pytest.raises(ValidationError):
        money.daily_report_compile(hall_id=999999, day=DAY)
    assert "day" in future.value.message_dict and "hall" in branch.value.message_dict
    assert not DailyReport.objects.exists()


def test_only_the_delivery_clerk_compiles_on_demand(hall, checker):
    with pytest.raises(PermissionDenied):
        money.daily_report_compile(hall_id=hall.pk, day=DAY, by=checker)
    assert not DailyReport.objects.exists()


def test_the_task_compiles_yesterday_and_today_for_every_active_hall_and_leaves_reports_under_review_alone(ship):
    # given two active halls, an inactive one, and yesterday's report of the first already prepared
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    first, second = stocked_hall(), stocked_hall()
    closed = stocked_hall(active=False)
    ship(second, delivered_at=at(yesterday, 11), due="20.00", collected="20.00", method="cash")
    prepared = DailyReport.objects.create(hall=first, day=yesterday)
    DailyReport.objects.filter(pk=prepared.pk).update(status="prepared", deliveries_count=7)

    # when the scheduled task runs, twice
    daily_reports_compile.delay()
    daily_reports_compile.delay()

    # then each active hall has one report per day, the prepared one untouched, and no history noise
    assert set(DailyReport.objects.values_list("hall_id", "day")) == {
        (first.pk, yesterday), (first.pk, today), (second.pk, yesterday), (second.pk, today)}
    assert DailyReport.objects.get(pk=prepared.pk).deliveries_count == 7
    assert DailyReport.objects.get(hall=second, day=yesterday).collected_cash == Decimal("20.00")
    assert not DailyReport.objects.filter(hall=closed).exists()
    assert not DailyReportTransition.objects.exists()


# --- the three levels ----------------------------------------------------------------------

def test_clerk_prepares_account_clerk_checks_supervisor_approves(hall, ship, clerk, checker, supervisor):
    # given a draft whose money balances
    ship(hall, delivered_at=at(DAY), due="120.00", collected="120.00", method="cash")
    report = draft(hall)
    # when the three levels each do their step
    money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal("120.00"))
    money.daily_report_verify(report_id=report.pk, by=checker, note="till slip attached")
    report = money.daily_report_approve(report_id=report.pk, by=supervisor)
    # then it is approved, with who did each step, recorded in order
    report.refresh_from_db()
    assert report.status == DailyReport.Status.APPROVED
    assert (report.prepared_by, report.checked_by, report.approved_by) == (clerk, checker, supervisor)
    assert report.counted_cash == Decimal("120.00") and report.difference == Decimal(0)
    assert list(report.transitions.order_by("at", "id").values_list("transition", "from_state", "to_state", "by", "reason")) == [
        ("prepare", "draft", "prepared", clerk.pk, ""),
        ("verify", "prepared", "checked", checker.pk, "till slip attached"),
        ("approve", "checked", "approved", supervisor.pk, ""),
    ]


@pytest.mark.parametrize(("role", "step"), [
    ("account_clerk", "prepare"), ("account_supervisor", "prepare"), ("agent", "prepare"),
    ("delivery_clerk", "verify"), ("account_supervisor", "verify"),
    ("delivery_clerk", "approve"), ("account_clerk", "approve"),
    ("delivery_clerk", "send_back"), ("manager", "send_back"),
])
def test_each_level_needs_its_role(hall, make_user, clerk, checker, role, step):
    # given a report in the state where the step is possible
    report = draft(hall)
    state = {"prepare": "draft", "verify": "prepared", "approve": "checked", "send_back": "prepared"}[step]
    DailyReport.objects.filter(pk=report.pk).update(status=state, counted_cash=Decimal(0), prepared_by=clerk)
    calls = {
        "prepare": lambda by: money.daily_report_prepare(report_id=report.pk, by=by, counted_cash=Decimal(0)),
        "verify": lambda by: money.daily_report_verify(report_id=report.pk, by=by),
        "approve": lambda by: money.daily_report_approve(report_id=report.pk, by=by),
        "send_back": lambda by: money.daily_report_send_back(report_id=report.pk, by=by, reason="recount"),
    }
    # when someone of another role tries it, then it is refused and nothing moves
    with pytest.raises(PermissionDenied):
        calls[step](make_user(role))
    report.refresh_from_db()
    assert report.status == state and not report.transitions.exists()


def test_who_prepared_may_not_check_and_who_checked_may_not_approve(hall, make_user):
    # given administrators, who hold every permission of the report
    first, second, third = make_user("admin"), make_user("admin"), make_user("admin")
    report = draft(hall)
    money.daily_report_prepare(report_id=report.pk, by=first, counted_cash=Decimal(0))
    # when the one who prepared tries to check it, then it is refused
    with pytest.raises(PermissionDenied, match="someone else must check"):
        money.daily_report_verify(report_id=report.pk, by=first)
    money.daily_report_verify(report_id=report.pk, by=second)
    # when the one who checked, or the one who prepared, tries to approve it, then it is refused
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        money.daily_report_approve(report_id=report.pk, by=second)
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        money.daily_report_approve(report_id=report.pk, by=first)
    assert DailyReport.objects.get(pk=report.pk).status == DailyReport.Status.CHECKED
    # and a third person may
    money.daily_report_approve(report_id=report.pk, by=third)
    assert DailyReport.objects.get(pk=report.pk).status == DailyReport.Status.APPROVED


@pytest.mark.parametrize(("counted", "collected", "due"), [
    ("95.00", "100.00", "100.00"),   # the till is short of what the couriers recorded
    ("100.00", "100.00", "120.00"),  # the couriers collected less than was due
])
def test_a_difference_must_be_explained_before_it_leaves_the_draft(hall, ship, clerk, counted, collected, due):
    # given a day whose money does not balance
    ship(hall, delivered_at=at(DAY), due=due, collected=collected, method="cash")
    report = draft(hall)
    # when the clerk prepares it without an explanation, then it is refused on that field and nothing is saved
    with pytest.raises(ValidationError) as refused:
        money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal(counted), explanation="   ")
    assert "explanation" in refused.value.message_dict
    report.refresh_from_db()
    assert (report.status, report.counted_cash) == (DailyReport.Status.DRAFT, None)
    # when it is explained, then it is prepared with the difference shown
    report = money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal(counted), explanation="Courier Wang owes 5 yuan.")
    assert report.status == DailyReport.Status.PREPARED
    assert report.difference == Decimal(counted) - Decimal(due)


@pytest.mark.parametrize("step", ["verify", "approve"])
def test_checking_and_approving_refuse_an_unexplained_difference(hall, clerk, checker, supervisor, step):
    # given a report that reached the level with a difference but no explanation (as an import might leave it)
    report = draft(hall)
    DailyReport.objects.filter(pk=report.pk).update(
        status="prepared" if step == "verify" else "checked", counted_cash=Decimal("3.00"), explanation="", prepared_by=clerk,
    )
    by = checker if step == "verify" else supervisor
    with pytest.raises(ValidationError) as refused:
        getattr(money, f"daily_report_{step}")(report_id=report.pk, by=by)
    assert "explanation" in refused.value.message_dict
    assert not DailyReport.objects.get(pk=report.pk).transitions.exists()


@pytest.mark.parametrize("amount", [10.5, Decimal("-0.01"), Decimal("1.005"), "10.00", Decimal("NaN"), Decimal("1E+12")])
def test_the_till_count_is_a_decimal_of_yuan_and_fen_never_negative_or_float(hall, clerk, amount):
    report = draft(hall)
    with pytest.raises(ValidationError) as refused:
        money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=amount, explanation="x")
    assert "counted_cash" in refused.value.message_dict
    report.refresh_from_db()
    assert (report.status, report.counted_cash) == (DailyReport.Status.DRAFT, None)


def test_prepare_refuses_figures_that_changed_while_the_till_was_counted(hall, ship, clerk):
    # given the clerk opened the report and noted its figures
    report = draft(hall)
    seen = money.figures_stamp(report)
    # when a delivery is recorded and the task refreshes the draft before the clerk submits
    ship(hall, delivered_at=at(DAY, 18), due="30.00", collected="30.00", method="cash")
    draft(hall)
    # then the prepare is refused rather than reconciled against figures the clerk never saw
    with pytest.raises(ValidationError, match="figures changed"):
        money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal(0), figures_seen=seen)
    assert DailyReport.objects.get(pk=report.pk).status == DailyReport.Status.DRAFT


def test_a_refused_step_names_the_states_allowed_next(hall, checker, supervisor):
    report = draft(hall)
    with pytest.raises(TransitionRefused) as refused:
        money.daily_report_verify(report_id=report.pk, by=checker)
    assert refused.value.allowed == ["prepared"] and refused.value.current == "draft"
    with pytest.raises(TransitionRefused):
        money.daily_report_approve(report_id=report.pk, by=supervisor)


# --- sending back --------------------------------------------------------------------------

def test_either_reviewer_sends_the_report_back_to_draft_with_a_reason(hall, ship, clerk, checker, supervisor, make_user):
    # given a prepared report
    ship(hall, delivered_at=at(DAY), due="50.00", collected="50.00", method="cash")
    report = draft(hall)
    money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal("50.00"))
    # when the account clerk sends it back without a reason, then it is refused
    with pytest.raises(ValidationError) as refused:
        money.daily_report_send_back(report_id=report.pk, by=checker, reason=" ")
    assert "reason" in refused.value.message_dict
    # when with a reason, then it is a draft again, no longer counted as prepared, and can be refreshed
    report = money.daily_report_send_back(report_id=report.pk, by=checker, reason="The POS slips are missing")
    assert (report.status, report.prepared_by, report.prepared_at) == (DailyReport.Status.DRAFT, None, None)
    assert report.transitions.last().reason == "The POS slips are missing"
    money.daily_report_compile(hall_id=hall.pk, day=DAY, by=clerk)
    # and after it is prepared and checked again, the supervisor can send it back too, all the way to draft
    money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal("50.00"))
    money.daily_report_verify(report_id=report.pk, by=checker)
    report = money.daily_report_send_back(report_id=report.pk, by=supervisor, reason="Recount the till")
    assert (report.status, report.checked_by) == (DailyReport.Status.DRAFT, None)
    # and the round starts again with new people: who checked last time may now prepare, who prepared may check
    other_clerk = make_user("delivery_clerk", "account_clerk")
    money.daily_report_prepare(report_id=report.pk, by=other_clerk, counted_cash=Decimal("50.00"))
    with pytest.raises(PermissionDenied):
        money.daily_report_verify(report_id=report.pk, by=other_clerk)


# --- the lock ------------------------------------------------------------------------------

def test_an_approved_report_is_locked_against_every_service(hall, ship, clerk, checker, supervisor, make_user):
    # given yesterday's report approved, with a till difference that was explained
    day = timezone.localdate() - timedelta(days=1)
    ship(hall, delivered_at=at(day), due="80.00", collected="80.00", method="cash")
    report = draft(hall, day)
    money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal("79.50"), explanation="5 jiao short")
    money.daily_report_verify(report_id=report.pk, by=checker)
    money.daily_report_approve(report_id=report.pk, by=supervisor)
    locked = model_to_dict(DailyReport.objects.get(pk=report.pk))
    history = DailyReportTransition.objects.count()
    admin = make_user("admin")
    # and a delivery of that day turns up afterwards
    ship(hall, delivered_at=at(day, 21), due="10.00", collected="10.00", method="cash")

    # when anyone tries any change through the services
    attempts = [
        lambda: money.daily_report_compile(hall_id=hall.pk, day=day),
        lambda: money.daily_report_compile(hall_id=hall.pk, day=day, by=clerk),
        lambda: money.daily_report_prepare(report_id=report.pk, by=clerk, counted_cash=Decimal("80.00")),
        lambda: money.daily_report_verify(report_id=report.pk, by=admin),
        lambda: money.daily_report_approve(report_id=report.pk, by=admin),
        lambda: money.daily_report_send_back(report_id=report.pk, by=checker, reason="reopen"),
        lambda: money.daily_report_send_back(report_id=report.pk, by=supervisor, reason="reopen"),
    ]
    for attempt in attempts:
        with pytest.raises(TransitionRefused) as refused:
            attempt()
        assert "locked" in str(refused.value.detail)
    daily_reports_compile.delay()  # and the scheduled compile of yesterday and today

    # then not one field changed, and nothing was added to its history
    assert model_to_dict(DailyReport.objects.get(pk=report.pk)) == locked
    assert DailyReportTransition.objects.count() == history


# --- with the shipments' own services --------------------------------------------------------

def test_the_report_counts_what_the_courier_recorded_through_the_shipment_services(hall, accepted_order, clerk):
    # given an order shipped from the hall: the first attempt fails, the second is delivered and paid by POS
    CarrierFactory()
    order = accepted_order(customer=CustomerFactory(area=hall.areas.first()))
    shipment = shipments.shipment_create(order=order, by=clerk)
    shipments.shipment_pick(shipment_id=shipment.pk, by=clerk)
    shipments.shipment_hand_to_carrier(shipment_id=shipment.pk, by=clerk)
    shipments.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
    shipments.shipment_fail(shipment_id=shipment.pk, by=clerk, reason="Nobody home")
    shipments.shipment_go_out_for_delivery(shipment_id=shipment.pk, by=clerk)
    shipments.shipment_deliver(shipment_id=shipment.pk, by=clerk, signed_by="张三", id_checked=True, amount_collected=Decimal("50.00"),
                               payment_method="pos", pos_reference="POS-9")

    # when today's report is compiled
    report = money.daily_report_compile(hall_id=hall.pk, day=timezone.localdate())

    # then it has the order, one delivery, one failed attempt, and the money by POS
    assert (report.orders_count, report.deliveries_count, report.failed_count) == (1, 1, 1)
    assert (report.expected_total, report.collected_pos, report.collected_cash) == (order.price, Decimal("50.00"), Decimal(0))
