"""Browser forms of the daily business report: the list's filters, compiling a day, and the three levels."""
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import selectors
from .models import MONEY, DailyReport

_DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


def _hall_choices(blank_label) -> list:
    inactive = _("inactive")  # outside the f-string, where makemessages can find it
    return [("", blank_label), *[(h.pk, h.name if h.active else f"{h.name} ({inactive})") for h in selectors.daily_report_halls()]]


class ReportFilterForm(forms.Form):
    """The report list's filters; an unknown value is reported and ignored, never a 500."""

    hall = forms.TypedChoiceField(label=_("Hall"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses")), *DailyReport.Status.choices])
    day_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, **_DATE)
    day_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, **_DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hall"].choices = _hall_choices(_("All halls"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("day_from") and cleaned.get("day_to") and cleaned["day_from"] > cleaned["day_to"]:
            self.add_error("day_to", _("The end of the range is before its start."))
        return cleaned

    def filters(self) -> dict:
        """The valid filters (invalid ones dropped), as keyword arguments of ``selectors.daily_reports``."""
        self.is_valid()
        names = {"hall": "hall_id", "status": "status", "day_from": "day_from", "day_to": "day_to"}
        return {names[name]: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}

    def query_string(self) -> str:
        from urllib.parse import urlencode

        filters = self.filters()
        return urlencode({name: (value.isoformat() if hasattr(value, "isoformat") else value) for name, value in {
            "hall": filters.get("hall_id"), "status": filters.get("status"), "day_from": filters.get("day_from"), "day_to": filters.get("day_to"),
        }.items() if value})


class ReportCompileForm(forms.Form):
    hall = forms.TypedChoiceField(label=_("Hall"), coerce=int)
    day = forms.DateField(label=_("Day"), **_DATE)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "compile_%s")  # the list's filters on the same page use id_hall
        super().__init__(*args, **kwargs)
        self.fields["hall"].choices = _hall_choices(_("— choose a hall —"))
        today = timezone.localdate()
        self.fields["day"].widget.attrs["max"] = today.isoformat()
        if not self.is_bound:
            self.initial.setdefault("day", today)


class ReportPrepareForm(forms.Form):
    counted_cash = forms.DecimalField(
        label=_("Cash counted in the till (CNY)"), max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"],
        min_value=Decimal(0), widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    explanation = forms.CharField(
        label=_("Explanation of differences"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the till or the collected amounts differ from what was expected."),
    )
    figures = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)


class ReportReviewForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500)


class ReportSendBackForm(forms.Form):
    reason = forms.CharField(label=_("Why it goes back to draft"), max_length=500)
