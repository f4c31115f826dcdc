"""The web self-service hall (``/self/``): public, for a phone, no staff login.

The customer proves a service number with a one-time SMS code (``servicedesk.otp``); the
session then holds the verified number and customer for ``SELF_SERVICE_SESSION_SECONDS``.
What the signed-in customer sees and may do comes from the apps through
``servicedesk.selfservice``: each item is looked up among the customer's own, so another
customer's id is a 404. Views stay thin: parse, call the registry's action or the OTP
service, render.
"""
import ipaddress
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework.exceptions import APIException

from . import selfservice
from .masking import mask_phone
from .models import Customer
from .otp import OtpRateLimited, otp_issue, otp_verify
from .pages import put_errors_on
from .phones import normalize_service_number


class NumberForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Your service number"), max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}),
    )

    def clean_number(self):
        try:
            return normalize_service_number(self.cleaned_data["number"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code from the SMS"), regex=r"^\s*\d{6}\s*$", max_length=12,
        error_messages={"invalid": gettext_lazy("Enter the 6 digits of the code.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*", "maxlength": "6"}),
    )


def _page(request, template: str, context: dict, status: int = 200):
    return render(request, template, {"hotline": settings.SMS_HOTLINE, **context}, status=status)


def _client_ip(request) -> str | None:
    """The address the per-client limit counts: the proxy's header when one is configured, else the peer."""
    if settings.OTP_CLIENT_IP_HEADER:
        forwarded = request.META.get(settings.OTP_CLIENT_IP_HEADER, "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def signed_in_required(view):
    """The verified customer, or back to the sign-in page; ``request.selfservice`` and
    ``request.selfservice_customer`` are set for the view."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        was_signed_in = bool(request.session.get(selfservice.SESSION_KEY))
        signed = selfservice.session_signed_in(request)
        customer = Customer.objects.select_related("area").filter(pk=signed.customer_id).first() if signed else None
        if customer is None:
            if was_signed_in:
                selfservice.session_sign_out(request)
                messages.info(request, _("Your session has ended. Please sign in again."))
            return redirect("selfservice:sign_in")
        request.selfservice, request.selfservice_customer = signed, customer
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


# --- Signing in ---------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.method == "GET" and selfservice.session_signed_in(request):
        return redirect("selfservice:home")
    form = NumberForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"]
        try:
            otp_issue(service_number=number, client_ip=_client_ip(request), language=get_language())
        except OtpRateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            request.session[selfservice.PENDING_KEY] = number
            # The same words whether the number is a customer's or not.
            messages.info(request, _("If %(number)s is one of our numbers, a 6-digit code is on its way by SMS.") % {"number": mask_phone(number)})
            return redirect("selfservice:code")
    return _page(request, "selfservice/sign_in.html", {"form": form}, status)


@never_cache
@require_http_methods(["GET", "POST"])
def code(request):
    number = request.session.get(selfservice.PENDING_KEY)
    if not number:
        return redirect("selfservice:sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = otp_verify(service_number=number, code=form.cleaned_data["code"])
        if check.ok:
            selfservice.session_sign_in(request, service_number=number, customer_id=check.customer_id)
            return redirect("selfservice:home")
        form.add_error(None, check.message)
    return _page(request, "selfservice/code.html", {"form": form, "masked_number": mask_phone(number), "number": number})


@require_POST
def sign_out(request):
    selfservice.session_sign_out(request)
    messages.info(request, _("You are signed out."))
    return redirect("selfservice:sign_in")


# --- Signed in ----------------------------------------------------------------------------------

def _action_prefix(action_key: str, object_id: int | None) -> str:
    return f"{action_key.replace('.', '-')}-{object_id or 0}"


def _action_form(action, item, bound):
    """The form of ``action`` on ``item`` (None: on its section), the bound one if it was just posted."""
    object_id = item.id if item is not None else None
    found = bound.get((action.key, object_id)) if bound else None
    if found is not None:
        return found
    initial = action.initial(item) if (action.initial and item is not None) else None
    return action.form_class(initial=initial, prefix=_action_prefix(action.key, object_id))


def _card(item, bound) -> dict:
    offered = []
    for key in item.actions:
        action = selfservice.action(key)
        if action is not None:
            form = _action_form(action, item, bound)
            offered.append({"action": action, "form": form, "url": reverse("selfservice:act_on", args=[key, item.id]), "open": form.is_bound})
    return {"item": item, "actions": offered}


def _sections(customer, bound=None) -> list[dict]:
    shown = []
    for section, items in selfservice.customer_status(customer, open_only=False):
        actions = [
            {"action": a, "form": (form := _action_form(a, None, bound)), "url": reverse("selfservice:act", args=[a.key]), "open": form.is_bound}
            for a in selfservice.section_actions(section.key)
        ]
        shown.append({"section": section, "cards": [_card(i, bound) for i in items], "actions": actions})
    return shown


def _context(request, **extra) -> dict:
    customer = request.selfservice_customer
    return {
        "customer_name": selfservice.mask_name(customer.name), "masked_number": mask_phone(request.selfservice.service_number),
        "signed_in": True, **extra,
    }


@signed_in_required
def home(request, bound=None, status=200):
    # Also rendered by ``act`` with a form's errors: "next" must still lead back here, not to the action's URL.
    context = _context(request, sections=_sections(request.selfservice_customer, bound), here=reverse("selfservice:home"))
    return _page(request, "selfservice/home.html", context, status)


@signed_in_required
def item_detail(request, section_key: str, object_id: int):
    section = selfservice.section(section_key)
    if section is None:
        raise Http404
    item = section.item(request.selfservice_customer, object_id)
    if item is None:
        raise Http404
    related = selfservice.related_items(request.selfservice_customer, item.kind, item.id)
    context = _context(
        request, section=section, card=_card(item, None), related=[_card(i, None) for i in related], here=request.path,
    )
    return _page(request, "selfservice/item.html", context)


def _back(request) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if allowed and target.startswith(reverse("selfservice:home")) else reverse("selfservice:home")


@signed_in_required
@require_POST
def act(request, action_key: str, object_id: int | None = None):
    """Run one registered action for the signed-in customer; a refusal comes back as a message."""
    action = selfservice.action(action_key)
    if action is None or action.on_item != (object_id is not None):
        raise Http404
    form = action.form_class(request.POST, prefix=_action_prefix(action.key, object_id))
    if not form.is_valid():
        return home(request, bound={(action.key, object_id): form}, status=400)
    asking = selfservice.ActionRequest(customer=request.selfservice_customer, service_number=request.selfservice.service_number)
    try:
        done = action.run(asking, object_id, form.cleaned_data)
    except ObjectDoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        put_errors_on(form, exc)
        return home(request, bound={(action.key, object_id): form}, status=400)
    except APIException as exc:  # a refused step (409) with the sentence the service gave
        messages.error(request, str(exc.detail))
    except PermissionDenied:
        messages.error(request, _("This cannot be done in the self-service hall. Please call us."))
    except (TransitionNotAllowed, ConcurrentTransition):
        messages.error(request, _("This changed in the meantime; please look again and retry."))
    else:
        messages.success(request, done)
    return HttpResponseRedirect(_back(request))


urlpatterns = [
    path("", home, name="home"),
    path("sign-in/", sign_in, name="sign_in"),
    path("code/", code, name="code"),
    path("sign-out/", sign_out, name="sign_out"),
    path("do/<str:action_key>/", act, name="act"),
    path("do/<str:action_key>/<int:object_id>/", act, name="act_on"),
    path("<slug:section_key>/<int:object_id>/", item_detail, name="item"),
]
