"""The filters of the KPI pages: a period (with presets), a KPI, a grouping, a month; and the rebuild request."""
import re
from datetime import date, timedelta
from typing import ClassVar
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .definitions import KPIS, Dimension
from .models import StarRating

# About three years: enough for year-on-year, bounded so that no page reads without limit.
MAX_PERIOD_DAYS = 3 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2100
DEFAULT_TREND_KPI = "satisfaction"
DEFAULT_DIMENSION = Dimension.TEAM.value


PRESETS = [
    ("today", pgettext_lazy("period", "Today")),
    ("yesterday", pgettext_lazy("period", "Yesterday")),
    ("this_week", pgettext_lazy("period", "This week")),
    ("this_month", pgettext_lazy("period", "This month")),
    ("last_month", pgettext_lazy("period", "Last month")),
    ("last_30_days", pgettext_lazy("period", "Last 30 days")),
]


def month_first(day: date) -> date:
    return day.replace(day=1)


def month_last(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """The days a preset stands for, in the local calendar (weeks start on Monday)."""
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if preset == "this_week":
        return today - timedelta(days=today.weekday()), today
    if preset == "last_month":
        last = month_first(today) - timedelta(days=1)
        return month_first(last), last
    if preset == "last_30_days":
        return today - timedelta(days=29), today
    return month_first(today), month_last(today)  # this_month


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PeriodForm(forms.Form):
    """First and last day (both included), or a preset; nothing given is this month.

    A preset is resolved into the two days before validation, so the fields show the days
    the page is about and every link carries those days, not the preset."""

    first = forms.DateField(label=_("First day"), required=False, widget=_DateInput(attrs={"data-key": "p"}))
    last = forms.DateField(label=_("Last day"), required=False, widget=_DateInput())
    preset = forms.ChoiceField(label=_("Period"), required=False, choices=PRESETS)

    # Choices that take a default when the query does not name them (an empty value is a choice too).
    defaults: ClassVar[dict[str, str]] = {}

    def __init__(self, data=None, *args, today: date | None = None, **kwargs):
        self.today = today or timezone.localdate()
        if data is not None:
            data = data.copy()
            for name, default in self.defaults.items():
                if name not in data:
                    data[name] = default
            preset = data.get("preset", "")
            if preset in dict(PRESETS):
                first, last = preset_period(preset, self.today)
                data["first"], data["last"], data["preset"] = first.isoformat(), last.isoformat(), ""
            elif not data.get("first") and not data.get("last"):
                first, last = preset_period("this_month", self.today)
                data["first"], data["last"] = first.isoformat(), last.isoformat()
        else:
            first, last = preset_period("this_month", self.today)
            data = {"first": first.isoformat(), "last": last.isoformat(), **self.defaults}
        super().__init__(data, *args, **kwargs)

    def _clean_day(self, name: str):
        day = self.cleaned_data.get(name)
        if day is None:
            raise forms.ValidationError(_("Give both the first and the last day."), code="required")
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Choose a day between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}, code="out_of_range",
            )
        return day

    def clean_first(self):
        return self._clean_day("first")

    def clean_last(self):
        return self._clean_day("last")

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                self.add_error("last", _("The last day is before the first."))
            elif (last - first).days >= MAX_PERIOD_DAYS:
                self.add_error("first", _("Choose at most %(days)s days (about three years).") % {"days": MAX_PERIOD_DAYS})
        return data

    def period(self) -> tuple[date, date]:
        """The period asked for when it is valid; else this month (the page says what it shows)."""
        self.is_valid()
        # A refused day is not in cleaned_data (clean() refuses a reversed or too long period on a day).
        first, last = self.cleaned_data.get("first"), self.cleaned_data.get("last")
        if first and last:
            return first, last
        return preset_period("this_month", self.today)

    def choice(self, name: str, default: str) -> str:
        """A valid choice field's value, or its default when missing or refused."""
        self.is_valid()
        return self.cleaned_data.get(name) or default


class DashboardForm(PeriodForm):
    defaults: ClassVar[dict[str, str]] = {"kpi": DEFAULT_TREND_KPI, "dimension": DEFAULT_DIMENSION}
    kpi = forms.ChoiceField(label=_("Trend of"), required=False, choices=[(code, k.name) for code, k in KPIS.items()])
    dimension = forms.ChoiceField(
        label=_("Break down by"), required=False,
        choices=[("", _("No breakdown")), *[c for c in Dimension.choices if c[0] != Dimension.ALL]],
        widget=forms.Select(attrs={"data-key": "g"}),
    )


class TrendForm(PeriodForm):
    """The period and the KPI whose trend is drawn (an area's page)."""

    defaults: ClassVar[dict[str, str]] = {"kpi": DEFAULT_TREND_KPI}

    kpi = forms.ChoiceField(label=_("Trend of"), required=False, choices=[(code, k.name) for code, k in KPIS.items()])


def period_query(first: date, last: date, **more) -> str:
    """The query string of a period (and more filters), for links that keep the filters."""
    return urlencode({"first": first.isoformat(), "last": last.isoformat(), **{k: v for k, v in more.items() if v is not None}})


class DrillForm(PeriodForm):
    kpi = forms.ChoiceField(choices=[(code, k.name) for code, k in KPIS.items()])
    dimension = forms.ChoiceField(required=False, choices=Dimension.choices)
    key = forms.CharField(required=False, max_length=40)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthForm(forms.Form):
    """?month=YYYY-MM and who is rated (agents, teams or both)."""

    month = forms.CharField(label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month", "data-key": "p"}))
    subject = forms.ChoiceField(
        label=_("Rated"), required=False, choices=[("", _("Agents and teams")), *StarRating.Subject.choices],
    )

    def clean_month(self):
        raw = self.cleaned_data["month"].strip()
        if not raw:
            return None
        match = _MONTH.match(raw)
        if not match or not 1 <= int(match[2]) <= 12 or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-03."), code="invalid")
        return date(int(match[1]), int(match[2]), 1)


class RebuildForm(forms.Form):
    first_day = forms.DateField(label=_("First day"), widget=_DateInput(attrs={"autofocus": True}))
    last_day = forms.DateField(label=_("Last day"), widget=_DateInput())

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        for name, day in (("first_day", first), ("last_day", last)):
            if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(name, _("Choose a day between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR})
        if first and last and last < first:
            self.add_error("last_day", _("The last day is before the first."))
        return data
