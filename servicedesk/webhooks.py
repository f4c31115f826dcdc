"""Events for integrating systems: what a subscriber is told, how it is signed and sent.

Publishing is only inserts: a change writes one outbox message per active subscription
listening to the event's kind, in the change's own transaction, so the event exists if and
only if the change committed. Workers POST them after commit (outbox kind ``webhook``), with
the outbox's retries and backoff. Each message names a stream (the subscription and the
object), so one subscriber receives the events about one object in the order they happened;
a subscriber that is slow or down delays only its own streams.

The event, as the JSON body of the POST::

    {"id": "orders.ordertransition:42", "kind": "order.status_changed",
     "occurred_at": "2026-05-01T08:30:00+00:00",
     "object": {"type": "order", "id": 17, "external_id": "CRM-9", "customer_id": 5},
     "from": "submitted", "to": "accepted", "transition": "accept"}

It carries ids and states, never personal data (names, numbers, addresses): a subscriber
that needs more reads it through the API under its own permissions.

Headers: ``X-Servicedesk-Event`` (the kind), ``X-Servicedesk-Event-Id``,
``X-Servicedesk-Timestamp`` (Unix seconds at sending) and ``X-Servicedesk-Signature``:
``sha256=`` + hex HMAC-SHA256 under the subscription's secret of ``timestamp + "." + body``
(the scheme carriers sign their calls to us with, ``delivery.carrier_auth``).

Delivery is at least once, and in practice once: a 2xx is delivered; 408, 429, 5xx, a
timeout or a refused connection are retried with backoff up to ``OUTBOX_MAX_ATTEMPTS``, then
failed (an admin can send it again); any other answer (4xx, 3xx: redirects are not followed)
fails at once. When the outcome of a POST is unknown (a timeout after the request went out, a
worker that died mid-request) the same event, with the same id, is sent again: receivers must
ignore an ``X-Servicedesk-Event-Id`` they have already processed.

Which models publish their state changes is a registry filled by the domain apps
(``publish_status_changes`` in their ``AppConfig.ready()``); ``servicedesk.fsm.run_transition``
calls ``status_changed`` after writing the transition record, whose id makes the event id.
"""
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import OutboxMessage, WebhookSubscription
from .outbox import TransientDeliveryError, outbox_enqueue, outbox_handler

logger = logging.getLogger(__name__)

WEBHOOK = "webhook"  # the outbox kind

ORDER_STATUS_CHANGED = "order.status_changed"
SHIPMENT_STATUS_CHANGED = "shipment.status_changed"
COMPLAINT_STATUS_CHANGED = "complaint.status_changed"
CONTACT_CREATED = "contact.created"

EVENT_KINDS = {
    ORDER_STATUS_CHANGED: gettext_lazy("An order moved to another state."),
    SHIPMENT_STATUS_CHANGED: gettext_lazy("A shipment moved to another state."),
    COMPLAINT_STATUS_CHANGED: gettext_lazy("A complaint moved to another state (or was escalated, or appealed)."),
    CONTACT_CREATED: gettext_lazy("A contact was recorded, on any channel."),
}

EVENT_HEADER = "X-Servicedesk-Event"
EVENT_ID_HEADER = "X-Servicedesk-Event-Id"
TIMESTAMP_HEADER = "X-Servicedesk-Timestamp"
SIGNATURE_HEADER = "X-Servicedesk-Signature"
SIGNATURE_PREFIX = "sha256="

SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 100  # the model's column


# --- Which models publish ---------------------------------------------------------------------


@dataclass(frozen=True)
class _StatusPublisher:
    object_type: str
    kind: str
    refs: tuple[str, ...]


_status_publishers: dict[str, _StatusPublisher] = {}


def publish_status_changes(model_label: str, object_type: str, *, refs: tuple[str, ...] = ("external_id",)) -> None:
    """Make the state changes of ``model_label`` ("orders.Order") events ``<object_type>.status_changed``.

    ``refs`` are attribute names copied into the event's ``object`` when set: references an
    integrator matches on (its own external id, the customer's or the order's id), never
    personal data."""
    kind = f"{object_type}.status_changed"
    if kind not in EVENT_KINDS:
        raise ValueError(f"no event kind {kind}")
    _status_publishers[model_label] = _StatusPublisher(object_type=object_type, kind=kind, refs=tuple(refs))


def _object(instance, object_type: str, refs: tuple[str, ...]) -> dict:
    described = {"type": object_type, "id": instance.pk}
    for ref in refs:
        value = getattr(instance, ref, None)
        if value not in (None, ""):
            described[ref] = value
    return described


# --- Publishing -------------------------------------------------------------------------------


def status_changed(*, instance, record, transition: str) -> int:
    """Publish the state change ``record`` (a TransitionRecord row) of ``instance``, if its model publishes.

    Returns the number of subscriptions it was written for."""
    publisher = _status_publishers.get(instance._meta.label)
    if publisher is None:
        return 0
    event = {
        "id": f"{record._meta.label_lower}:{record.pk}",
        "kind": publisher.kind,
        "occurred_at": record.at.isoformat(),
        "object": _object(instance, publisher.object_type, publisher.refs),
        "from": record.from_state,
        "to": record.to_state,
        "transition": transition,
    }
    return publish(event)


