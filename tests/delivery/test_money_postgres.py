"""The daily report under real concurrent connections: one report per hall and day, one check per report."""
from decimal import Decimal

import pytest
from django.db import connection

from delivery.models import DailyReport, DailyReportTransition
from delivery.services import money
from servicedesk.fsm import TransitionRefused
from tests.concurrency import run_concurrently
from tests.delivery.money_helpers import DAY, at, make_shipper, stocked_hall
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 6


def test_on_postgres():
    assert connection.vendor == "postgresql"


def test_compiling_the_same_day_at_once_makes_one_report_with_the_right_figures(accepted_order):
    # given a hall with a delivery that day, and the task and clerks compiling it at the same moment
    hall = stocked_hall()
    make_shipper(accepted_order)(hall, delivered_at=at(DAY), due="42.00", collected="42.00", method="cash")
    clerks = [UserFactory(roles=["delivery_clerk"]) for _ in range(WORKERS)]

    reports = run_concurrently(lambda n: money.daily_report_compile(hall_id=hall.pk, day=DAY, by=clerks[n] if n % 2 else None).pk,
                               workers=WORKERS)

    # then there is one report, every caller got it, and its figures are right
    assert len(set(reports)) == 1
    report = DailyReport.objects.get()
    assert (report.deliveries_count, report.collected_cash) == (1, Decimal("42.00"))


def test_account_clerks_checking_at_once_check_the_report_once():
    # given a prepared report and several account clerks pressing "Check" together
    hall = stocked_hall()
    report = money.daily_report_compile(hall_id=hall.pk, day=DAY)
    money.daily_report_prepare(report_id=report.pk, by=UserFactory(roles=["delivery_clerk"]), counted_cash=Decimal(0))
    checkers = [UserFactory(roles=["account_clerk"]) for _ in range(WORKERS)]

    def check(n):
        try:
            money.daily_report_verify(report_id=report.pk, by=checkers[n])
        except TransitionRefused:
            return "refused"
        return "checked"

    outcomes = run_concurrently(check, workers=WORKERS)

    # then exactly one check went through and is recorded once
    assert sorted(outcomes) == ["checked"] + ["refused"] * (WORKERS - 1)
    assert DailyReportTransition.objects.filter(report=report, transition="verify").count() == 1
    assert DailyReport.objects.get(pk=report.pk).status == DailyReport.Status.CHECKED
