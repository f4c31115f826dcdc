"""Star ratings (kpi/ratings.py): the documented rule case by case, and a month rated and kept as history."""
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from complaints.models import Callback
from kpi import ratings
from kpi.definitions import KPIS
from kpi.models import StarRating
from kpi.selectors import KpiValue
from tests.factories import CallbackFactory, ComplaintFactory, TeamFactory, UserFactory
from tests.kpi.generate import local, recompute_all

FEBRUARY = date(2025, 2, 1)


# --- The rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "value", "expected"), [
    # Higher is better (>=): value / target, capped at 1.
    ("satisfaction", "72", "0.9"),
    ("satisfaction", "80", "1"),
    ("satisfaction", "99", "1"),
    ("satisfaction", "0", "0"),
    ("fcr", "30", "0.75"),
    # Lower is better (<=): 1 at or under the target, else target / value.
    ("aht", "250", "1"),
    ("aht", "300", "1"),
    ("aht", "400", "0.75"),
    ("aht", "0", "1"),
    # Below the target (<): the same rule, so exactly at the target is still 1.
    ("appeal_share", "5", "1"),
    ("appeal_share", "10", "1"),
    ("appeal_share", "20", "0.5"),
])
def test_attainment_is_the_share_of_the_target_reached(code, value, expected):
    assert ratings.attainment(code, Decimal(value)) == Decimal(expected)


@pytest.mark.parametrize(("score", "stars"), [
    ("1", 5), ("0.95", 5), ("0.9499", 4), ("0.85", 4), ("0.8499", 3), ("0.70", 3), ("0.6999", 2), ("0.50", 2), ("0.4999", 1), ("0", 1),
])
def test_stars_follow_the_score_thresholds(score, stars):
    assert ratings.stars_for(Decimal(score)) == stars


def _value(code: str, numerator: int, denominator: int) -> KpiValue:
    return KpiValue(KPIS[code], "1", numerator, denominator)


def test_the_score_is_the_weighted_mean_of_the_attainments_and_the_basis_explains_it():
    # given an agent's month: satisfaction 72 % (weight 3), first-contact resolution 100 % (2), 400 s handling (1),
    # and a channel share, which is not rated
    values = {
        "satisfaction": _value("satisfaction", 36, 50), "fcr": _value("fcr", 10, 10), "aht": _value("aht", 4000, 10),
        "channel_share": _value("channel_share", 5, 5),
    }

    # when it is scored
    score, basis = ratings.score(values)

    # then the score is (0.9 × 3 + 1 × 2 + 0.75 × 1) / 6
    assert score == Decimal("0.9083")
    assert ratings.stars_for(score) == 4
    assert basis == {
        "satisfaction": {"numerator": 36, "denominator": 50, "value": "72.00", "target": "80", "attainment": "0.9000", "weight": 3},
        "fcr": {"numerator": 10, "denominator": 10, "value": "100.00", "target": "40", "attainment": "1.0000", "weight": 2},
        "aht": {"numerator": 4000, "denominator": 10, "value": "400.00", "target": "300", "attainment": "0.7500", "weight": 1},
    }


@pytest.mark.parametrize(("denominator", "rated"), [(ratings.MIN_SAMPLE - 1, False), (ratings.MIN_SAMPLE, True)])
def test_a_kpi_below_the_sample_size_is_left_out(denominator, rated):
    # given satisfaction, all satisfied, over a few callbacks, and a poor first-contact resolution over enough complaints
    values = {"satisfaction": _value("satisfaction", denominator, denominator), "fcr": _value("fcr", 2, 10)}

    # when it is scored
    score, basis = ratings.score(values)

    # then satisfaction counts only from the sample size on
    assert ("satisfaction" in basis) is rated
    assert score == (Decimal("0.8000") if rated else Decimal("0.5000"))  # (1 × 3 + 0.5 × 2) / 5, or 0.5 alone


@pytest.mark.parametrize("values", [
    {},
    {"satisfaction": _value("satisfaction", 0, 0)},
    {"satisfaction": _value("satisfaction", 4, 4), "fcr": _value("fcr", 1, 1)},
    {"contact_volume": _value("contact_volume", 900, 900)},
])
def test_nobody_is_rated_without_enough_data(values):
    assert ratings.score(values) is None


@pytest.mark.parametrize(("day", "bounds"), [
    (date(2025, 2, 10), (date(2025, 2, 1), date(2025, 2, 28))),
    (date(2024, 2, 29), (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2025, 12, 31), (date(2025, 12, 1), date(2025, 12, 31))),
])
def test_a_month_runs_from_its_first_to_its_last_day(day, bounds):
    assert ratings.month_bounds(day) == bounds


@pytest.mark.parametrize(("today", "month"), [(date(2025, 3, 1), date(2025, 2, 1)), (date(2025, 1, 15), date(2024, 12, 1))])
def test_the_monthly_run_rates_the_month_before(today, month):
    assert ratings.previous_month(today) == month


