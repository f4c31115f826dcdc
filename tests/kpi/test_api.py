"""The KPI reporting API: the dashboards' numbers for external reporting, in the API's one error shape."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kpi import rollups, selectors
from kpi.definitions import KPIS
from kpi.facts import dimensions_of
from servicedesk.models import Channel
from servicedesk.roles import Role
from tests.factories import CallbackFactory, ComplaintFactory, ContactFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
PATHS = ["/api/v1/kpi/definitions/", "/api/v1/kpi/values/", "/api/v1/kpi/trend/?kpi=satisfaction"]


def at(day: date, hour: int = 12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def scored(day: date, score: int, *, owner, channel=Channel.HOTLINE, appeal=False):
    """A complaint received and called back on ``day``, scored ``score`` of 5."""
    complaint = ComplaintFactory(first_ask_owner=owner, channel=channel, received_at=at(day, 9), appeal=appeal)
    return CallbackFactory(complaint=complaint, status="completed", satisfaction=score, completed_at=at(day, 15))


def recompute(first=FIRST, last=LAST):
    for code in (*rollups.SOURCES, rollups.SNAPSHOT):
        rollups.recompute(code, first, last)


@pytest.fixture
def manager(api_for):
    return api_for(Role.MANAGER)


@pytest.fixture
def agents():
    team = TeamFactory()
    return UserFactory(first_name="李", last_name="一", team=team), UserFactory(first_name="王", last_name="二", team=team)


@pytest.fixture
def october(agents):
    one, two = agents
    for day, score, owner in [(date(2026, 10, 2), 5, one), (date(2026, 10, 2), 2, one), (date(2026, 10, 9), 4, two),
                              (date(2026, 10, 9), 5, two), (date(2026, 10, 30), 3, two)]:
        scored(day, score, owner=owner, channel=Channel.WALK_IN if owner == two else Channel.HOTLINE, appeal=score == 2)
    ContactFactory(agent=one, started_at=at(date(2026, 10, 5)), ended_at=at(date(2026, 10, 5)) + timedelta(seconds=200))
    recompute()
    return agents


def values(client, **params):
    response = client.get("/api/v1/kpi/values/", {"first": FIRST, "last": LAST, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_definitions_list_every_kpi_with_target_and_groupings(manager):
    response = manager.get("/api/v1/kpi/definitions/")

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()}
    assert list(rows) == list(KPIS)
    satisfaction = rows["satisfaction"]
    assert satisfaction["target"] == "80.00" and satisfaction["op"] == ">=" and satisfaction["target_source"] == "[AH]"
    assert satisfaction["kind"] == "percent" and satisfaction["unit"] == "%"
    assert satisfaction["numerator"] and satisfaction["denominator"]
    assert rows["delivery_success"]["dimensions"] == dimensions_of("delivery_success")
    assert "carrier" in rows["delivery_success"]["dimensions"] and "carrier" not in satisfaction["dimensions"]
    assert rows["channel_share"]["target"] is None


@pytest.mark.parametrize("group_by", ["all", "agent", "team", "channel"])
def test_values_are_the_selectors_values(manager, october, group_by):
    # when satisfaction, appeal share and handling time are asked for by a grouping
    codes = ["satisfaction", "appeal_share", "aht"]
    body = values(manager, kpi=codes, group_by=group_by)

    # then every row is what kpi_values computes from the rollups, label and target included
    expected = selectors.kpi_values(codes, FIRST, LAST, dimension=group_by)
    labels = selectors.group_labels(group_by, {k for by_key in expected.values() for k in by_key})
    got = {(row["kpi"], row["key"]): row for row in body["results"]}
    assert body["count"] == len(got) == sum(len(by_key) for by_key in expected.values())
    for code, by_key in expected.items():
        for key, value in by_key.items():
            row = got[(code, key)]
            assert (row["numerator"], row["denominator"]) == (value.numerator, value.denominator)
            assert row["value"] == (None if value.value is None else f"{value.value:.2f}")
            assert row["met"] == value.met and row["group_by"] == group_by
            if group_by != "all":
                assert row["label"] == labels[key]


def test_values_agree_with_the_raw_rows(manager, october):
    one, two = october

    body = values(manager, kpi="satisfaction,appeal_share", group_by="agent")

    got = {(row["kpi"], row["key"]): row for row in body["results"]}
    # agent one: a 5 and a 2; agent two: 4, 5 and 3
    assert got[("satisfaction", str(one.pk))] | {"label": ""} == {
        "kpi": "satisfaction", "group_by": "agent", "key": str(one.pk), "label": "", "numerator": 1, "denominator": 2,
        "value": "50.00", "target": "80.00", "met": False,
    }
    assert got[("satisfaction", str(one.pk))]["label"] == one.get_full_name()
    assert got[("satisfaction", str(two.pk))]["value"] == "66.67"
    assert got[("appeal_share", str(one.pk))]["value"] == "50.00" and got[("appeal_share", str(one.pk))]["met"] is False
    assert got[("appeal_share", str(two.pk))]["value"] == "0.00" and got[("appeal_share", str(two.pk))]["met"] is True


def test_a_kpi_without_data_is_null_not_zero(manager, october):
    one, _two = october

    # when a period without any callback is asked for
    body = values(manager, kpi="satisfaction", first="2026-09-01", last="2026-09-30")

    # then the centre's row says "no data"
    assert body["results"] == [{
        "kpi": "satisfaction", "group_by": "all", "key": "", "label": "Whole centre", "numerator": 0, "denominator": 0,
        "value": None, "target": "80.00", "met": None,
    }]
    # and a group asked for by key that has no data is listed, null
    body = values(manager, kpi="satisfaction", group_by="agent", key=[str(one.pk), "999999"])
    by_key = {row["key"]: row for row in body["results"]}
    assert by_key[str(one.pk)]["value"] == "50.00"
    assert by_key["999999"]["value"] is None and by_key["999999"]["denominator"] == 0


def test_defaults_are_every_kpi_for_the_whole_centre_this_month(manager):
    # given one callback today
    today = timezone.localdate()
    scored(today, 5, owner=UserFactory())
    recompute(today, today)

    response = manager.get("/api/v1/kpi/values/", {"page_size": 100})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["kpi"] for row in rows] == list(KPIS)
    assert {row["group_by"] for row in rows} == {"all"}
    satisfaction = next(row for row in rows if row["kpi"] == "satisfaction")
    assert satisfaction["value"] == "100.00" and satisfaction["met"] is True


def test_values_are_paginated_as_the_other_lists(manager, october):
    first_page = values(manager, page_size=5)

    assert first_page["count"] == len(KPIS)
    assert len(first_page["results"]) == 5 and first_page["next"] and first_page["previous"] is None
    rest = values(manager, page_size=5, page=4)
    assert len(rest["results"]) == len(KPIS) - 15


def test_trend_is_the_kpi_day_by_day(manager, october):
    _one, two = october

    response = manager.get("/api/v1/kpi/trend/", {"kpi": "satisfaction", "first": FIRST, "last": LAST})

    assert response.status_code == 200
    body = response.json()
    assert (body["kpi"], body["group_by"], body["key"], body["target"]) == ("satisfaction", "all", "", "80.00")
    assert body["points"] == [
        {"day": "2026-10-02", "numerator": 1, "denominator": 2, "value": "50.00", "met": False},
        {"day": "2026-10-09", "numerator": 2, "denominator": 2, "value": "100.00", "met": True},
        {"day": "2026-10-30", "numerator": 0, "denominator": 1, "value": "0.00", "met": False},
    ]
    expected = selectors.kpi_trend("satisfaction", FIRST, LAST, dimension="agent", key=str(two.pk))
    body = manager.get("/api/v1/kpi/trend/", {"kpi": "satisfaction", "first": FIRST, "last": LAST, "group_by": "agent", "key": two.pk}).json()
    assert [(p["day"], p["numerator"], p["denominator"]) for p in body["points"]] == [
        (day.isoformat(), v.numerator, v.denominator) for day, v in expected
    ]
    assert body["label"] == two.get_full_name() and len(body["points"]) == 2


def assert_error(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == "invalid", body
    assert body["message"] and list(body["detail"]) == [field], body
    assert all(isinstance(m, str) and m for m in body["detail"][field])


BAD_VALUES = [
    pytest.param({"kpi": "happiness"}, "kpi", id="unknown-kpi"),
    pytest.param({"kpi": "satisfaction,nps"}, "kpi", id="unknown-kpi-in-a-list"),
    pytest.param({"first": "2026-13-01"}, "first", id="no-such-month"),
    pytest.param({"last": "yesterday"}, "last", id="not-a-date"),
    pytest.param({"first": "2026-11-02", "last": "2026-11-01"}, "last", id="last-before-first"),
    pytest.param({"first": "2022-01-01", "last": "2025-01-01"}, "last", id="over-three-years"),
    pytest.param({"group_by": "planet"}, "group_by", id="unknown-grouping"),
    pytest.param({"kpi": "satisfaction", "group_by": "carrier"}, "group_by", id="grouping-the-kpi-lacks"),
    pytest.param({"group_by": "product"}, "group_by", id="grouping-some-default-kpis-lack"),
    pytest.param({"key": "5"}, "key", id="key-without-grouping"),
    pytest.param({"group_by": "agent", "key": "x" * 41}, "key", id="key-too-long"),
]


@pytest.mark.parametrize(("params", "field"), BAD_VALUES)
def test_bad_values_query_is_400_naming_the_field(manager, params, field):
    assert_error(manager.get("/api/v1/kpi/values/", params), field)


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({}, "kpi", id="kpi-missing"),
    pytest.param({"kpi": "happiness"}, "kpi", id="unknown-kpi"),
    pytest.param({"kpi": "aht", "first": "2026-02-30"}, "first", id="no-such-day"),
    pytest.param({"kpi": "aht", "first": "2026-11-02", "last": "2026-11-01"}, "last", id="last-before-first"),
    pytest.param({"kpi": "aht", "group_by": "department"}, "group_by", id="grouping-the-kpi-lacks"),
])
def test_bad_trend_query_is_400_naming_the_field(manager, params, field):
    assert_error(manager.get("/api/v1/kpi/trend/", params), field)


def test_exactly_three_years_is_allowed(manager):
    response = manager.get("/api/v1/kpi/values/", {"first": "2023-11-01", "last": "2026-10-31", "kpi": "aht"})

    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.API_CLIENT])
@pytest.mark.parametrize("path", PATHS)
def test_managers_admins_and_api_clients_read_kpis(api_for, role, path):
    assert api_for(role).get(path).status_code == 200


@pytest.mark.parametrize("role", [Role.AGENT, Role.AREA_MANAGER, Role.COMPLAINT_HANDLER])
@pytest.mark.parametrize("path", PATHS)
def test_other_roles_are_refused(api_for, role, path):
    response = api_for(role).get(path)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_callers_must_authenticate(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_schema_documents_the_three_paths_with_their_parameters(manager):
    schema = manager.get("/api/schema/", {"format": "json"}).json()

    def params(path):
        return {p["name"]: p for p in schema["paths"][path]["get"].get("parameters", [])}

    assert set(schema["paths"]) >= {"/api/v1/kpi/definitions/", "/api/v1/kpi/values/", "/api/v1/kpi/trend/"}
    values_params = params("/api/v1/kpi/values/")
    assert {"kpi", "first", "last", "group_by", "key", "page", "page_size"} <= set(values_params)
    assert values_params["kpi"]["schema"]["type"] == "array"
    assert values_params["first"]["schema"] == {"type": "string", "format": "date"}
    assert set(values_params["group_by"]["schema"]["enum"]) == {"all", "agent", "team", "area", "product", "channel", "carrier", "department", "vip_tier"}
    trend_params = params("/api/v1/kpi/trend/")
    assert {"kpi", "first", "last", "group_by", "key"} <= set(trend_params)
    assert trend_params["kpi"]["required"] is True and set(trend_params["kpi"]["schema"]["enum"]) == set(KPIS)
    for path in ("/api/v1/kpi/definitions/", "/api/v1/kpi/values/", "/api/v1/kpi/trend/"):
        assert {"200", "400", "403"} <= set(schema["paths"][path]["get"]["responses"]), path
    row = schema["components"]["schemas"]["KpiValue"]["properties"]
    assert row["value"]["nullable"] is True and row["met"]["nullable"] is True


def test_target_override_in_settings_is_what_the_api_reports(manager, october, settings):
    settings.KPI_TARGETS = {"satisfaction": 60}

    body = values(manager, kpi="satisfaction")

    assert body["results"][0]["target"] == "60.00"
    assert body["results"][0]["value"] == "60.00" and body["results"][0]["met"] is True
    assert Decimal(body["results"][0]["value"]) == selectors.kpi_values(["satisfaction"], FIRST, LAST)["satisfaction"][""].value
