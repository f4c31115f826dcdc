"""Forms of the stock pages: the lists' filters, goods in, transfer requests and their handling, unit lookup, demand."""
import re
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.models import ItemKind

from . import selectors
from .models import StockMovement, Transfer, Warehouse
from .services.stock import MAX_QUANTITY, MAX_SERIALS_PER_RECEIPT

MAX_REPORT_DAYS = 366
_SERIAL_SPLIT = re.compile(r"[\s,;，；]+")


def split_serials(text: str) -> list[str]:
    """Serials as scanned or pasted: one per line, or separated by spaces, commas or semicolons."""
    return [s for s in _SERIAL_SPLIT.split(text or "") if s]


class _Filters(forms.Form):
    """GET filters: a bad value is reported and that filter left out, never a 500."""

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: self._value(data.get(name)) for name in self.fields if name in data}

    @staticmethod
    def _value(value):
        return value.pk if hasattr(value, "pk") else value

    def query_string(self) -> str:
        """The valid filters as they go into the pager's and the export's links."""
        pairs = {}
        for name, value in self.filters().items():
            if value in (None, "", False):
                continue
            pairs[name] = "1" if value is True else (value.isoformat() if hasattr(value, "isoformat") else value)
        return urlencode(pairs)


def _warehouse_field(label, **kwargs):
    return forms.ModelChoiceField(label=label, queryset=selectors.stock_warehouses(), required=False, empty_label=_("Every store"), **kwargs)


def _sku_field(label, **kwargs):
    return forms.ModelChoiceField(label=label, queryset=selectors.stock_skus(), required=False, empty_label=_("Every item"), **kwargs)


class StockFilterForm(_Filters):
    warehouse = _warehouse_field(_("Store"))
    sku = _sku_field(_("Item"))
    item_kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Every kind")), *[c for c in ItemKind.choices if c[0] != ItemKind.NONE]])
    only_available = forms.BooleanField(label=_("Only with some available"), required=False)


class _DateRange(_Filters):
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end is before the start."))
        return data


class MovementFilterForm(_DateRange):
    warehouse = _warehouse_field(_("Store"))
    sku = _sku_field(_("Item"))
    kind = forms.ChoiceField(label=_("Movement"), required=False, choices=[("", _("Every movement")), *StockMovement.Kind.choices])

    field_order = ["warehouse", "sku", "kind", "date_from", "date_to"]


class TransferFilterForm(_Filters):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *Transfer.Status.choices])
    warehouse = _warehouse_field(_("Store (from or to)"))


class DemandForm(_DateRange):
    """The demand report's range: the last 30 days unless told, at most a year."""

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"] - timedelta(days=29)
        if "date_to" not in self.errors and (data["date_to"] - data["date_from"]).days >= MAX_REPORT_DAYS:
            self.add_error("date_from", _("Choose at most %(days)s days.") % {"days": MAX_REPORT_DAYS})
        return data

    def range(self) -> tuple:
        """The valid range, or the last 30 days when the one given is not."""
        if self.is_valid():
            return self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        today = timezone.localdate()
        return today - timedelta(days=29), today


class UnitLookupForm(forms.Form):
    serial = forms.RegexField(
        label=_("Serial (ICCID or IMEI)"), regex=r"^\s*\d{15,20}\s*$", max_length=30,
        error_messages={"invalid": _("Type the 15-digit IMEI or the 19–20-digit ICCID."), "required": _("Type a serial to look up.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )

    def clean_serial(self):
        return self.cleaned_data["serial"].strip()


class StockReceiveForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Into store"), queryset=selectors.stock_warehouses(active_only=True))
    sku = forms.ModelChoiceField(label=_("Item"), queryset=selectors.stock_skus())
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1, max_value=MAX_QUANTITY,
                                  help_text=_("For counted items (top-up cards)."))
    serials = forms.CharField(
        label=_("Serials"), required=False, widget=forms.Textarea(attrs={"rows": 8, "inputmode": "numeric", "spellcheck": "false"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300, help_text=_("Delivery note or supplier reference."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per request, in the user's language (a lazy string formatted at import would not be).
        self.fields["serials"].help_text = gettext("For SIM cards and handsets: one ICCID or IMEI per line (at most %(max)s).") % {
            "max": MAX_SERIALS_PER_RECEIPT}

    def clean(self):
        data = super().clean()
        sku = data.get("sku")
        data["serials"] = split_serials(data.get("serials", ""))
        if sku is not None and not sku.serialised and data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", _("Give the quantity received."))
        return data


class TransferRequestForm(forms.Form):
    to_warehouse = forms.ModelChoiceField(
        label=_("For store"), queryset=Warehouse.objects.filter(active=True, parent__isnull=False).select_related("parent").order_by("level", "code"),
        help_text=_("The store that supplies it ships the stock."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_warehouse"].label_from_instance = lambda w: _("%(store)s (from %(parent)s)") % {"store": w.name, "parent": w.parent.name}


class TransferLineForm(forms.Form):
    sku = forms.ModelChoiceField(label=_("Item"), queryset=selectors.stock_skus(), required=False)
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1, max_value=MAX_QUANTITY)

    def clean(self):
        data = super().clean()
        if data.get("sku") and data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", _("How many?"))
        if data.get("quantity") and not data.get("sku") and "sku" not in self.errors:
            self.add_error("sku", _("Which item?"))
        return data


TransferLineFormSet = formset_factory(TransferLineForm, extra=5, max_num=20, validate_max=True, absolute_max=50)


def transfer_lines(formset) -> list[tuple]:
    """The filled lines of a valid formset, as (sku, quantity)."""
    return [(f.cleaned_data["sku"], f.cleaned_data["quantity"]) for f in formset.forms if f.cleaned_data.get("sku")]


class TransferShipForm(forms.Form):
    serials = forms.CharField(
        label=_("Serials sent"), required=False, widget=forms.Textarea(attrs={"rows": 4, "inputmode": "numeric", "spellcheck": "false"}),
        help_text=_("Scan the units you pack; leave empty to send the oldest in stock."),
    )

    def clean_serials(self):
        serials = split_serials(self.cleaned_data["serials"])
        if len(serials) > MAX_SERIALS_PER_RECEIPT:
            raise forms.ValidationError(_("At most %(max)s serials at a time.") % {"max": MAX_SERIALS_PER_RECEIPT})
        return serials


class TransferRejectForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=300, error_messages={"required": _("Say why the request is rejected.")})
