"""The KPI pages: who may see what, the period form, the cards, breakdowns, drill-downs, ratings, areas and rebuilds.

The pages read real rollups: facts are made with known times, then ``kpi.rollups.recompute`` writes them.
"""
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus, WorkOrder
from kpi import rollups
from kpi.definitions import KPIS, Dimension
from kpi.facts import dimensions_of
from kpi.forms import PeriodForm, preset_period
from kpi.models import RebuildJob, Rollup, StarRating
from kpi.selectors import drill_rows, kpi_values
from orders.models import Opportunity, Order, OrderStatus
from servicedesk.models import Contact, ServiceArea, Subscription
from tests.factories import (
    ComplaintCategoryFactory, CustomerFactory, OpportunityFactory, ProductFactory, ServiceAreaFactory, SubscriptionFactory,
    TeamFactory, UserFactory,
)

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)
MARCH = {"first": "2026-03-01", "last": "2026-03-31"}


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


@dataclass
class March:
    alpha: object
    beta: object
    ann: object
    bob: object
    cai: object
    north: object
    south: object
    ann_complaints: list


def resolved(owner, when: datetime, *, category, customer=None, reopened=0, transferred=0, late=False) -> Complaint:
    """A complaint first resolved at ``when``; ``late`` puts the resolution after its deadline."""
    received = when - timedelta(hours=5)
    return Complaint.objects.create(
        customer=customer or CustomerFactory(), category=category, department=category.department, first_ask_owner=owner,
        description="No signal", status=ComplaintStatus.RESOLVED, received_at=received,
        due_at=received + (timedelta(hours=1) if late else timedelta(hours=48)), resolved_at=when, first_resolved_at=when,
        reopen_count=reopened, transfer_count=transferred, area=customer.area if customer else None,
    )


def recompute_all(first=FIRST - timedelta(days=5), last=LAST + timedelta(days=5)) -> None:
    for code in rollups.ALL_SOURCES:
        rollups.recompute(code, first, last)


def given_march() -> March:
    """Complaints first resolved in March 2026 (Asia/Shanghai), by agent and team:

    Ann (Alpha) 4: 3 at first contact, 1 reopened and late (one of them at 23:30 on 31 March);
    Bob (Alpha) 1 transferred; Cai (Beta) 2 at first contact. One of Ann's is resolved at
    00:10 on 1 April: not March. First-contact resolution: centre 5/7, Alpha 3/5, Beta 2/2, Ann 3/4."""
    alpha, beta = TeamFactory(name="Alpha"), TeamFactory(name="Beta")
    ann = UserFactory(username="ann", first_name="Ann", last_name="Lee", team=alpha, roles=["agent"])
    bob = UserFactory(username="bob", first_name="Bob", last_name="Wu", team=alpha, roles=["agent"])
    cai = UserFactory(username="cai", first_name="Cai", last_name="Lin", team=beta, roles=["agent"])
    north, south = ServiceAreaFactory(name="North"), ServiceAreaFactory(name="South")
    category = ComplaintCategoryFactory(name="No signal")
    in_north = CustomerFactory(area=north)
    ann_complaints = [
        resolved(ann, local(date(2026, 3, 2)), category=category, customer=in_north),
        resolved(ann, local(date(2026, 3, 9)), category=category, customer=in_north),
        resolved(ann, local(date(2026, 3, 31), 23, 30), category=category),
        resolved(ann, local(date(2026, 3, 20)), category=category, reopened=1, late=True),
    ]
    resolved(ann, local(date(2026, 4, 1), 0, 10), category=category)
    resolved(bob, local(date(2026, 3, 5)), category=category, transferred=1)
    resolved(cai, local(date(2026, 3, 6)), category=category, customer=CustomerFactory(area=south))
    resolved(cai, local(date(2026, 3, 7)), category=category)
    recompute_all()
    return March(alpha, beta, ann, bob, cai, north, south, ann_complaints)


@pytest.fixture
def march(db):
    return given_march()


def manager_client(client, make_user, *roles):
    client.force_login(make_user(*(roles or ["manager"])))
    return client


