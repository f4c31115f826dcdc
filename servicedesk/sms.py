"""The SMS gateway adapter, and sending SMS through the outbox.

Two gateways behind one interface, picked by ``SMS_GATEWAY``:
- ``builtin`` (default): keeps every message in ``SmsMessage`` and answers with a
  reference of its own, for demos, tests and halls without a real gateway;
- ``http``: a real gateway over HTTP (``SMS_GATEWAY_URL``, ``SMS_GATEWAY_TOKEN``).

Callers never call a gateway directly. ``sms_send`` renders an editable
``SmsTemplate``, writes the ``SmsMessage`` (queued) and enqueues outbox work
(kind ``sms.send``) under the same key, in the caller's transaction. The
outbox sends it after commit, retries ``TransientDeliveryError`` with backoff,
and passes the key on as the gateway's idempotency key; the unique key on
both rows means one notice is one message, however often it is asked for.

Phone numbers never reach a log line or an exception message here.
"""
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from . import registry
from .masking import mask_phone, scrub
from .models import Customer, OutboxMessage, SmsMessage, SmsTemplate
from .outbox import TransientDeliveryError, outbox_enqueue, outbox_handler
from .registry import TimelineEntry
from .selectors import restrict_to_visible_customers

SMS_SEND = "sms.send"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class SmsResult:
    reference: str


class SmsRejected(Exception):
    """The gateway refused the message for good (bad number, blocked, bad request)."""


class SmsTemplateMissing(LookupError):
    """No template with this code in the asked language nor in the fallback language."""


# --- Gateways ---------------------------------------------------------------------------

class SmsGateway:
    def send(self, *, key: str, to_number: str, body: str) -> SmsResult:  # pragma: no cover - interface
        raise NotImplementedError


class BuiltinSmsGateway(SmsGateway):
    """Sends nothing out: the stored ``SmsMessage`` is the message, visible in the SMS page
    and the customer timeline. A message sent without ``sms_send`` is stored here too."""

    def send(self, *, key: str, to_number: str, body: str) -> SmsResult:
        message, _created = SmsMessage.objects.get_or_create(key=key, defaults={"to_number": to_number, "body": body})
        return SmsResult(reference=f"SD{message.pk:010d}")


