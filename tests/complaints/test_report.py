"""The monthly service-quality report: exact figures for the month, 'no data' for empty denominators."""
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from complaints.models import Callback, Complaint, WorkOrder
from complaints.reports import monthly_report
from tests.factories import ComplaintCategoryFactory, CustomerFactory, DepartmentFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTH = date(2026, 10, 1)


def at(day, hour=12):
    return timezone.make_aware(datetime(2026, 10, day, hour)) if day > 0 else timezone.make_aware(datetime(2026, 9, 30, 23, 59))


def complaint(category, when, **fields):
    return Complaint.objects.create(
        customer=fields.pop("customer", None) or CustomerFactory(), category=category, department=category.department,
        first_ask_owner=fields.pop("owner", None) or UserFactory(roles=["agent"]), description="x", received_at=when,
        due_at=when + timedelta(hours=48), **fields,
    )


def test_the_report_counts_the_month_by_category_and_department_with_rates_coverage_and_satisfaction():
    for _ in range(4):
        SubscriptionFactory()  # 4 active subscriptions: rates per 10,000 are count × 2,500
    network, billing = DepartmentFactory(name="Network"), DepartmentFactory(name="Billing")
    signal, bill = ComplaintCategoryFactory(name="No signal", department=network), ComplaintCategoryFactory(name="Wrong bill", department=billing)
    first = complaint(signal, at(2), escalated=True, escalation_reason="vip")
    complaint(signal, at(15), appeal=True, escalated=True)
    resolved = complaint(bill, at(20), resolved_at=at(21))
    complaint(bill, at(0))  # September: not in the report
    resolved_unreached = complaint(signal, at(3), resolved_at=at(4))
    Callback.objects.create(complaint=resolved, due_at=at(22), status=Callback.Status.COMPLETED, satisfaction=5, solved=True, completed_at=at(22))
    Callback.objects.create(complaint=resolved_unreached, due_at=at(5), status=Callback.Status.DUE)
    WorkOrder.objects.create(complaint=first, department=network, due_at=at(3), breached_at=at(3, 13))

    report = monthly_report(month=MONTH)

    assert (report.complaints, report.subscribers, report.per_10k) == (4, 4, 10000)
    assert [(r.name, r.complaints, r.per_10k) for r in report.by_category] == [("No signal", 3, 7500), ("Wrong bill", 1, 2500)]
    assert [(r.name, r.complaints, r.breaches) for r in report.by_department] == [("Network", 3, 1), ("Billing", 1, 0)]
    assert (report.escalated, report.appealed, report.breaches) == (2, 1, 1)
    assert (report.resolved, report.called_back, report.callback_coverage) == (2, 1, 50)
    assert (report.satisfaction_mean, report.satisfied_share) == (5, 100)
    assert report.top_issues[0].name == "No signal"


def test_an_empty_month_has_no_data_not_zero_percent():
    report = monthly_report(month=MONTH)
    assert report.complaints == 0
    assert report.per_10k is None and report.callback_coverage is None and report.satisfaction_mean is None


def test_the_report_page_and_csv_for_a_manager_and_refusal_for_an_agent(client, make_user):
    complaint(ComplaintCategoryFactory(name="No signal"), at(2))
    client.force_login(make_user("manager"))
    page = client.get("/complaints/report/", {"month": "2026-10"})
    assert page.status_code == 200 and "No signal" in page.content.decode()
    csv_body = client.get("/complaints/report/", {"month": "2026-10", "format": "csv"}).getvalue().decode("utf-8-sig")
    assert "No signal,1," in csv_body
    bad = client.get("/complaints/report/", {"month": "October"}, follow=True)
    assert bad.status_code == 200 and "YYYY-MM" in bad.content.decode()

    client.force_login(make_user("agent"))
    assert client.get("/complaints/report/").status_code == 403