def dashboard(client, **params):
    return client.get(reverse("kpi:dashboard"), {**MARCH, **params})


def card(response, code):
    return next(c for c in response.context["cards"] if c.kpi.code == code)


# --- permissions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "roles", "status"), [
    ("kpi:dashboard", ["manager"], 200), ("kpi:dashboard", ["admin"], 200), ("kpi:dashboard", ["agent"], 403),
    ("kpi:dashboard", ["area_manager"], 403), ("kpi:dashboard", ["api_client"], 200),
    ("kpi:mine", ["agent"], 200), ("kpi:mine", ["complaint_handler"], 200),
    ("kpi:ratings", ["manager"], 200), ("kpi:ratings", ["agent"], 403), ("kpi:ratings", ["area_manager"], 403),
    ("kpi:areas", ["manager"], 200), ("kpi:areas", ["area_manager"], 200), ("kpi:areas", ["agent"], 403),
    ("kpi:rebuild", ["manager"], 200), ("kpi:rebuild", ["area_manager"], 403), ("kpi:rebuild", ["agent"], 403),
])
def test_each_page_is_open_to_the_roles_that_need_it_and_refused_to_the_others(client, make_user, name, roles, status):
    client.force_login(make_user(*roles))
    assert client.get(reverse(name)).status_code == status


@pytest.mark.parametrize("name", ["kpi:dashboard", "kpi:drill", "kpi:mine", "kpi:ratings", "kpi:areas", "kpi:rebuild"])
def test_every_page_sends_the_anonymous_to_the_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- the dashboard -----------------------------------------------------------------------------

def test_the_dashboard_shows_every_kpi_with_its_value_target_counts_and_state(client, make_user, march):
    response = dashboard(manager_client(client, make_user))

    assert response.status_code == 200
    assert [c.kpi.code for c in response.context["cards"]] == list(KPIS)
    fcr = card(response, "fcr")
    assert (fcr.shown, fcr.value.numerator, fcr.value.denominator, fcr.state) == ("71.43%", 5, 7, "met")
    assert (fcr.target_shown, fcr.source_tag) == ("≥ 40%", "[AH]")
    timeliness = card(response, "complaint_timeliness")
    assert (timeliness.shown, timeliness.state, timeliness.source_tag) == ("85.71%", "not_met", "our own target")
    html = response.content.decode()
    assert 'data-testid="kpi-card-fcr"' in html and "71.43%" in html and "5 of 7" in html


def test_a_kpi_with_an_empty_denominator_shows_no_data_never_zero_or_a_hundred_percent(client, make_user, march):
    response = dashboard(manager_client(client, make_user))

    satisfaction = card(response, "satisfaction")  # no callback was scored in March
    assert (satisfaction.shown, satisfaction.state, satisfaction.drill_url) == ("no data", "no_data", "")
    html = response.content.decode()
    start = html.index('data-testid="kpi-card-satisfaction"')
    card_html = html[start:html.index("</li>", start)]
    assert '<span data-testid="kpi-value">no data</span>' in card_html and "No data" in card_html


def test_the_dashboard_says_when_the_figures_were_computed(client, make_user, march):
    response = dashboard(manager_client(client, make_user))
    assert response.context["computed_at"] is not None
    assert "Figures as of" in response.content.decode()


def test_before_any_rollup_the_dashboard_says_so_and_offers_the_rebuild(client, make_user):
    response = dashboard(manager_client(client, make_user))
    assert response.status_code == 200
    assert "have not been computed yet" in response.content.decode()
    assert reverse("kpi:rebuild") in response.content.decode()


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"first": "2026-13-01", "last": "2026-03-31"}, "first", "Enter a valid date."),
    ({"first": "yesterday", "last": "2026-03-31"}, "first", "Enter a valid date."),
    ({"first": "2026-03-31", "last": "2026-03-01"}, "last", "The last day is before the first."),
    ({"first": "2020-01-01", "last": "2026-03-31"}, "first", "Choose at most 1098 days (about three years)."),
    ({"first": "1900-01-01", "last": "1900-01-02"}, "first", "Choose a day between 2000 and 2100."),
    ({"first": "2026-03-01", "last": ""}, "last", "Give both the first and the last day."),
])
def test_a_bad_period_is_a_clear_form_error_and_the_page_shows_this_month_meanwhile(client, make_user, params, field, message):
    client.force_login(make_user("manager"))

    response = client.get(reverse("kpi:dashboard"), params)

    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert message in response.content.decode()
    assert (response.context["first"], response.context["last"]) == preset_period("this_month", timezone.localdate())
    assert "until the filters are corrected" in response.content.decode()