class HttpSmsGateway(SmsGateway):
    """POSTs ``{"to", "text", "reference"}`` as JSON to ``<url>/messages`` with the outbox key as
    ``Idempotency-Key``; expects ``{"reference": ...}`` back."""

    def __init__(self, *, url: str, token: str = "", timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, *, key: str, to_number: str, body: str) -> SmsResult:
        request = urllib.request.Request(
            f"{self.url}/messages",
            data=json.dumps({"to": to_number, "text": body, "reference": key}, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": key, "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # The status only: the gateway's body may echo the number.
            if exc.code >= 500 or exc.code in (408, 429):
                raise TransientDeliveryError(f"SMS gateway answered HTTP {exc.code}") from None
            raise SmsRejected(f"SMS gateway refused the message: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientDeliveryError(f"SMS gateway unreachable: {exc.__class__.__name__}") from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        return SmsResult(reference=str(answer.get("reference", "") if isinstance(answer, dict) else "")[:80])


@lru_cache(maxsize=1)
def sms_gateway() -> SmsGateway:
    name = settings.SMS_GATEWAY
    if name == "builtin":
        return BuiltinSmsGateway()
    if name == "http":
        return HttpSmsGateway(url=settings.SMS_GATEWAY_URL, token=settings.SMS_GATEWAY_TOKEN, timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS)
    return import_string(name)()


# --- Templates ---------------------------------------------------------------------------

# code -> {placeholder: what it is}, filled by the apps that send notices (from their ready()),
# so that the admin can say which placeholders a template may use.
_placeholders: dict[str, dict[str, str]] = {}


def register_template_placeholders(code: str, placeholders: dict[str, str]) -> None:
    _placeholders[code] = dict(placeholders)


def template_placeholders(code: str) -> dict[str, str] | None:
    """The placeholders a notice fills, or None for a code no app has declared."""
    return _placeholders.get(code)


def placeholders_in(body: str) -> list[str]:
    return _PLACEHOLDER.findall(body or "")


def sms_render(body: str, context: dict) -> str:
    """Fill ``{name}`` placeholders from ``context``; an unknown one stays as written.

    Not ``str.format``: an edited template must never fail to render nor reach attributes."""
    return _PLACEHOLDER.sub(lambda m: str(context[m.group(1)]) if m.group(1) in context else m.group(0), body)


def sms_template_for(*, code: str, language: str) -> SmsTemplate:
    """The template in ``language``, else in the default SMS language, else in whichever language
    it still has (an admin may have deleted one): a notice is better sent in the other language than not at all."""
    found = {t.language: t for t in SmsTemplate.objects.filter(code=code)}
    template = found.get(language) or found.get(settings.SMS_DEFAULT_LANGUAGE) or next((found[k] for k in sorted(found)), None)
    if template is None:
        raise SmsTemplateMissing(code)
    return template


# --- Sending -----------------------------------------------------------------------------

def sms_send(*, to_number: str, template: str, context: dict, language: str, key: str, customer: Customer | None = None) -> SmsMessage:
    """Queue one SMS; call inside the transaction of the change that causes it.

    The same ``key`` asked again returns the first message and sends nothing more."""
    existing = SmsMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    to_number = "".join(ch for ch in (to_number or "") if ch.isdigit())
    if not 7 <= len(to_number) <= 12:
        raise ValueError("not a service number")  # the number itself is not repeated: messages get logged
    body = sms_render(sms_template_for(code=template, language=language).body, context)
    with transaction.atomic():
        try:
            with transaction.atomic():
                message = SmsMessage.objects.create(to_number=to_number, body=body[:1000], template=template, key=key, customer=customer)
        except IntegrityError:  # the same notice written at the same moment by another transaction
            return SmsMessage.objects.get(key=key)
        outbox_enqueue(kind=SMS_SEND, key=key, payload={"message_id": message.pk})
    return message


def _outbox_gave_up(key: str) -> bool:
    attempts = OutboxMessage.objects.filter(key=key).values_list("attempts", flat=True).first()
    return attempts is not None and attempts >= settings.OUTBOX_MAX_ATTEMPTS


@outbox_handler(SMS_SEND)
def deliver_sms(payload: dict, *, key: str) -> dict:
    """Outbox work: hand the stored message to the gateway once, and record the outcome."""
    message = SmsMessage.objects.get(pk=payload["message_id"])
    if message.status == SmsMessage.Status.SENT:
        return {"reference": message.gateway_reference}
    try:
        result = sms_gateway().send(key=key, to_number=message.to_number, body=message.body)
    except TransientDeliveryError:
        if _outbox_gave_up(key):
            SmsMessage.objects.filter(pk=message.pk).update(status=SmsMessage.Status.FAILED)
        raise
    except SmsRejected:
        SmsMessage.objects.filter(pk=message.pk).update(status=SmsMessage.Status.FAILED)
        raise
    SmsMessage.objects.filter(pk=message.pk).update(status=SmsMessage.Status.SENT, gateway_reference=result.reference, sent_at=timezone.now())
    return {"reference": result.reference}


# --- Reads -------------------------------------------------------------------------------

def may_see_full_numbers(user) -> bool:
    """Staff who speak with customers confirm numbers on the call; report readers and managers
    see them masked."""
    return user.has_perm("servicedesk.add_contact")


# Texts that carry a secret for the customer alone (a sign-in code): no member of staff reads it.
SECRET_TEMPLATES = {"selfservice_code"}
_CODE = re.compile(r"\d{4,8}")


def sms_for_display(message: SmsMessage, user) -> dict:
    full = may_see_full_numbers(user)
    body = message.body if full else scrub(message.body)
    if message.template in SECRET_TEMPLATES:
        body = _CODE.sub(lambda m: "*" * len(m.group()), body)
    return {
        "message": message,
        "to_number": message.to_number if full else mask_phone(message.to_number),
        "body": body,
    }


def sms_messages_visible_to(user) -> QuerySet[SmsMessage]:
    if not user.is_authenticated or not user.has_perm("servicedesk.view_smsmessage"):
        return SmsMessage.objects.none()
    return restrict_to_visible_customers(SmsMessage.objects.all(), user)


def sms_messages(*, user, to_number: str = "", customer_id: int | None = None) -> QuerySet[SmsMessage]:
    """Newest first; filtered by number (index sms_number_idx) or customer (sms_customer_idx)."""
    messages = sms_messages_visible_to(user).select_related("customer")
    if to_number:
        messages = messages.filter(to_number=to_number)
    if customer_id is not None:
        messages = messages.filter(customer_id=customer_id)
    if to_number or customer_id is not None:
        return messages.order_by("-created_at", "-id")
    return messages.order_by("-id")  # the primary key: no sort over the whole table


def sms_timeline_entries(customer: Customer, user, limit: int) -> list[TimelineEntry]:
    if not user.has_perm("servicedesk.view_smsmessage"):
        return []
    messages = SmsMessage.objects.filter(customer=customer).order_by("-created_at", "-id")[:limit]
    url = reverse("sms:list") + f"?customer={customer.pk}"
    statuses = dict(SmsMessage.Status.choices)
    entries = []
    for message in messages:
        shown = sms_for_display(message, user)
        entries.append(TimelineEntry(
            at=message.created_at,
            kind="sms",
            title=_("SMS to %(number)s") % {"number": shown["to_number"]},
            detail=shown["body"],
            channel=pgettext("channel", "SMS"),
            url=url,
            badge=statuses.get(message.status, message.status),
            extra={"id": message.pk, "status": message.status, "template": message.template},
        ))
    return entries


registry.register_timeline_source(sms_timeline_entries)


@transaction.atomic
def sms_templates_load(defaults: dict, *, overwrite: bool = False) -> int:
    """Write an app's default texts ``{code: (description, {language: body})}``; an existing
    (possibly edited) text stays unless ``overwrite``. Returns how many were written."""
    written = 0
    for code, (description, bodies) in defaults.items():
        for language, body in bodies.items():
            if overwrite:
                SmsTemplate.objects.update_or_create(code=code, language=language, defaults={"body": body, "description": description})
                written += 1
            else:
                written += SmsTemplate.objects.get_or_create(code=code, language=language, defaults={"body": body, "description": description})[1]
    return written
