"""Forms of the number pool pages: the list's filters, adding and editing a number, uploading an import."""
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import NumberClass, NumberStatus
from .pool_imports import NOTE_LENGTH

FEE_FIELD = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0")}


class PoolFilterForm(forms.Form):
    """GET filters of the list and the export; a bad value is reported and that filter left out."""

    MATCHES = [("", _("Start or end (guess)")), ("prefix", _("Starting with")), ("tail", _("Ending with"))]

    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status")), *NumberStatus.choices], required=False)
    number_class = forms.ChoiceField(label=_("Class"), choices=[("", _("Any class")), *NumberClass.choices], required=False)
    digits = forms.RegexField(
        label=_("Digits"), regex=r"^\s*\d{1,11}\s*$", required=False, max_length=20,
        error_messages={"invalid": _("Type up to 11 digits: the start of a number (186…) or its end (8888).")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": _("e.g. 8888 or 18601")}),
    )
    match = forms.ChoiceField(label=_("Match"), choices=MATCHES, required=False)

    def filters(self) -> dict:
        """The valid filters, ready for ``selectors.pool_numbers``."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status", ""),
            "number_class": data.get("number_class", ""),
            "contains": (data.get("digits") or "").strip(),
            "match": data.get("match", ""),
        }

    def query_string(self) -> str:
        """The filters as they go into the pager's and the export's links."""
        from urllib.parse import urlencode

        filters = self.filters()
        return urlencode({"status": filters["status"], "number_class": filters["number_class"], "digits": filters["contains"], "match": filters["match"]})


class PoolNumberAddForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}))
    number_class = forms.ChoiceField(
        label=_("Class"), choices=[("", _("From the pattern (8888, AABB, 1234…)")), *NumberClass.choices], required=False,
    )
    price = forms.DecimalField(label=_("Number fee (CNY)"), required=False, help_text=_("Empty: the usual fee of the class."), **FEE_FIELD)
    note = forms.CharField(label=_("Note"), max_length=NOTE_LENGTH, required=False)


class PoolNumberEditForm(forms.Form):
    number_class = forms.ChoiceField(label=_("Class"), choices=NumberClass.choices)
    price = forms.DecimalField(label=_("Number fee (CNY)"), **FEE_FIELD)
    note = forms.CharField(label=_("Note"), max_length=NOTE_LENGTH, required=False)
    quarantined = forms.BooleanField(
        label=_("Quarantined (not offered for sale)"), required=False,
        help_text=_("Only a number that is not reserved or sold can be quarantined."),
    )

    def __init__(self, *args, pool_number, **kwargs):
        kwargs.setdefault("initial", {
            "number_class": pool_number.number_class, "price": pool_number.price, "note": pool_number.note,
            "quarantined": pool_number.status == NumberStatus.QUARANTINED,
        })
        super().__init__(*args, **kwargs)
        self.can_quarantine = pool_number.status in (NumberStatus.AVAILABLE, NumberStatus.QUARANTINED)
        if not self.can_quarantine:
            del self.fields["quarantined"]


class NumberImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("First row: the column names number, class, fee, note (only number is required)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
        error_messages={"empty": _("The file is empty."), "required": _("Choose a file to upload.")},
    )