@pytest.mark.parametrize(("params", "field"), [({"preset": "next_decade"}, "preset"), ({"kpi": "happiness"}, "kpi"), ({"dimension": "x"}, "dimension")])
def test_a_bad_choice_is_a_form_error_and_the_rest_of_the_filters_still_apply(client, make_user, march, params, field):
    client.force_login(make_user("manager"))

    response = client.get(reverse("kpi:dashboard"), {**MARCH, **params})

    assert response.status_code == 400
    assert "Select a valid choice." in response.context["form"].errors[field][0]
    assert (response.context["first"], response.context["last"]) == (FIRST, LAST)
    assert card(response, "fcr").shown == "71.43%"


@pytest.mark.parametrize(("preset", "first", "last"), [
    ("today", date(2026, 3, 18), date(2026, 3, 18)),
    ("yesterday", date(2026, 3, 17), date(2026, 3, 17)),
    ("this_week", date(2026, 3, 16), date(2026, 3, 18)),   # Monday to today
    ("this_month", date(2026, 3, 1), date(2026, 3, 31)),
    ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
    ("last_30_days", date(2026, 2, 17), date(2026, 3, 18)),
])
def test_a_preset_sets_the_first_and_last_day(preset, first, last):
    form = PeriodForm({"preset": preset, "first": "2020-01-01", "last": "2020-01-02"}, today=date(2026, 3, 18))
    assert form.is_valid(), form.errors
    assert form.period() == (first, last)
    assert form["first"].value() == first.isoformat()  # the fields show the days the page is about


def test_no_period_given_is_this_month():
    assert PeriodForm({}, today=date(2026, 2, 10)).period() == (date(2026, 2, 1), date(2026, 2, 28))


def test_the_trend_has_every_day_of_the_period_with_gaps_and_the_target(client, make_user, march):
    response = dashboard(manager_client(client, make_user), kpi="fcr")

    data = response.context["trend"]["data"]
    assert len(data["labels"]) == 31 and data["labels"][0] == "2026-03-01"
    assert data["values"][1] == 100.0 and data["values"][19] == 0.0 and data["values"][0] is None
    assert data["target"] == 40.0
    html = response.content.decode()
    assert 'id="trend-data"' in html and "vendor/chart.umd.min.js" in html


# --- the breakdown -----------------------------------------------------------------------------

def test_the_breakdown_lists_each_group_with_a_link_per_number_to_its_rows(client, make_user, march):
    response = dashboard(manager_client(client, make_user), dimension="agent")

    rows = {row.label: row for row in response.context["page"].object_list}
    codes = [k.code for k in response.context["columns"]]
    assert "complaint_rate" not in codes  # not per agent: its denominator is subscriptions by area
    ann = rows["Ann Lee"].cells[codes.index("fcr")]
    assert (ann[0].numerator, ann[0].denominator, ann[2]) == (3, 4, "75.00%")
    assert f"key={march.ann.pk}" in ann[1] and "kpi=fcr" in ann[1] and "dimension=agent" in ann[1]
    assert rows["Bob Wu"].cells[codes.index("fcr")][2] == "0.00%"
    no_callbacks = rows["Ann Lee"].cells[codes.index("satisfaction")]
    assert (no_callbacks[1], no_callbacks[2]) == ("", "no data")