# --- Rating a month ----------------------------------------------------------------------------------

def _callbacks(agent, scores, day=date(2025, 2, 10), hour=11, minute=0):
    complaint = ComplaintFactory(first_ask_owner=agent)
    for score in scores:
        CallbackFactory(complaint=complaint, status=Callback.Status.COMPLETED, satisfaction=score, completed_at=local(day, hour, minute))


@pytest.fixture
def february(db):
    """A team of two agents, an agent without a team, and one with too few callbacks, in February 2025."""
    team, small_team = TeamFactory(), TeamFactory()
    agents = {
        "good": UserFactory(team=team), "fair": UserFactory(team=team), "loner": UserFactory(team=None),
        "new": UserFactory(team=small_team), "idle": UserFactory(team=team),
    }
    _callbacks(agents["good"], [5] * 9 + [1])            # 90 %: 5 stars
    _callbacks(agents["fair"], [4] * 6 + [2] * 4)        # 60 %: 0.75, 3 stars
    _callbacks(agents["loner"], [5, 4, 3, 2, 1])         # 40 %: 0.5, 2 stars
    _callbacks(agents["new"], [5, 5, 5])                 # below the sample size
    # Just outside February, in Asia/Shanghai: not counted.
    _callbacks(agents["good"], [1], day=date(2025, 1, 31), hour=23, minute=59)
    _callbacks(agents["good"], [1], day=date(2025, 3, 1), hour=0, minute=1)
    recompute_all(date(2025, 1, 1), date(2025, 3, 31))
    return team, small_team, agents


def _ratings(month):
    return {
        (r.subject, r.agent_id or r.team_id): (r.stars, r.score) for r in StarRating.objects.filter(month=month)
    }


def test_a_month_is_rated_for_agents_and_teams_with_enough_data(february):
    team, small_team, agents = february

    # when February is rated
    rated = ratings.ratings_compute(month=date(2025, 2, 17))

    # then each agent and team with enough callbacks has its stars; the others have none
    assert rated == 4
    assert _ratings(FEBRUARY) == {
        ("agent", agents["good"].pk): (5, Decimal("1.0000")),
        ("agent", agents["fair"].pk): (3, Decimal("0.7500")),
        ("agent", agents["loner"].pk): (2, Decimal("0.5000")),
        ("team", team.pk): (4, Decimal("0.9375")),                  # 15 of 20 satisfied: 75 % of 80 %
    }
    # and each rating's basis explains its score
    for rating in StarRating.objects.all():
        weights = sum(entry["weight"] for entry in rating.basis.values())
        mean = sum(Decimal(entry["attainment"]) * entry["weight"] for entry in rating.basis.values()) / weights
        assert abs(mean - rating.score) < Decimal("0.0001")
    fair = StarRating.objects.get(agent=agents["fair"])
    assert fair.basis == {
        "satisfaction": {"numerator": 6, "denominator": 10, "value": "60.00", "target": "80", "attainment": "0.7500", "weight": 3},
    }


def _by_id(month):
    return {r.pk: (r.subject, r.agent_id or r.team_id, r.stars, r.score) for r in StarRating.objects.filter(month=month)}


def test_rating_a_month_again_replaces_that_month_and_keeps_the_others(february):
    team, small_team, agents = february
    # given January rated (the good agent's one unsatisfied callback is too few) and February rated
    _callbacks(agents["good"], [5, 5, 5, 5, 5], day=date(2025, 1, 20))
    recompute_all(date(2025, 1, 1), date(2025, 1, 31))
    assert ratings.ratings_compute(month=date(2025, 1, 1)) == 2
    january = _by_id(date(2025, 1, 1))
    ratings.ratings_compute(month=FEBRUARY)

    # when February changes (the good agent gets ten poor scores) and is rated again
    _callbacks(agents["good"], [1] * 10, day=date(2025, 2, 20))
    recompute_all(FEBRUARY, date(2025, 2, 28))
    ratings.ratings_compute(month=FEBRUARY)

    # then February holds one rating per agent and team, the new ones
    assert _ratings(FEBRUARY)[("agent", agents["good"].pk)] == (2, Decimal("0.5625"))   # 9 of 20: 45 % of 80 %
    assert StarRating.objects.filter(month=FEBRUARY).count() == 4
    # and January is kept as it was
    assert _by_id(date(2025, 1, 1)) == january
    assert len(january) == 2


def test_a_month_without_data_rates_nobody(db):
    UserFactory(team=TeamFactory())
    assert ratings.ratings_compute(month=FEBRUARY) == 0
    assert not StarRating.objects.exists()


def test_the_ratings_command_rates_the_month_it_is_given(february):
    out = StringIO()
    call_command("kpi_ratings", "--month", "2025-02", stdout=out)
    assert "2025-02: 4 agents and teams rated" in out.getvalue()
    assert StarRating.objects.filter(month=FEBRUARY).count() == 4
