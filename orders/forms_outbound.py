"""Forms of the outbound team's pages: the worklist's filters, the search, and the actions on an opportunity.

The forms parse input; every rule (a callback in the future, a reason to close, what a conversion needs)
is checked by the services in orders/services.py, whose errors the views put back on these forms.
"""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.phones import looks_like_service_number, normalize_service_number

from .models import CallbackAttempt, Intent, Opportunity, Order, Product

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _product_choices(products) -> list[tuple[str, str]]:
    return [("", _("All products")), *((str(p.pk), p.name) for p in products)]


class WorklistFilterForm(forms.Form):
    """The outbound worklist's filters; an unknown value is reported, never a 500."""

    ASSIGNED_CHOICES = [("", _("Anyone")), ("me", _("Assigned to me")), ("none", _("Unassigned"))]

    intent = forms.ChoiceField(label=_("Intent"), required=False, choices=[("", _("Any intent")), *Intent.choices])
    assigned = forms.ChoiceField(label=_("Assigned"), required=False, choices=ASSIGNED_CHOICES)
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = _product_choices(products)


class OpportunitySearchForm(forms.Form):
    q = forms.CharField(label=_("Customer name or service number"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any status")), *Opportunity.Status.choices])
    intent = forms.ChoiceField(label=_("Intent"), required=False, choices=[("", _("Any intent")), *Intent.choices])
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)
    callback_from = forms.DateField(label=_("Callback from"), required=False, widget=DateInput())
    callback_to = forms.DateField(label=_("Callback to"), required=False, widget=DateInput())

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = _product_choices(products)

    def clean_q(self):
        query = self.cleaned_data["q"].strip()
        if query and looks_like_service_number(query):
            # Say a mistyped number is one, rather than silently finding nobody.
            normalize_service_number(query)
        return query

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("callback_from"), cleaned.get("callback_to")
        if start and end and start > end:
            self.add_error("callback_to", _("The end of the range is before its start."))
        return cleaned

    def filters(self) -> dict:
        """The selector's arguments from the valid fields only: a bad field is reported and ignored."""
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q", ""),
            "status": data.get("status", ""),
            "intent": data.get("intent", ""),
            "product_id": data.get("product"),
            "callback_from": data.get("callback_from"),
            "callback_to": data.get("callback_to"),
        }


class AttemptForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=CallbackAttempt.Result.choices, widget=forms.RadioSelect)
    next_callback_at = forms.DateTimeField(
        label=_("Next callback"), required=False, widget=DateTimeLocalInput(),
        help_text=_("Required for “call back later”; must be in the future."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "attempt_%s")  # several forms share the opportunity's page
        super().__init__(*args, **kwargs)


class LostForm(forms.Form):
    reason = forms.CharField(label=_("Why was it lost?"), max_length=300, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "lost_%s")
        super().__init__(*args, **kwargs)


class OpportunityEditForm(forms.Form):
    callback_at = forms.DateTimeField(label=_("Callback at"), widget=DateTimeLocalInput())
    intent = forms.ChoiceField(label=_("Intent"), choices=Intent.choices)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    @classmethod
    def for_opportunity(cls, opportunity: Opportunity, data=None):
        initial = {"callback_at": timezone.localtime(opportunity.callback_at), "intent": opportunity.intent, "notes": opportunity.notes}
        return cls(data, initial=initial)


class ConvertForm(forms.Form):
    """Turning an opportunity into an order: the fields the product's fulfilment needs, and only those.

    The address on file is offered masked to roles that may not read it whole; choosing it sends
    the whole address to the order without ever showing it."""

    service_number = forms.ChoiceField(label=_("Line it applies to"))
    pool_number = forms.CharField(label=_("New number from the pool"), max_length=20, widget=forms.TextInput(attrs={"list": "pool-numbers", "autocomplete": "off"}))
    address_on_file = forms.BooleanField(label=_("Deliver to the address on file"), required=False)
    delivery_address = forms.CharField(label=_("Delivery address"), required=False, max_length=255)
    appointment_date = forms.DateField(label=_("Delivery date"), widget=DateInput())
    appointment_slot = forms.ChoiceField(label=_("Delivery slot"), choices=[("", "—"), *Order.Slot.choices], required=False)
    notes = forms.CharField(label=_("Order notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, opportunity: Opportunity, user, **kwargs):
        kwargs.setdefault("auto_id", "convert_%s")
        super().__init__(*args, **kwargs)
        self.customer = opportunity.customer
        product: Product = opportunity.product
        from .services import fulfilment_flow

        self.direct = fulfilment_flow(product) == "direct"
        self.needs_number = product.needs_number
        self.needs_delivery = product.needs_delivery
        if self.direct:
            numbers = [s.service_number for s in self.customer.subscriptions.all()]
            self.fields["service_number"].choices = [(n, n) for n in numbers]
            if not numbers:
                self.fields["service_number"].help_text = _("The customer has no line this product could apply to.")
        else:
            del self.fields["service_number"]
        if not self.needs_number:
            del self.fields["pool_number"]
        if not self.needs_delivery:
            for name in ("address_on_file", "delivery_address", "appointment_date", "appointment_slot"):
                del self.fields[name]
        elif user.has_perm("servicedesk.view_full_address"):
            del self.fields["address_on_file"]
            self.fields["delivery_address"].initial = self.customer.address
        elif self.customer.address:
            self.fields["address_on_file"].initial = True
            self.fields["address_on_file"].help_text = self.customer.address_for(user)
            self.fields["delivery_address"].label = _("Or another delivery address")
        else:
            del self.fields["address_on_file"]

    def clean(self):
        cleaned = super().clean()
        if self.needs_delivery:
            if cleaned.get("address_on_file"):
                cleaned["delivery_address"] = self.customer.address
            elif not (cleaned.get("delivery_address") or "").strip():
                self.add_error("delivery_address", _("A delivery address is needed."))
        return cleaned

    def order_kwargs(self) -> dict:
        """The keyword arguments for ``opportunity_convert``."""
        data = dict(self.cleaned_data)
        data.pop("address_on_file", None)
        return {name: value for name, value in data.items() if value not in (None, "")}