def test_the_breakdown_by_team_sums_its_agents(client, make_user, march):
    response = dashboard(manager_client(client, make_user), dimension="team")

    codes = [k.code for k in response.context["columns"]]
    shown = {row.label: row.cells[codes.index("fcr")][2] for row in response.context["page"].object_list}
    assert shown == {"Alpha": "60.00%", "Beta": "100.00%"}


def test_the_breakdown_is_paginated_by_25(client, make_user, march):
    category = ComplaintCategoryFactory()
    for n in range(27):
        resolved(UserFactory(first_name="Agent", last_name=f"{n:02d}"), local(date(2026, 3, 3)), category=category)
    recompute_all()
    client = manager_client(client, make_user)

    first_page = dashboard(client, dimension="agent").context["page"]
    last_page = dashboard(client, dimension="agent", page="2").context["page"]

    assert first_page.paginator.count == 30 and len(first_page.object_list) == 25 and len(last_page.object_list) == 5
    # and the second page's numbers, like the first's, each open their own group's rows
    columns = len(dashboard(client, dimension="agent").context["columns"])
    for row in [*first_page.object_list, *last_page.object_list]:
        assert len(row.cells) == columns
        links = [link for value, link, _text in row.cells if value.value is not None]
        assert links and all(f"key={row.key}&" in link or link.endswith(f"key={row.key}") for link in links)


# --- the drill-down ------------------------------------------------------------------------------

def drill(client, kpi, dimension="all", key="", **params):
    return client.get(reverse("kpi:drill"), {"kpi": kpi, **MARCH, "dimension": dimension, "key": key, **params})


@pytest.mark.parametrize(("dimension", "who", "expected"), [
    ("all", None, (5, 7)), ("agent", "ann", (3, 4)), ("team", "alpha", (3, 5)), ("team", "beta", (2, 2)),
    ("area", "north", (2, 2)), ("area", None, (2, 4)),  # no area: the complaints of customers without one
])
def test_the_drill_down_lists_exactly_the_rows_behind_the_number_clicked(client, make_user, march, dimension, who, expected):
    key = "" if who is None else str(getattr(march, who).pk)
    client = manager_client(client, make_user)
    clicked = kpi_values(["fcr"], FIRST, LAST, dimension=dimension, keys=[key])["fcr"][key]

    response = drill(client, "fcr", dimension, key)

    totals = response.context["totals"]
    assert (totals.value.numerator, totals.value.denominator) == (clicked.numerator, clicked.denominator) == expected
    assert totals.agrees and totals.rows == expected[1] == response.context["page"].paginator.count
    assert response.context["value_shown"] == ("%.2f%%" % (100 * expected[0] / expected[1]))


def test_the_drill_down_of_ann_shows_her_march_complaints_with_links_and_measures(client, make_user, march):
    response = drill(manager_client(client, make_user), "fcr", "agent", str(march.ann.pk))

    rows = response.context["rows"]
    assert sorted(r["pk"] for r in rows) == sorted(c.pk for c in march.ann_complaints)
    assert {r["pk"]: r["numerator"] for r in rows}[march.ann_complaints[3].pk] == 0  # the reopened one
    assert all(r["denominator"] == 1 for r in rows)
    assert rows[0]["url"] == reverse("complaints:detail", args=[rows[0]["pk"]])
    html = response.content.decode()
    assert "complaints resolved without a reopen or a transfer" in html  # the definition is restated
    assert 'data-testid="drill-numerator">3<' in html and 'data-testid="drill-denominator">4<' in html


def test_the_drill_down_names_what_a_row_refers_to(client, make_user, march):
    response = drill(manager_client(client, make_user), "appeal_share", "agent", str(march.cai.pk), first="2026-03-06", last="2026-03-07")

    categories = [row["cells"][1][0] for row in response.context["rows"]]  # received_at, category, ...
    assert categories == ["No signal", "No signal"]


def test_the_drill_down_says_so_when_the_rows_moved_since_the_rollup(client, make_user, march):
    Complaint.objects.filter(pk=march.ann_complaints[0].pk).update(reopen_count=2)

    response = drill(manager_client(client, make_user), "fcr", "agent", str(march.ann.pk))

    totals = response.context["totals"]
    assert (totals.value.numerator, totals.rollup.numerator) == (2, 3) and not totals.agrees
    assert 'data-testid="drill-stale"' in response.content.decode()