def contact_created(contact) -> int:
    event = {
        "id": f"{contact._meta.label_lower}:{contact.pk}",
        "kind": CONTACT_CREATED,
        "occurred_at": timezone.now().isoformat(),
        "object": _object(contact, "contact", ("customer_id", "channel", "outcome")),
    }
    return publish(event)


def publish(event: dict) -> int:
    """Write ``event`` for every active subscription to its kind, in the caller's transaction.

    The key makes a second write of the same event for the same subscription a no-op."""
    subscriptions = [s for s in WebhookSubscription.objects.filter(active=True).only("id", "events") if event["kind"] in s.events]
    obj = event["object"]
    for subscription in subscriptions:
        outbox_enqueue(
            kind=WEBHOOK,
            key=f"webhook:{subscription.id}:{event['id']}",
            stream=f"webhook:{subscription.id}:{obj['type']}:{obj['id']}",
            payload={"subscription_id": subscription.id, "event": event},
        )
    return len(subscriptions)


# --- Signing and sending ----------------------------------------------------------------------


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, timestamp: str, body: bytes, signature_header: str, max_skew_seconds: int = 300) -> bool:
    """What a receiver checks (and what the tests check): a fresh timestamp and a matching signature."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_skew_seconds
    except ValueError:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return fresh and hmac.compare_digest(expected.encode(), (signature_header or "").strip().encode())


def event_body(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookRejected(Exception):
    """The subscriber answered in a way that retrying will not change, or the subscription is gone."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without a body; a subscriber that moved
    # must update its URL instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_post(*, url: str, secret: str, event: dict, timeout: float | None = None) -> dict:
    """POST one signed event. Returns ``{"http_status", "ms"}`` on 2xx; raises
    ``TransientDeliveryError`` for what may work later and ``WebhookRejected`` otherwise."""
    body = event_body(event)
    stamp = str(int(time.time()))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "servicedesk-webhooks/1",
        EVENT_HEADER: event["kind"],
        EVENT_ID_HEADER: event["id"],
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret=secret, timestamp=stamp, body=body),
    })
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=timeout or settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)  # a little, so a keep-alive server is not left mid-answer
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransientDeliveryError(f"{reason.__class__.__name__}: {reason}") from exc
    elapsed_ms = round((time.monotonic() - started) * 1000)
    if 200 <= code < 300:
        return {"http_status": code, "ms": elapsed_ms}
    if code in (408, 429) or code >= 500:
        raise TransientDeliveryError(f"HTTP {code}")
    raise WebhookRejected(f"HTTP {code}")


@outbox_handler(WEBHOOK)
def _deliver(payload: dict, *, key: str) -> dict:
    subscription = WebhookSubscription.objects.filter(pk=payload["subscription_id"]).only("url", "secret", "active").first()
    if subscription is None:
        raise WebhookRejected("the subscription was deleted")
    if not subscription.active:
        raise WebhookRejected("the subscription is inactive")
    return webhook_post(url=subscription.url, secret=subscription.secret, event=payload["event"])


# --- Subscriptions (what a client manages through the API) ------------------------------------


def _clean(*, name: str, url: str, events, secret: str | None) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the subscription a name.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        if len(url) > 500:
            raise ValidationError("too long")
    except ValidationError:
        errors["url"] = [_("Give an http:// or https:// URL of at most 500 characters.")]
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errors["events"] = [_("Give a list of one or more event kinds.")]
    elif unknown := sorted(set(events) - set(EVENT_KINDS)):
        errors["events"] = [_("Unknown event kinds: %(kinds)s. Known: %(known)s.") % {"kinds": ", ".join(unknown), "known": ", ".join(EVENT_KINDS)}]
    if secret is not None and not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH):
        errors["secret"] = [_("A secret has %(min)s to %(max)s characters.") % {"min": SECRET_MIN_LENGTH, "max": SECRET_MAX_LENGTH}]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "url": url, "events": sorted(set(events), key=list(EVENT_KINDS).index)}


@transaction.atomic
def webhook_subscription_create(*, client, name: str, url: str, events: list[str], secret: str | None = None,
                                active: bool = True) -> WebhookSubscription:
    """A new subscription; without a ``secret`` one is generated (show it to the client once)."""
    values = _clean(name=name, url=url, events=events, secret=secret)
    return WebhookSubscription.objects.create(client=client, secret=secret or secrets.token_hex(32), active=active, **values)


@transaction.atomic
def webhook_subscription_update(*, subscription: WebhookSubscription, **changes) -> WebhookSubscription:
    """Change name, url, events, active or secret; what is not given stays."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    merged = {f: changes.get(f, getattr(subscription, f)) for f in ("name", "url", "events")}
    values = _clean(**merged, secret=changes.get("secret"))
    for field, value in values.items():
        setattr(subscription, field, value)
    if changes.get("secret"):
        subscription.secret = changes["secret"]
    if "active" in changes:
        subscription.active = bool(changes["active"])
    subscription.save()
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete it; its undelivered events are marked failed (kept, for the record) instead of sent."""
    OutboxMessage.objects.filter(kind=WEBHOOK, key__startswith=f"webhook:{subscription.pk}:", status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.FAILED, last_error="the subscription was deleted"
    )
    subscription.delete()


def webhook_deliveries(*, subscription_id: int):
    """The outbox messages of one subscription, newest first (the key's prefix is indexed)."""
    return OutboxMessage.objects.filter(kind=WEBHOOK, key__startswith=f"webhook:{subscription_id}:").order_by("-id")
