"""The daily report pages: who sees and does what, filters and pages, bad input answered with a message, the CSV."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.models import DailyReport
from delivery.services import money
from delivery.views import money as money_views
from tests.delivery.money_helpers import DAY, at, make_shipper, stocked_hall

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall():
    return stocked_hall(name="Heping hall")


@pytest.fixture
def ship(accepted_order):
    return make_shipper(accepted_order)


@pytest.fixture
def as_role(client, make_user):
    """``as_role("account_clerk")`` logs the test client in as a new user with those roles."""

    def login(*roles):
        user = make_user(*roles)
        client.force_login(user)
        client.user = user
        return client

    return login


def report_url(report, name="report"):
    return reverse(f"delivery:{name}", args=[report.pk])


def a_report(hall, day=DAY, **fields) -> DailyReport:
    report = money.daily_report_compile(hall_id=hall.pk, day=day)
    if fields:
        DailyReport.objects.filter(pk=report.pk).update(**fields)
        report.refresh_from_db()
    return report


# --- who may -------------------------------------------------------------------------------

def test_pages_need_login(client, hall):
    report = a_report(hall)
    for url in (reverse("delivery:reports"), report_url(report), report_url(report, "report_export")):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_roles_without_the_report_see_nothing_and_do_nothing(as_role, hall):
    report = a_report(hall)
    client = as_role("agent")
    assert client.get(reverse("delivery:reports")).status_code == 403
    assert client.get(report_url(report)).status_code == 403
    assert client.get(report_url(report, "report_export")).status_code == 403
    for name in ("report_refresh", "report_prepare", "report_verify", "report_approve", "report_send_back"):
        assert client.post(report_url(report, name), {"counted_cash": "0", "reason": "x"}).status_code == 403
    assert client.post(reverse("delivery:report_compile"), {"hall": hall.pk, "day": DAY.isoformat()}).status_code == 403
    assert DailyReport.objects.get(pk=report.pk).status == DailyReport.Status.DRAFT


def test_a_manager_reads_reports_but_has_no_action(as_role, hall):
    report = a_report(hall)
    client = as_role("manager")
    response = client.get(report_url(report))
    assert response.status_code == 200 and response.context["actions"] == []
    assert client.post(report_url(report, "report_prepare"), {"counted_cash": "0"}).status_code == 403
    assert client.post(report_url(report, "report_refresh")).status_code == 403


def test_an_unknown_report_is_404(as_role):
    client = as_role("account_clerk")
    assert client.get(reverse("delivery:report", args=[999999])).status_code == 404
    assert client.post(reverse("delivery:report_verify", args=[999999])).status_code == 404


@pytest.mark.parametrize(("role", "status", "actions"), [
    ("delivery_clerk", "draft", ["refresh", "prepare"]),
    ("account_clerk", "draft", []),
    ("account_clerk", "prepared", ["verify", "send_back"]),
    ("delivery_clerk", "prepared", []),
    ("account_supervisor", "checked", ["approve", "send_back"]),
    ("account_clerk", "checked", ["send_back"]),
    ("account_supervisor", "approved", []),
    ("delivery_clerk", "approved", []),
])
def test_the_page_offers_each_role_its_step_only(as_role, hall, role, status, actions):
    report = a_report(hall, status=status, counted_cash=Decimal(0))
    response = as_role(role).get(report_url(report))
    assert response.context["actions"] == actions
    body = response.content.decode()
    assert ('data-testid="prepare"' in body) == ("prepare" in actions)
    assert ('data-testid="approve"' in body) == ("approve" in actions)


# --- the list ------------------------------------------------------------------------------

def test_the_list_filters_by_hall_status_and_days_and_pages(as_role, hall, monkeypatch):
    # given reports of two halls over several days, one prepared
    other = stocked_hall(name="Hexi hall")
    days = [DAY - timedelta(days=n) for n in range(4)]
    for day in days:
        a_report(hall, day)
        a_report(other, day)
    prepared = DailyReport.objects.get(hall=hall, day=days[1])
    DailyReport.objects.filter(pk=prepared.pk).update(status="prepared")
    client = as_role("account_clerk")

    def listed(**params):
        return [(r.hall_id, r.day) for r in client.get(reverse("delivery:reports"), params).context["page"].object_list]

    # then each filter narrows the list, newest day first
    assert listed(hall=hall.pk) == [(hall.pk, d) for d in days]
    assert listed(status="prepared") == [(hall.pk, days[1])]
    assert listed(hall=other.pk, day_from=days[2].isoformat(), day_to=days[1].isoformat()) == [(other.pk, days[1]), (other.pk, days[2])]
    # and the list is paged, the filters kept on the pager's links
    monkeypatch.setattr(money_views, "REPORTS_PER_PAGE", 3)
    first = client.get(reverse("delivery:reports"), {"hall": hall.pk})
    assert first.context["page"].paginator.num_pages == 2
    assert f"?hall={hall.pk}&amp;page=2" in first.content.decode()
    assert listed(hall=hall.pk, page=2) == [(hall.pk, days[3])]


@pytest.mark.parametrize("params", [
    {"status": "bogus"}, {"hall": "abc"}, {"hall": "999999"}, {"day_from": "2024-13-45"}, {"page": "-1"}, {"page": "x" * 50},
    {"day_from": "2024-05-02", "day_to": "2024-05-01"},
])
def test_a_bad_filter_is_reported_and_ignored(as_role, hall, params):
    a_report(hall)
    response = as_role("account_clerk").get(reverse("delivery:reports"), params)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1
    if set(params) - {"page"}:
        assert "A filter was not understood" in response.content.decode()


def test_the_clerk_opens_a_days_report_from_the_list(as_role, hall, ship):
    ship(hall, delivered_at=at(DAY), due="12.50", collected="12.50", method="pos")
    client = as_role("delivery_clerk")
    response = client.post(reverse("delivery:report_compile"), {"hall": hall.pk, "day": DAY.isoformat()})
    report = DailyReport.objects.get(hall=hall, day=DAY)
    assert response.status_code == 302 and response["Location"] == report_url(report)
    assert report.collected_pos == Decimal("12.50")


@pytest.mark.parametrize(("data", "message"), [
    ({"hall": "", "day": ""}, "This field is required"),
    ({"hall": "999999", "day": DAY.isoformat()}, "Select a valid choice"),
    ({"hall": "HALL", "day": "yesterday"}, "Enter a valid date"),
    ({"hall": "{hall}", "day": (timezone.localdate() + timedelta(days=1)).isoformat()}, "today or a past day"),
])
def test_compiling_bad_input_is_answered_on_the_form(as_role, hall, data, message):
    data = {k: v.replace("{hall}", str(hall.pk)) for k, v in data.items()}
    response = as_role("delivery_clerk").post(reverse("delivery:report_compile"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not DailyReport.objects.exists()


def test_opening_a_report_under_review_from_the_list_shows_it_unchanged(as_role, hall, ship):
    report = a_report(hall, status="checked")
    ship(hall, delivered_at=at(DAY), due="12.50", collected="12.50", method="cash")
    client = as_role("delivery_clerk")
    response = client.post(reverse("delivery:report_compile"), {"hall": hall.pk, "day": DAY.isoformat()}, follow=True)
    assert response.redirect_chain == [(report_url(report), 302)]
    assert "only recompiled after it is sent back to draft" in response.content.decode()
    assert DailyReport.objects.get(pk=report.pk).deliveries_count == 0


# --- the report page -----------------------------------------------------------------------

def test_the_report_shows_figures_by_method_deliveries_and_the_difference(as_role, hall, ship, make_user, monkeypatch):
    # given a day with cash and POS deliveries, one short, prepared with an explanation
    ship(hall, delivered_at=at(DAY, 9), due="100.00", collected="100.00", method="cash")
    ship(hall, delivered_at=at(DAY, 10), due="50.00", collected="45.00", method="cash")
    ship(hall, delivered_at=at(DAY, 11), due="199.00", collected="199.00", method="pos", pos_reference="POS-778")
    report = a_report(hall)
    money.daily_report_prepare(report_id=report.pk, by=make_user("delivery_clerk"), counted_cash=Decimal("145.00"),
                               explanation="Courier short 5 yuan")
    monkeypatch.setattr(money_views, "DELIVERIES_PER_PAGE", 2)

    # when the account clerk opens it
    response = as_role("account_clerk").get(report_url(report))
    body = response.content.decode()

    # then the figures, the per-method breakdown and the highlighted difference are there
    assert response.status_code == 200
    assert response.context["difference"] == Decimal("-5.00")
    assert '<strong class="error difference">-5.00</strong>' in body
    assert "145.00" in body and "349.00" in body and "344.00" in body
    assert "Courier short 5 yuan" in body and "Prepared" in body
    # and the day's deliveries are listed page by page
    assert [s.amount_due for s in response.context["deliveries"].object_list] == [Decimal("100.00"), Decimal("50.00")]
    second = as_role("account_clerk").get(report_url(report), {"page": 2})
    assert [s.pos_reference for s in second.context["deliveries"].object_list] == ["POS-778"]
    # and the history shows who prepared it
    assert [step["step"] for step in response.context["history"]] == ["Prepared"]


def test_prepare_through_the_page(as_role, hall, ship):
    ship(hall, delivered_at=at(DAY), due="30.00", collected="30.00", method="cash")
    report = a_report(hall)
    client = as_role("delivery_clerk")
    response = client.post(report_url(report, "report_prepare"), {
        "counted_cash": "29.50", "explanation": "50 fen missing", "figures": money.figures_stamp(report),
    })
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.counted_cash, report.prepared_by) == ("prepared", Decimal("29.50"), client.user)


@pytest.mark.parametrize(("data", "message"), [
    ({"counted_cash": "abc"}, "Enter a number"),
    ({"counted_cash": "-5"}, "greater than or equal to 0"),
    ({"counted_cash": "1.234"}, "no more than 2 decimal places"),
    ({"counted_cash": "1e3"}, "explain the difference first"),  # the form reads it as 1000.00: a difference
    ({"counted_cash": ""}, "This field is required"),
    ({"counted_cash": "25.00"}, "explain the difference first"),
    ({"counted_cash": "30.00", "figures": "stale"}, "The figures changed"),
])
def test_prepare_bad_input_is_answered_on_the_form_and_nothing_is_saved(as_role, hall, ship, data, message):
    ship(hall, delivered_at=at(DAY), due="30.00", collected="30.00", method="cash")
    report = a_report(hall)
    response = as_role("delivery_clerk").post(report_url(report, "report_prepare"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    report.refresh_from_db()
    assert (report.status, report.counted_cash) == ("draft", None)


def test_after_the_figures_changed_the_form_comes_back_with_the_new_ones_so_the_clerk_can_prepare(as_role, hall, ship):
    # given the clerk's page showed a day without deliveries
    report = a_report(hall)
    seen = money.figures_stamp(report)
    # when a delivery is recorded and refreshed in, and the clerk then prepares against the old figures
    ship(hall, delivered_at=at(DAY), due="30.00", collected="30.00", method="cash")
    a_report(hall)
    client = as_role("delivery_clerk")
    refused = client.post(report_url(report, "report_prepare"), {"counted_cash": "30.00", "figures": seen})
    # then it is refused, and the form carries the figures now shown, so the next attempt goes through
    assert refused.status_code == 422 and "The figures changed" in refused.content.decode()
    current = refused.context["prepare_form"]["figures"].value()
    assert current != seen
    assert client.post(report_url(report, "report_prepare"), {"counted_cash": "30.00", "figures": current}).status_code == 302
    assert DailyReport.objects.get(pk=report.pk).status == "prepared"


def test_check_approve_and_send_back_through_the_page(as_role, hall, make_user):
    report = a_report(hall)
    money.daily_report_prepare(report_id=report.pk, by=make_user("delivery_clerk"), counted_cash=Decimal(0))
    checker = as_role("account_clerk")
    assert checker.post(report_url(report, "report_verify"), {"note": "ok"}).status_code == 302
    assert DailyReport.objects.get(pk=report.pk).status == "checked"
    # a send back needs a reason
    response = as_role("account_supervisor").post(report_url(report, "report_send_back"), {"reason": ""})
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert as_role("account_supervisor").post(report_url(report, "report_send_back"), {"reason": "Recount"}).status_code == 302
    assert DailyReport.objects.get(pk=report.pk).status == "draft"


def test_the_page_refuses_the_preparer_checking_their_own_report(as_role, hall):
    client = as_role("admin")
    report = a_report(hall)
    money.daily_report_prepare(report_id=report.pk, by=client.user, counted_cash=Decimal(0))
    # the page offers no check, and says why
    page = client.get(report_url(report))
    assert "verify" not in page.context["actions"] and "someone else must check" in page.content.decode()
    # and a forged post is refused with the reason, not a 500
    response = client.post(report_url(report, "report_verify"), {"note": ""})
    assert response.status_code == 403
    assert "someone else must check" in response.content.decode()
    assert DailyReport.objects.get(pk=report.pk).status == "prepared"


def test_a_step_in_the_wrong_state_is_refused_with_a_message(as_role, hall):
    report = a_report(hall)
    response = as_role("account_supervisor").post(report_url(report, "report_approve"), {"note": ""})
    assert response.status_code == 409
    assert "not possible while the report is" in response.content.decode()


def test_an_approved_report_cannot_be_changed_through_any_page(as_role, hall, ship, make_user):
    # given an approved report, and a delivery of that day recorded afterwards
    report = a_report(hall)
    money.daily_report_prepare(report_id=report.pk, by=make_user("delivery_clerk"), counted_cash=Decimal(0))
    money.daily_report_verify(report_id=report.pk, by=make_user("account_clerk"))
    money.daily_report_approve(report_id=report.pk, by=make_user("account_supervisor"))
    ship(hall, delivered_at=at(DAY, 15), due="10.00", collected="10.00", method="cash")
    before = DailyReport.objects.values().get(pk=report.pk)
    client = as_role("admin")
    # when an administrator posts every action at it
    for name, data in [("report_refresh", {}), ("report_prepare", {"counted_cash": "10.00"}), ("report_verify", {}),
                       ("report_approve", {}), ("report_send_back", {"reason": "reopen"})]:
        response = client.post(report_url(report, name), data)
        # then each is refused and says the report is locked
        assert response.status_code == 409, name
        assert "approved and locked" in response.content.decode()
    client.post(reverse("delivery:report_compile"), {"hall": hall.pk, "day": DAY.isoformat()})
    assert DailyReport.objects.values().get(pk=report.pk) == before
    # and the page offers nothing
    assert client.get(report_url(report)).context["actions"] == []


# --- the export ----------------------------------------------------------------------------

def test_the_csv_lists_the_reports_deliveries_with_amounts(as_role, hall, ship):
    first = ship(hall, delivered_at=at(DAY, 9), due="100.00", collected="100.00", method="cash")
    second = ship(hall, delivered_at=at(DAY, 10), due="59.90", collected="59.90", method="pos", pos_reference="=HYPERLINK(1)")
    ship(hall, delivered_at=at(DAY - timedelta(days=1), 10), due="1.00", collected="1.00", method="cash")
    report = a_report(hall)
    response = as_role("account_clerk").get(report_url(report, "report_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"daily-report-{hall.code}-{DAY.isoformat()}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Shipment" and rows[0][-1] == "Collected (CNY)"
    assert [(r[0], r[5], r[6], r[7], r[8]) for r in rows[1:]] == [
        (str(first.pk), "Cash", "", "100.00", "100.00"),
        (str(second.pk), "Mobile POS", "'=HYPERLINK(1)", "59.90", "59.90"),
    ]