@pytest.mark.parametrize(("params", "status"), [
    ({"kpi": "happiness"}, 404),
    ({"kpi": "fcr", "dimension": "galaxy"}, 404),
    ({"kpi": "complaint_rate", "dimension": "agent", "key": "1"}, 404),  # not groupable by agent
    ({"kpi": "fcr", "dimension": "agent", "key": "9" * 41}, 404),
    ({"kpi": "fcr", "dimension": "all", "key": "7"}, 404),  # the whole centre has no groups
    ({"kpi": "fcr", "first": "2026-03-31", "last": "2026-01-01"}, 400),
])
def test_a_drill_down_of_something_that_is_not_a_kpi_number_is_refused_not_a_500(client, make_user, params, status):
    client.force_login(make_user("manager"))
    assert client.get(reverse("kpi:drill"), {**MARCH, **params}).status_code == status


def test_an_agent_may_drill_into_their_own_numbers_only(client, march):
    client.force_login(march.ann)
    assert drill(client, "fcr", "agent", str(march.ann.pk)).status_code == 200
    assert drill(client, "fcr", "agent", str(march.bob.pk)).status_code == 403
    assert drill(client, "fcr").status_code == 403


def test_an_area_manager_may_drill_into_their_own_areas_only(client, make_user, march):
    boss = make_user("area_manager")
    march.north.manager = boss
    march.north.save()
    client.force_login(boss)
    assert drill(client, "fcr", "area", str(march.north.pk)).status_code == 200
    assert drill(client, "fcr", "area", str(march.south.pk)).status_code == 403


def test_the_drill_down_masks_phone_numbers_in_free_text(client, make_user):
    agent = UserFactory()
    Contact.objects.create(customer=CustomerFactory(), channel="hotline", agent=agent, reason="Call back on 13812345678",
                           outcome="resolved", started_at=local(date(2026, 3, 4)), ended_at=local(date(2026, 3, 4), 10, 5))
    recompute_all()

    response = drill(manager_client(client, make_user), "contact_volume")

    html = response.content.decode()
    assert "138****5678" in html and "13812345678" not in html


