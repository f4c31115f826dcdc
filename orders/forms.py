"""Browser forms of the orders app: the sale form of the console, the back-office queue filters."""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.models import Subscription, VipTier

from . import selectors
from .models import Flow, Intent, Order, Product
from .services import fulfilment_flow


class SaleForm(forms.Form):
    """One form for every product: which fields matter depends on the product picked.

    The form only parses input; what a sale needs (a line for a direct product, a number,
    an address and a date for a delivered one, a callback time for a deferred one) is
    checked by ``services.sale_submit``, whose field errors come back onto these fields.
    """

    product = forms.TypedChoiceField(label=_("Product"), coerce=int)
    service_number = forms.ChoiceField(label=_("Line it applies to"), required=False)
    pool_number = forms.CharField(label=_("New number"), max_length=20, required=False)
    delivery_address = forms.CharField(label=_("Delivery address"), max_length=255, required=False)
    appointment_date = forms.DateField(label=_("Delivery date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    appointment_slot = forms.ChoiceField(label=_("Time slot"), required=False, choices=[("", "—"), *Order.Slot.choices])
    callback_at = forms.DateTimeField(label=_("Call back at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    intent = forms.ChoiceField(label=_("Intent"), choices=Intent.choices, initial=Intent.MEDIUM, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    contact = forms.TypedChoiceField(label=_("Link to the contact"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, customer, agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        today = timezone.localdate()
        self.fields["appointment_date"].widget.attrs["min"] = today.isoformat()
        self.fields["callback_at"].widget.attrs["min"] = f"{today.isoformat()}T00:00"
        self._products: dict[int, Product] = {}
        grouped = []
        for category, products in selectors.sale_products():
            grouped.append((category, [(p.pk, f"{p.name} · ¥{p.price}") for p in products]))
            self._products.update({p.pk: p for p in products})
        self.fields["product"].choices = [("", _("— choose a product —")), *grouped]
        lines = [s for s in customer.subscriptions.all() if s.status != Subscription.Status.CLOSED]
        self.fields["service_number"].choices = [("", "—")] + [(s.service_number, f"{s.service_number} · {s.tariff_plan.name}") for s in lines]
        self._contacts = list(selectors.sale_recent_contacts(customer=customer, agent=agent))
        self.fields["contact"].choices = [("", _("— none —"))] + [
            (c.pk, f"{timezone.localtime(c.started_at):%H:%M} {c.reason}") for c in self._contacts
        ]
        if not self.is_bound:
            # The address is only pre-filled for roles that may see it whole; a masked one would be sent to the courier.
            if "delivery_address" not in self.initial and agent.has_perm("servicedesk.view_full_address"):
                self.initial["delivery_address"] = customer.address
            if "contact" not in self.initial and self._contacts:
                self.initial["contact"] = self._contacts[0].pk

    @property
    def chosen_product(self) -> Product | None:
        """The product picked so far (bound or initial), to decide which fields to show."""
        raw = self.data.get("product") if self.is_bound else self.initial.get("product")
        try:
            return self._products.get(int(raw))
        except (TypeError, ValueError):
            return None

    @property
    def sale_flow(self) -> str:
        """The flow the sale takes: an opportunity for a deferred category, else the order's flow."""
        product = self.chosen_product
        if product is None:
            return ""
        return Flow.DEFERRED if product.category.flow == Flow.DEFERRED else fulfilment_flow(product)

    def sale_arguments(self) -> dict:
        """Keyword arguments for ``services.sale_submit``: only what the chosen product uses."""
        data = self.cleaned_data
        product = self._products[data["product"]]
        contact = next((c for c in self._contacts if c.pk == data.get("contact")), None)
        arguments = {"product": product, "notes": data.get("notes", ""), "contact": contact}
        if product.category.flow == Flow.DEFERRED:
            return {**arguments, "callback_at": data.get("callback_at"), "intent": data.get("intent") or Intent.MEDIUM}
        if contact is not None:
            arguments["channel"] = contact.channel
        if fulfilment_flow(product) == Flow.DIRECT:
            arguments["service_number"] = data.get("service_number", "")
        if product.needs_number:
            arguments["pool_number"] = data.get("pool_number", "")
        if product.needs_delivery:
            arguments.update(
                delivery_address=data.get("delivery_address", ""),
                appointment_date=data.get("appointment_date"),
                appointment_slot=data.get("appointment_slot", ""),
            )
        return arguments

    def clean(self):
        cleaned = super().clean()
        product = self._products.get(cleaned.get("product"))
        # The slot completes the appointment the courier is sent with (the service needs only the date).
        if product is not None and product.needs_delivery and product.category.flow != Flow.DEFERRED and not cleaned.get("appointment_slot"):
            self.add_error("appointment_slot", _("Pick a time slot for the delivery."))
        return cleaned


class QueueFilterForm(forms.Form):
    """The back-office queue's filters; an unknown value is reported and ignored, never a 500."""

    vip_tier = forms.ChoiceField(label=_("VIP tier"), required=False, choices=[("", _("All tiers")), *VipTier.choices])
    category = forms.ChoiceField(label=_("Category"), required=False)
    breached_only = forms.BooleanField(label=_("Only breached"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories")), *selectors.back_office_queue_categories()]

    def filters(self) -> dict:
        """The valid filters (invalid ones dropped), as keyword arguments of ``selectors.back_office_queue``."""
        self.is_valid()
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}
