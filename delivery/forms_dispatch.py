"""Forms of the delivery clerk's dispatch pages: the filters, and the input of each shipment step."""
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import selectors, selectors_dispatch
from .models import MONEY, Carrier, PaymentMethod, ShipmentStatus
from .services import shipments

REASON_MAX = 300


class DispatchFilterForm(forms.Form):
    """The page's filters; a value not understood is reported and ignored, never a 500."""

    status = forms.ChoiceField(label=_("Stage"), required=False)
    carrier = forms.TypedChoiceField(label=_("Carrier"), required=False, coerce=int, empty_value=None)
    hall = forms.TypedChoiceField(label=_("Hall"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ShipmentStatus.choices)
        self.fields["status"].choices = [("", _("Every stage under way")), *[(s, labels[s]) for s in selectors_dispatch.UNDER_WAY]]
        self.fields["carrier"].choices = [("", _("All carriers")), *[
            (c.pk, c.name if c.active else f"{c.name} ({_('inactive')})") for c in Carrier.objects.order_by("-active", "priority", "code")]]
        self.fields["hall"].choices = [("", _("All halls")), *[
            (h.pk, h.name if h.active else f"{h.name} ({_('inactive')})") for h in selectors.daily_report_halls()]]

    def filters(self) -> dict:
        """The valid filters (invalid ones dropped): ``status``, ``carrier_id``, ``hall_id``."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "",
            "carrier_id": data.get("carrier"),
            "hall_id": data.get("hall"),
        }

    def query_string(self, **overrides) -> str:
        """The valid filters as a query string (``overrides`` replace or, with None, drop one)."""
        filters = self.filters()
        values = {"status": filters["status"], "carrier": filters["carrier_id"], "hall": filters["hall_id"], **overrides}
        return urlencode({name: value for name, value in values.items() if value})


class CarrierForm(forms.Form):
    carrier = forms.TypedChoiceField(label=_("Carrier"), coerce=int)

    def __init__(self, *args, shipment, **kwargs):
        kwargs.setdefault("auto_id", "carrier_%s")
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = [
            (c.pk, _("%(name)s (promises %(hours)s h)") % {"name": c.name, "hours": c.promised_hours})
            for c in selectors_dispatch.carrier_choices(shipment=shipment)
        ]
        if not self.is_bound and shipment.carrier_id:
            self.initial["carrier"] = shipment.carrier_id


class HandOverForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"), required=False, max_length=40,
        help_text=_("The carrier's waybill number; leave it blank and one is generated."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("e.g. SF1234567890")}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "hand_%s")
        super().__init__(*args, **kwargs)


class DeliverForm(forms.Form):
    """What the courier brings back: who signed, the ID seen, the money and how it was paid.

    The rules are the service's (``shipments.delivery_details``), so the form and the carrier API agree."""

    signed_by = forms.CharField(label=_("Signed by"), max_length=60)
    id_checked = forms.BooleanField(
        label=_("The customer's identity document was checked"),
        error_messages={"required": _("The customer's identity document must be checked at the door.")},
    )
    amount_collected = forms.DecimalField(
        label=_("Amount collected (CNY)"), min_value=Decimal(0), max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    payment_method = forms.ChoiceField(label=_("Paid by"), choices=PaymentMethod.choices, widget=forms.RadioSelect, initial=PaymentMethod.CASH)
    pos_reference = forms.CharField(label=_("POS reference"), required=False, max_length=60, help_text=_("Required for a mobile POS payment."))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "deliver_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        try:
            shipments.delivery_details(
                signed_by=cleaned.get("signed_by", ""), id_checked=cleaned.get("id_checked", False),
                amount_collected=cleaned.get("amount_collected"), payment_method=cleaned.get("payment_method", ""),
                pos_reference=cleaned.get("pos_reference", ""),
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, errors)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class NoInputForm(forms.Form):
    """The steps that take nothing but the click (pick, go out for delivery)."""
