from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel, Outcome


class ContactForm(forms.Form):
    """Recording a contact from the customer screen: reason and outcome are all it takes."""

    reason = forms.CharField(label=_("Caller reason"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, initial=Outcome.RESOLVED)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.HOTLINE)
    service_number = forms.ChoiceField(label=_("Service number"), required=False)
    business = forms.CharField(label=_("Business consulted"), max_length=100, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = [s.service_number for s in customer.subscriptions.all()] if customer else []
        self.fields["service_number"].choices = [(n, n) for n in numbers] or [("", "—")]
