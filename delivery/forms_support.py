"""Forms of the delivery support desk: the lookup box and the four actions."""
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Order

from .services.support import APPOINTMENT_HORIZON_DAYS, REASON_MAX


class SupportSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Order, tracking or service number"), required=False, max_length=60,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "placeholder": _("e.g. 1024, SF1234567890 or 13812345678")}),
    )


class AppointmentForm(forms.Form):
    date = forms.DateField(label=_("Delivery date"), widget=forms.DateInput(attrs={"type": "date"}))
    slot = forms.ChoiceField(label=_("Time window"), choices=Order.Slot.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["date"].widget.attrs.update({"min": today.isoformat(), "max": (today + timedelta(days=APPOINTMENT_HORIZON_DAYS)).isoformat()})


class ReasonForm(forms.Form):
    """Cancelling and recording a refusal: why, in the customer's words."""

    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class UrgentActivationForm(forms.Form):
    reason = forms.CharField(label=_("Why the line is needed before delivery"), required=False, max_length=REASON_MAX)
