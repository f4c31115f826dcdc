"""The KPI part of ``manage.py seed_demo``: a believable past for the dashboards, and a reset that removes exactly it."""
from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from complaints.models import Callback, Complaint, WorkOrder
from delivery.models import Shipment, ShipmentStatus
from kpi import demo, ratings, selectors
from kpi.definitions import KPIS
from kpi.models import Rollup, StarRating
from orders.models import Flow, Opportunity, Order
from servicedesk.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _history_on(monkeypatch):
    monkeypatch.setattr(demo, "HISTORY_DAYS", 60)


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", customers=40, force=True, stdout=out, **options)
    return out.getvalue()


def history_counts() -> dict[str, int]:
    return {
        "contacts": Contact.objects.filter(notes=demo.MARK).count(),
        "orders": Order.objects.filter(notes=demo.MARK).count(),
        "shipments": Shipment.objects.filter(tracking_number__startswith=demo.TRACKING_PREFIX).count(),
        "complaints": Complaint.objects.filter(external_id__startswith=demo.EXTERNAL_PREFIX).count(),
        "callbacks": Callback.objects.filter(notes=demo.MARK).count(),
        "opportunities": Opportunity.objects.filter(notes=demo.MARK).count(),
    }


def live_work() -> tuple:
    """What the other apps' demos leave to work on: their open orders, opportunities and complaints."""
    return (
        sorted(Order.objects.exclude(notes=demo.MARK).values_list("pk", "status")),
        sorted(Opportunity.objects.exclude(notes=demo.MARK).values_list("pk", "status")),
        sorted(Complaint.objects.exclude(external_id__startswith=demo.EXTERNAL_PREFIX).values_list("pk", "status")),
    )