def test_for_every_kpi_and_grouping_the_drill_down_totals_equal_the_dashboard_number(client, make_user, rolled_up):
    """Over the generated world (tests/kpi/generate.py): every KPI, every grouping, every group it has
    (the page itself for each KPI's biggest group of each grouping; the totals it shows for all the others)."""
    from kpi.views.dashboard import _totals
    from tests.kpi.generate import FIRST_DAY, LAST_DAY

    client.force_login(make_user("manager"))
    period = {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
    pages = groups = 0
    for code in KPIS:
        for dimension in dimensions_of(code):
            clicked = {key: v for key, v in kpi_values([code], FIRST_DAY, LAST_DAY, dimension=dimension)[code].items() if v.value is not None}
            for key, value in clicked.items():
                rows = drill_rows(code, FIRST_DAY, LAST_DAY, dimension=dimension, key=key)
                totals = _totals(KPIS[code], rows, FIRST_DAY, LAST_DAY, dimension, key)
                assert (totals.value.numerator, totals.value.denominator) == (value.numerator, value.denominator), (code, dimension, key)
                groups += 1
            if clicked:
                key, value = max(clicked.items(), key=lambda item: (item[1].denominator, item[0]))
                response = client.get(reverse("kpi:drill"), {"kpi": code, **period, "dimension": dimension, "key": key})
                shown = (response.context["totals"].value.numerator, response.context["totals"].value.denominator)
                assert shown == (value.numerator, value.denominator), (code, dimension, key)
                pages += 1
    assert pages > 60 and groups > 300


# --- the agent's own page ---------------------------------------------------------------------

def given_rating(agent, month=date(2026, 3, 1), stars=4):
    return StarRating.objects.create(
        month=month, subject=StarRating.Subject.AGENT, agent=agent, stars=stars, score=Decimal("0.9000"),
        basis={"fcr": {"numerator": 3, "denominator": 4, "value": "75.00", "target": "40", "attainment": "1.0000", "weight": 2},
               "complaint_timeliness": {"numerator": 3, "denominator": 4, "value": "75.00", "target": "90",
                                        "attainment": "0.8333", "weight": 2}},
    )


def test_an_agent_sees_their_own_numbers_their_stars_with_the_basis_and_the_rule(client, march):
    given_rating(march.ann)
    given_rating(march.bob, stars=1)
    client.force_login(march.ann)

    response = client.get(reverse("kpi:mine"), MARCH)

    assert response.status_code == 200
    fcr = card(response, "fcr")
    assert (fcr.shown, fcr.value.numerator, fcr.value.denominator) == ("75.00%", 3, 4)
    assert f"key={march.ann.pk}" in fcr.drill_url
    assert "complaint_rate" not in [c.kpi.code for c in response.context["cards"]]
    [(rating, stars, basis)] = response.context["history"]
    assert rating.agent == march.ann and stars == "★★★★☆"
    assert [(b.code, b.value, b.target, b.weight) for b in basis] == [("fcr", "75.00%", "40%", 2), ("complaint_timeliness", "75.00%", "90%", 2)]
    html = response.content.decode()
    assert "weighted mean of the attainments" in html and "0.8333" in html


def test_an_agent_without_numbers_sees_no_data_and_no_rating(client, make_user):
    client.force_login(make_user("agent"))
    response = client.get(reverse("kpi:mine"))
    cards = {c.kpi.code: c.shown for c in response.context["cards"]}
    # A count of nothing is 0; every ratio with nothing under it is "no data", never 0 % or 100 %.
    assert cards.pop("contact_volume") == "0"
    assert set(cards.values()) == {"no data"}
    assert response.context["history"] == []


# --- ratings ---------------------------------------------------------------------------------------

def test_the_ratings_of_a_month_show_stars_score_and_basis(client, make_user, march):
    given_rating(march.ann, stars=5)
    given_rating(march.bob, stars=2)
    given_rating(march.bob, month=date(2026, 2, 1), stars=3)
    StarRating.objects.create(month=date(2026, 3, 1), subject="team", team=march.alpha, stars=3, score=Decimal("0.7500"), basis={})
    client.force_login(make_user("manager"))

    response = client.get(reverse("kpi:ratings"), {"month": "2026-03"})

    assert [(name, stars) for _r, name, stars, _b in response.context["rows"]] == [
        ("Ann Lee", "★★★★★"), ("Bob Wu", "★★☆☆☆"), ("Alpha", "★★★☆☆"),
    ]
    teams_only = client.get(reverse("kpi:ratings"), {"month": "2026-03", "subject": "team"})
    assert [name for _r, name, _s, _b in teams_only.context["rows"]] == ["Alpha"]


def test_the_ratings_page_shows_the_latest_rated_month_by_default(client, make_user, march):
    given_rating(march.ann, month=date(2026, 2, 1))
    client.force_login(make_user("manager"))
    assert client.get(reverse("kpi:ratings")).context["month"] == date(2026, 2, 1)


@pytest.mark.parametrize("month", ["2026-13", "March", "1999-01", "2026-3"])
def test_a_bad_month_is_a_form_error(client, make_user, month):
    client.force_login(make_user("manager"))
    response = client.get(reverse("kpi:ratings"), {"month": month})
    assert response.status_code == 400
    assert "Give the month as YYYY-MM" in response.content.decode()


def test_the_ratings_export_as_csv(client, make_user, march):
    given_rating(march.ann, stars=5)
    client.force_login(make_user("manager"))

    response = client.get(reverse("kpi:ratings"), {"month": "2026-03", "format": "csv"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["Rated", "Name", "Team", "Stars", "Score"]
    ann = dict(zip(header, rows[1], strict=True))
    assert (ann["Name"], ann["Team"], ann["Stars"], ann["Score"]) == ("Ann Lee", "Alpha", "5", "0.9000")
    assert ann[str(KPIS["fcr"].name)] == "75.00" and ann[str(KPIS["satisfaction"].name)] == ""


# --- areas ------------------------------------------------------------------------------------------

def test_an_area_manager_sees_only_the_areas_they_manage(client, make_user, march):
    boss = make_user("area_manager")
    march.north.manager = boss
    march.north.save()
    client.force_login(boss)

    listed = client.get(reverse("kpi:areas"))

    assert [area.pk for area, _n in listed.context["rows"]] == [march.north.pk]
    assert client.get(reverse("kpi:area", args=[march.north.pk])).status_code == 200
    assert client.get(reverse("kpi:area", args=[march.south.pk])).status_code == 404
    assert client.get(reverse("kpi:area", args=[999999])).status_code == 404


def test_a_manager_sees_every_area(client, make_user, march):
    client.force_login(make_user("manager"))
    listed = client.get(reverse("kpi:areas"))
    listed_areas = {area.pk for area, _n in listed.context["rows"]}
    assert {march.north.pk, march.south.pk} <= listed_areas and listed.context["page"].paginator.count == ServiceArea.objects.count()
    assert client.get(reverse("kpi:area", args=[march.south.pk])).status_code == 200


def test_the_area_page_shows_customers_open_work_revenue_and_performance(client, make_user, march):
    north = march.north
    customer = CustomerFactory(area=north, name="Zhao Lei")
    SubscriptionFactory(customer=customer, service_number="13912345678", monthly_spend=Decimal("129.00"))
    SubscriptionFactory(customer=customer, monthly_spend=Decimal("58.50"))
    SubscriptionFactory(customer=customer, monthly_spend=Decimal("1000.00"), status=Subscription.Status.CLOSED)
    SubscriptionFactory(customer=CustomerFactory(area=march.south), monthly_spend=Decimal("77.00"))
    product = ProductFactory()
    Order.objects.create(customer=customer, product=product, flow=product.category.flow, created_by=march.ann)
    Order.objects.create(customer=customer, product=product, flow=product.category.flow, created_by=march.ann, status=OrderStatus.CANCELLED)
    OpportunityFactory(customer=customer)
    OpportunityFactory(customer=customer, status=Opportunity.Status.LOST)
    open_complaint = Complaint.objects.create(
        customer=customer, category=ComplaintCategoryFactory(), first_ask_owner=march.ann, description="x",
        due_at=timezone.now() + timedelta(days=1),
    )
    WorkOrder.objects.create(complaint=open_complaint, department=open_complaint.category.department, kind=WorkOrder.Kind.REPAIR,
                             due_at=timezone.now() + timedelta(hours=4))
    boss = make_user("area_manager")
    north.manager = boss
    north.save()
    client.force_login(boss)

    response = client.get(reverse("kpi:area", args=[north.pk]), MARCH)

    assert response.status_code == 200
    assert response.context["customer_count"] == 2  # the one with Ann's March complaints, and Zhao Lei
    work = response.context["work"]
    # open: the submitted order, the open opportunity, the new complaint and Ann's two resolved ones awaiting their callback
    assert (work.orders, work.complaints, work.opportunities) == (1, 3, 1)
    assert list(work.work_orders.values()) == [0, 1]  # handling, repair
    assert response.context["revenue"] == {"total": Decimal("187.50"), "lines": 2}
    fcr = card(response, "fcr")
    assert (fcr.value.numerator, fcr.value.denominator) == (2, 2)
    assert f"dimension=area&key={north.pk}" in fcr.drill_url
    html = response.content.decode()
    assert "139****5678" in html and "13912345678" not in html


def test_the_area_performance_exports_as_xlsx(client, make_user, march):
    from openpyxl import load_workbook

    client.force_login(make_user("manager"))
    response = client.get(reverse("kpi:area", args=[march.north.pk]), {**MARCH, "format": "xlsx"})

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("KPI", "Value", "Unit", "Target", "Numerator", "Denominator", "Met")
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name[str(KPIS["fcr"].name)][1:] == (100, "%", "≥ 40%", 2, 2, "yes")
    assert by_name[str(KPIS["satisfaction"].name)][1] is None and by_name[str(KPIS["satisfaction"].name)][6] is None


# --- rebuild ----------------------------------------------------------------------------------------

def test_a_manager_starts_a_rebuild_and_follows_its_progress(client, make_user, march, django_capture_on_commit_callbacks):
    Rollup.objects.all().delete()
    client.force_login(make_user("manager"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("kpi:rebuild"), {"first_day": "2026-03-01", "last_day": "2026-03-31"})

    job = RebuildJob.objects.get()  # the task ran in-process, after the commit
    assert response.status_code == 302 and response["Location"] == reverse("kpi:rebuild_status", args=[job.pk])
    assert job.status == RebuildJob.Status.DONE and job.percent == 100
    assert kpi_values(["fcr"], FIRST, LAST)["fcr"][""].numerator == 5
    page = client.get(response["Location"])
    assert "100%" in page.content.decode() and "hx-trigger" not in page.content.decode()
    assert job.first_day.isoformat() in client.get(reverse("kpi:rebuild")).content.decode()


def test_a_running_rebuild_is_polled_every_two_seconds(client, make_user):
    job = RebuildJob.objects.create(first_day=FIRST, last_day=LAST, status=RebuildJob.Status.RUNNING, total_steps=12, done_steps=3)
    client.force_login(make_user("manager"))

    partial = client.get(reverse("kpi:rebuild_status", args=[job.pk]), HTTP_HX_REQUEST="true")

    html = partial.content.decode()
    assert "<html" not in html and 'hx-trigger="every 2s"' in html and "25%" in html and "3 of 12 steps" in html


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"first_day": "2026-03-31", "last_day": "2026-03-01"}, "last_day", "The last day is before the first."),
    ({"first_day": "2026-03-01", "last_day": ""}, "last_day", "This field is required."),
    ({"first_day": "2010-01-01", "last_day": "2026-03-01"}, "first_day", "Rebuild at most ten years at a time."),
])
def test_a_bad_rebuild_request_is_refused_with_the_reason(client, make_user, data, field, message):
    client.force_login(make_user("manager"))
    response = client.post(reverse("kpi:rebuild"), data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert not RebuildJob.objects.exists()


def test_an_agent_may_not_start_a_rebuild(client, make_user):
    client.force_login(make_user("agent"))
    assert client.post(reverse("kpi:rebuild"), {"first_day": "2026-03-01", "last_day": "2026-03-31"}).status_code == 403
    assert not RebuildJob.objects.exists()


@pytest.mark.parametrize("dimension", [d for d in Dimension.values if d != "all"])
def test_every_grouping_renders(client, make_user, march, dimension):
    assert dashboard(manager_client(client, make_user), dimension=dimension).status_code == 200


def test_the_groups_of_a_period_are_found_without_reading_their_rows(db):
    # given rollup rows of three agents on different days, one row without an agent, and a team's
    from kpi.models import Rollup
    from kpi.selectors import group_keys

    for day, dimension, key in [
        (date(2026, 3, 1), "agent", "7"), (date(2026, 3, 5), "agent", "12"), (date(2026, 3, 9), "agent", "3"),
        (date(2026, 3, 5), "agent", ""), (date(2026, 3, 5), "team", "4"),
    ]:
        Rollup.objects.create(day=day, kpi="fcr", dimension=dimension, key=key, numerator=1, denominator=1)

    # then the groups of a period are the keys with a row on one of its days, of that grouping only
    assert sorted(group_keys("agent", date(2026, 3, 1), date(2026, 3, 31))) == ["", "12", "3", "7"]
    assert sorted(group_keys("agent", date(2026, 3, 2), date(2026, 3, 8))) == ["", "12"]
    assert group_keys("agent", date(2026, 4, 1), date(2026, 4, 30)) == []
    assert group_keys("team", date(2026, 3, 1), date(2026, 3, 31)) == ["4"]
