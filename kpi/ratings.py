"""Star ratings, 1 to 5, for agents and teams, from a month of their KPIs [CM].

The rule (also shown on the ratings page):
1. Take the month's KPIs that can be credited to an agent or team and that
   have at least ``MIN_SAMPLE`` in their denominator for that agent or team.
2. For each, attainment = value / target capped at 1 when higher is better
   (satisfaction 72 % against 80 % is 0.9); when lower is better, 1 at or
   under the target, else target / value.
3. Score = the weighted mean of the attainments (weights below: what the
   customer feels weighs most). Order KPIs count for the agent who took the
   order; acceptance timeliness is the back office's speed, so it is not in
   an agent's rating.
4. Stars: score >= 0.95 five, >= 0.85 four, >= 0.70 three, >= 0.50 two,
   else one. Nobody with no KPI above the sample size is rated.
Ratings are recomputed on the first of each month for the month before and
kept: rating a month again replaces only that month.
"""
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from .definitions import KPIS, Dimension
from .models import StarRating
from .selectors import kpi_values

WEIGHTS = {
    "satisfaction": 3,
    "fcr": 2,
    "complaint_timeliness": 2,
    "callback_coverage": 1,
    "appeal_share": 1,
    "repair_timeliness": 1,
    "acceptance_success": 1,
    "acceptance_accuracy": 1,
    "conversion": 1,
    "aht": 1,
}
MIN_SAMPLE = 5
STARS = [(Decimal("0.95"), 5), (Decimal("0.85"), 4), (Decimal("0.70"), 3), (Decimal("0.50"), 2)]


def attainment(code: str, value: Decimal) -> Decimal:
    definition = KPIS[code]
    target = definition.target_value
    if definition.op == ">=":
        return min(value / target, Decimal(1)) if target else Decimal(1)
    if value <= target or not value:
        return Decimal(1)
    return target / value


def stars_for(score: Decimal) -> int:
    return next((stars for floor, stars in STARS if score >= floor), 1)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def score(values: dict[str, object]) -> tuple[Decimal, dict] | None:
    """(score, basis) from one subject's KPI values, or None when nothing is above the sample size."""
    basis, total, weights = {}, Decimal(0), 0
    for code, weight in WEIGHTS.items():
        value = values.get(code)
        if value is None or value.denominator < MIN_SAMPLE or value.value is None:
            continue
        reached = attainment(code, value.value)
        basis[code] = {
            "numerator": value.numerator, "denominator": value.denominator, "value": str(value.value),
            "target": str(value.target), "attainment": str(reached.quantize(Decimal("0.0001"))), "weight": weight,
        }
        total += reached * weight
        weights += weight
    if not weights:
        return None
    return (total / weights).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), basis


def ratings_compute(*, month: date) -> int:
    """Rate every agent and team with enough data in ``month``; returns how many were rated."""
    first, last = month_bounds(month)
    rated = 0
    with transaction.atomic():
        for subject, dimension in [(StarRating.Subject.AGENT, Dimension.AGENT), (StarRating.Subject.TEAM, Dimension.TEAM)]:
            values = kpi_values(list(WEIGHTS), first, last, dimension=dimension)
            keys = {key for by_key in values.values() for key in by_key if key}
            StarRating.objects.filter(month=first, subject=subject).delete()
            ratings = []
            for key in sorted(keys):
                result = score({code: values[code].get(key) for code in values})
                if result is None:
                    continue
                points, basis = result
                ratings.append(StarRating(
                    month=first, subject=subject, stars=stars_for(points), score=points, basis=basis, computed_at=timezone.now(),
                    **({"agent_id": int(key)} if subject == StarRating.Subject.AGENT else {"team_id": int(key)}),
                ))
            StarRating.objects.bulk_create(ratings)
            rated += len(ratings)
    return rated


def previous_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