def test_seed_writes_sixty_days_of_finished_work_with_rollups_and_ratings():
    output = seed()
    today = timezone.localdate()
    first_day, yesterday = today - timedelta(days=60), today - timedelta(days=1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    midnight = timezone.make_aware(datetime.combine(today, time.min))

    # then there is a modest history in every fact table
    counts = history_counts()
    assert 2000 < counts["contacts"] < 4500 and 400 < counts["orders"] < 800 and 150 < counts["shipments"] < 400
    assert 120 < counts["complaints"] < 300 and 100 < counts["opportunities"] < 250, counts
    assert "KPI history" in output and "star ratings" in output
    # all of it in the past, none of it today
    for model, field in [(Contact, "started_at"), (Order, "submitted_at"), (Complaint, "received_at"), (Opportunity, "created_at")]:
        rows = model.objects.filter(pk__in=_history(model))
        assert not rows.filter(**{f"{field}__lt": start}).exists(), model
    for model, field in [(Contact, "ended_at"), (Order, "closed_at"), (Order, "decided_at"), (Complaint, "closed_at"),
                         (Shipment, "closed_at"), (Opportunity, "closed_at")]:
        assert not model.objects.filter(pk__in=_history(model), **{f"{field}__gte": midnight}).exists(), (model, field)
    # and all of it finished: nothing lands in a queue, a breach check or a callback list
    assert not Order.objects.filter(notes=demo.MARK, decided_at=None).exists()
    assert set(Complaint.objects.filter(external_id__startswith=demo.EXTERNAL_PREFIX).values_list("status", flat=True)) == {"closed"}
    assert not WorkOrder.objects.filter(complaint__external_id__startswith=demo.EXTERNAL_PREFIX, status="open").exists()
    assert not Callback.objects.filter(notes=demo.MARK, status="due").exists()
    assert set(Opportunity.objects.filter(notes=demo.MARK).values_list("status", flat=True)) == {"converted", "lost"}
    assert {ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED} >= set(
        Shipment.objects.filter(tracking_number__startswith=demo.TRACKING_PREFIX).values_list("status", flat=True)
    )

    # the rollups cover the past days, and the dashboards' numbers are there
    assert Rollup.objects.filter(day=yesterday, kpi="contact_volume", dimension="all").exists()
    assert Rollup.objects.filter(day__lt=first_day + timedelta(days=3), kpi="satisfaction").exists()
    values = selectors.kpi_values(list(KPIS), first_day, yesterday)
    assert all(values[code].get("") and values[code][""].denominator for code in KPIS), [c for c in KPIS if not values[c].get("")]
    # a believable centre: most customers satisfied, under half of complaints resolved at first contact, a few deliveries late
    assert 70 <= values["satisfaction"][""].value <= 95
    assert 30 <= values["fcr"][""].value <= 65
    assert 80 <= values["delivery_timeliness"][""].value < 100
    assert 0 < values["appeal_share"][""].numerator < 20
    # and the daily trends show days on both sides of the target
    for code in ("satisfaction", "acceptance_timeliness", "aht"):
        met = {value.met for _day, value in selectors.kpi_trend(code, first_day, yesterday)}
        assert met == {True, False}, code
    # spread over the groupings the dashboards break down by
    for dimension, at_least in [("agent", 6), ("team", 4), ("area", 5), ("product", 10), ("channel", 5), ("carrier", 2), ("vip_tier", 2)]:
        keys = Rollup.objects.filter(dimension=dimension, day__gte=first_day).exclude(key="").values("key").distinct().count()
        assert keys >= at_least, dimension

    # star ratings were computed for last month (and, unless today is the 1st, this one)
    last_month = ratings.previous_month(today)
    assert StarRating.objects.filter(month=last_month, subject="agent").count() >= 6
    assert StarRating.objects.filter(month=last_month, subject="team").exists()
    assert set(StarRating.objects.values_list("month", flat=True)) <= {last_month, today.replace(day=1)}


def _history(model):
    marked = {
        Contact: {"notes": demo.MARK}, Order: {"notes": demo.MARK}, Opportunity: {"notes": demo.MARK},
        Complaint: {"external_id__startswith": demo.EXTERNAL_PREFIX}, Shipment: {"tracking_number__startswith": demo.TRACKING_PREFIX},
    }[model]
    return model.objects.filter(**marked).values("pk")


def test_anchor_columns_are_filled_as_the_services_fill_them():
    seed()

    for complaint in Complaint.objects.filter(external_id__startswith=demo.EXTERNAL_PREFIX).prefetch_related("callbacks"):
        assert complaint.received_at < complaint.first_resolved_at <= complaint.resolved_at < complaint.closed_at
        assert complaint.due_at > complaint.received_at and complaint.first_ask_owner_id and complaint.area_id == complaint.customer.area_id
        satisfaction = [c for c in complaint.callbacks.all() if c.kind == Callback.Kind.SATISFACTION]
        assert len(satisfaction) == 1 + complaint.reopen_count
        assert all(complaint.first_resolved_at < c.completed_at <= complaint.closed_at for c in satisfaction)
        if satisfaction[-1].status == Callback.Status.COMPLETED:
            assert satisfaction[-1].satisfaction and satisfaction[-1].solved is True
        else:  # closed unreached
            assert satisfaction[-1].status == Callback.Status.EXHAUSTED and satisfaction[-1].satisfaction is None
    for order in Order.objects.filter(notes=demo.MARK).select_related("product__category"):
        assert order.submitted_at <= order.decided_at <= order.closed_at
        if order.flow == Flow.BACK_OFFICE:
            assert order.accept_by == order.submitted_at + timedelta(hours=order.product.category.acceptance_limit_hours)
            assert (order.accepted_at is None) == (order.status == "rejected")
        else:
            assert order.accept_by is None and order.accepted_at is None and order.service_number
    for shipment in Shipment.objects.filter(tracking_number__startswith=demo.TRACKING_PREFIX).select_related("order"):
        assert shipment.order.accepted_at <= shipment.created_at < shipment.closed_at
        if shipment.status == ShipmentStatus.DELIVERED:
            assert shipment.delivered_at == shipment.closed_at and shipment.order.status == "completed"
        else:
            assert shipment.delivered_at is None and shipment.order.status == "cancelled"
    converted = Opportunity.objects.filter(notes=demo.MARK, status="converted")
    assert converted.exists() and not converted.filter(order=None).exists()
    assert not converted.exclude(order__channel="outbound").exists()
    assert not WorkOrder.objects.filter(kind="repair", complaint__external_id__startswith=demo.EXTERNAL_PREFIX, done_at=None).exists()


def test_seeding_again_adds_nothing_and_reset_then_seed_gives_the_same_history():
    seed()
    first, live = history_counts(), live_work()
    rollups = Rollup.objects.count()

    # when it runs again: no duplicates, the live work untouched
    seed()
    assert history_counts() == first and live_work() == live and Rollup.objects.count() == rollups

    # when reset and seeded again: the same history again, once
    seed(reset=True)
    assert history_counts() == first
    history = Complaint.objects.filter(external_id__startswith=demo.EXTERNAL_PREFIX)
    assert not history.values("external_id").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not Shipment.objects.values("tracking_number").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert len(live_work()[0]) == len(live[0]) and len(live_work()[2]) == len(live[2])


def test_reset_removes_exactly_the_history():
    # given the demo with its history
    seed()
    live = live_work()
    customer_contacts = Contact.objects.exclude(notes=demo.MARK).count()

    # when the KPI part is reset alone
    demo.reset(log=lambda *_: None)

    # then the history and what was computed from it are gone, and everything else is still there
    assert set(history_counts().values()) == {0}
    assert not Rollup.objects.exists() and not StarRating.objects.exists()
    assert live_work() == live
    assert Contact.objects.count() == customer_contacts


def test_history_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(demo, "HISTORY_DAYS", 0)

    seed()

    assert set(history_counts().values()) == {0}
