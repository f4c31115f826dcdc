"""The SMS the platform sent: by number or customer, newest first (servicedesk.view_smsmessage)."""
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .pages import page_number, require
from .phones import normalize_service_number
from .selectors import customers_visible_to
from .sms import may_see_full_numbers, sms_for_display, sms_messages

MESSAGES_PER_PAGE = 25


class SmsFilterForm(forms.Form):
    number = forms.CharField(label=_("Number"), required=False, max_length=20)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    def clean_number(self):
        raw = (self.cleaned_data.get("number") or "").strip()
        if not raw:
            return ""
        try:
            return normalize_service_number(raw)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


@login_required
@require_GET
def sms_list(request):
    require(request, "servicedesk.view_smsmessage")
    form = SmsFilterForm(request.GET)
    valid = form.is_valid()
    number = form.cleaned_data.get("number", "") if valid else ""
    customer_id = form.cleaned_data.get("customer") if valid else None
    customer = customers_visible_to(request.user).filter(pk=customer_id).first() if customer_id else None
    if valid:
        messages = sms_messages(user=request.user, to_number=number, customer_id=customer_id)
    else:
        messages = sms_messages(user=request.user).none()
    page = Paginator(messages, MESSAGES_PER_PAGE).get_page(page_number(request.GET))
    rows = [sms_for_display(message, request.user) for message in page.object_list]
    query = urlencode({k: v for k, v in (("number", number), ("customer", customer_id or "")) if v})
    return render(request, "servicedesk/sms_list.html", {
        "form": form, "page": page, "rows": rows, "customer": customer, "customer_id": customer_id,
        "full_numbers": may_see_full_numbers(request.user), "extra": f"{query}&" if query else "",
    })


urlpatterns = [
    path("sms/", sms_list, name="list"),
]
