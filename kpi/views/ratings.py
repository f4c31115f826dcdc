"""Star ratings: an agent's own numbers and stars, and every agent's and team's stars of a month."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from servicedesk.exports import export_format, table_response
from servicedesk.pages import page_number, require

from .. import ratings as rule
from ..definitions import KPIS, Dimension
from ..forms import MonthForm, PeriodForm
from ..models import StarRating
from ..selectors import kpi_summary
from .common import cards, stars_text

RATINGS_PER_PAGE = 25
MONTHS_SHOWN = 12


@dataclass
class BasisLine:
    code: str
    name: str
    value: str
    target: str
    attainment: Decimal
    weight: int
    numerator: int
    denominator: int


def basis_lines(rating: StarRating) -> list[BasisLine]:
    """Why these stars: each KPI that counted, in the rule's order."""
    lines = []
    for code in rule.WEIGHTS:
        entry = rating.basis.get(code)
        if entry is None:
            continue
        unit = KPIS[code].unit
        suffix = "%" if unit == "%" else f" {unit}" if unit else ""
        lines.append(BasisLine(
            code, str(KPIS[code].name), f"{entry['value']}{suffix}", f"{entry['target']}{suffix}",
            Decimal(entry["attainment"]), entry["weight"], entry["numerator"], entry["denominator"],
        ))
    return lines


def _rule_context() -> dict:
    return {
        "min_sample": rule.MIN_SAMPLE,
        "thresholds": [(stars, floor) for floor, stars in rule.STARS],
        "weights": [(KPIS[code].name, weight) for code, weight in rule.WEIGHTS.items()],
    }


@login_required
@require_GET
def mine(request):
    """Any member of staff: their own KPIs for a period and their stars of the latest months."""
    user = request.user
    form = PeriodForm(request.GET)
    first, last = form.period()
    key = str(user.pk)
    history = list(StarRating.objects.filter(subject=StarRating.Subject.AGENT, agent=user).order_by("-month")[:MONTHS_SHOWN])
    return render(request, "kpi/mine.html", {
        "form": form, "first": first, "last": last,
        "cards": cards(kpi_summary(first, last, dimension=Dimension.AGENT, key=key), first, last, dimension=Dimension.AGENT, key=key),
        "history": [(rating, stars_text(rating.stars), basis_lines(rating)) for rating in history],
        **_rule_context(),
    }, status=400 if form.errors else 200)


def _default_month() -> date:
    """The latest month rated, or last month when nothing is rated yet."""
    return StarRating.objects.aggregate(latest=Max("month"))["latest"] or rule.previous_month()


def _name(rating: StarRating) -> str:
    if rating.subject == StarRating.Subject.AGENT:
        return rating.agent.get_full_name() or rating.agent.username
    return rating.team.name


@login_required
@require_GET
def ratings(request):
    require(request, "kpi.view_starrating")
    form = MonthForm(request.GET)
    form.is_valid()
    month = form.cleaned_data.get("month") or _default_month()
    subject = form.cleaned_data.get("subject") or ""
    rated = StarRating.objects.filter(month=month).select_related("agent__team", "team").order_by("subject", "-stars", "-score", "pk")
    if subject:
        rated = rated.filter(subject=subject)
    query = f"month={month:%Y-%m}&subject={subject}"
    fmt = export_format(request.GET)
    if fmt and not form.errors:
        codes = list(rule.WEIGHTS)
        header = [_("Rated"), pgettext("rated person or team", "Name"), _("Team"), _("Stars"), _("Score"), *(str(KPIS[code].name) for code in codes)]
        lines = (
            [rating.get_subject_display(), _name(rating), rating.agent.team.name if rating.agent and rating.agent.team else "",
             rating.stars, rating.score, *(Decimal(rating.basis[code]["value"]) if code in rating.basis else None for code in codes)]
            for rating in rated.iterator(chunk_size=500)
        )
        return table_response(name=f"star-ratings-{month:%Y-%m}", header=header, rows=lines, fmt=fmt, sheet=_("Star ratings"))
    page = Paginator(rated, RATINGS_PER_PAGE).get_page(page_number(request.GET))
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render(request, "kpi/ratings.html", {
        "form": form, "month": month, "subject": subject, "query": query, "extra": query + "&", "page": page,
        "rows": [(rating, _name(rating), stars_text(rating.stars), basis_lines(rating)) for rating in page.object_list],
        "previous": previous, "following": following,
        **_rule_context(),
    }, status=400 if form.errors else 200)


urlpatterns = [
    path("kpi/me/", mine, name="mine"),
    path("kpi/ratings/", ratings, name="ratings"),
]
