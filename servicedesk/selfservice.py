"""The self-service halls' registry and the web hall's signed-in session.

The core imports no domain app: what a signed-in customer sees and may do comes from the
apps, registered from their ``AppConfig.ready()`` (``orders/selfservice.py``,
``delivery/selfservice.py``, ``complaints/selfservice.py``):

- a *section* (``register_section``): the customer's items of one kind (orders, shipments,
  complaints) as ``Item``\\ s, newest first. The web hall (``views_selfservice``) renders them;
  the IVR/app hall API (``apis_selfservice``) returns them as JSON.
- an *action* (``register_action``): something the customer may do, with the Django form that
  asks for it and a ``run`` function that checks the object is the customer's own, calls the
  app's service with the hall's system user and records the contact (``selfservice_contact``).
  An item names the actions possible on it now; an action without ``on_item`` is offered on
  its section as a whole (filing a complaint).
- an *API view* (``register_api_view``): a create endpoint under ``/api/v1/self-service/``
  (orders, complaints) that calls the app's own service with the client's channel.

Every contact a hall records has no agent and the hall's channel, and is linked to what it
touched, so the console's timeline shows it beside the agents' work.
"""
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import models
from django.utils import timezone

from .models import Channel, Contact, Customer, Outcome
from .services import contact_link, contact_record

SESSION_KEY = "selfservice"
PENDING_KEY = "selfservice_pending"  # the number a code was sent to, until it is verified
API_CHANNELS = (Channel.IVR, Channel.APP_HALL)


# --- What the apps contribute ---------------------------------------------------------------

@dataclass
class Item:
    """One of the customer's things, as a hall shows it.

    ``fields`` are (label, value) pairs for people; ``data`` the same facts for machines
    (JSON values); ``events`` (when, what) oldest first; ``refs`` the other items it belongs to
    (``{"order": 12}``); ``actions`` the keys of the actions possible on it now; ``note`` why
    an action is not possible now, in words the customer understands."""

    kind: str
    id: int
    title: str
    state: str
    state_code: str
    open: bool
    at: datetime | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[datetime, str]] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["at"] = _iso(self.at)
        body["fields"] = [{"label": str(label), "value": str(value)} for label, value in self.fields]
        body["events"] = [{"at": _iso(at), "text": str(text)} for at, text in self.events]
        body["data"] = {key: _iso(value) if isinstance(value, (date, datetime)) else value for key, value in self.data.items()}
        body["title"], body["state"], body["note"] = str(self.title), str(self.state), str(self.note)
        return body


def _iso(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    return value.isoformat() if isinstance(value, date) else value


@dataclass(frozen=True)
class Section:
    """``items(customer, open_only)`` newest first; ``item(customer, pk)`` one of the customer's own, else None."""

    key: str
    title: Any  # a lazy translation
    items: Callable[[Customer, bool], list[Item]]
    item: Callable[[Customer, int], Item | None]
    empty_text: Any = ""
    order: int = 100


@dataclass(frozen=True)
class ActionRequest:
    """Who asks, from where: the verified customer and number, the hall's channel."""

    customer: Customer
    service_number: str
    channel: str = Channel.WEB_HALL


@dataclass(frozen=True)
class Action:
    """``run(request, object_id, data) -> message`` does it in one transaction, or raises
    ValidationError / a refusal (409 ``Conflict``) / PermissionDenied with a sentence for the customer,
    or ObjectDoesNotExist when the object is not the customer's (404).
    ``initial(item) -> dict`` pre-fills the form from the item it is offered on."""

    key: str
    label: Any
    form_class: type[forms.Form]
    run: Callable[[ActionRequest, int | None, dict], str]
    section: str
    on_item: bool = True
    initial: Callable[[Item], dict] | None = None
    submit_label: Any = ""
    order: int = 100


_sections: dict[str, Section] = {}
_actions: dict[str, Action] = {}
_api_views: dict[str, Any] = {}
_permissions: set[str] = set()


def register_section(section: Section) -> Section:
    _sections[section.key] = section
    return section


def register_action(action: Action) -> Action:
    _actions[action.key] = action
    return action


def register_api_view(path: str, view) -> None:
    """``path`` under ``/api/v1/self-service/`` (``"orders/"``) served by the app's DRF view class."""
    _api_views[path] = view


def require_permissions(*permissions: str) -> None:
    """The permissions the hall's system user needs for an app's actions ("app_label.codename")."""
    _permissions.update(permissions)


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


def section(key: str) -> Section | None:
    return _sections.get(key)


def action(key: str) -> Action | None:
    return _actions.get(key)


def section_actions(section_key: str) -> list[Action]:
    """The actions offered on a section as a whole (not on one of its items)."""
    return sorted((a for a in _actions.values() if a.section == section_key and not a.on_item), key=lambda a: (a.order, a.key))


def api_views() -> list[tuple[str, Any]]:
    return sorted(_api_views.items())


def customer_status(customer: Customer, *, open_only: bool) -> list[tuple[Section, list[Item]]]:
    return [(s, s.items(customer, open_only)) for s in sections()]


def related_items(customer: Customer, kind: str, pk: int) -> list[Item]:
    """Items of other sections that belong to the given one (a shipment of an order)."""
    return [i for s in sections() for i in s.items(customer, False) if i.refs.get(kind) == pk]


# --- The hall's system user and its contacts ------------------------------------------------

def selfservice_user():
    """The hall's own account (``SELF_SERVICE_USERNAME``): created on demand, unable to log in,
    holding exactly the permissions the registered actions need (``require_permissions``)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=settings.SELF_SERVICE_USERNAME, defaults={"first_name": "Self-service", "last_name": "hall"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    missing = {p for p in _permissions if not user.has_perm(p)}
    if missing:
        for dotted in missing:
            app_label, codename = dotted.split(".", 1)
            user.user_permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        user = User.objects.get(pk=user.pk)  # has_perm caches what it read
    return user


def selfservice_contact(
    *, request: ActionRequest, reason: str, target: models.Model | None = None, label: str = "",
    outcome: str = Outcome.RESOLVED, business: str = "", notes: str = "",
) -> Contact:
    """Record the customer's self-service step (no agent) and link it to what it touched;
    call inside the action's transaction."""
    contact = contact_record(
        agent=None, channel=request.channel, customer=request.customer, service_number=request.service_number,
        reason=reason[:200], business=business[:100], outcome=outcome, notes=notes,
    )
    if target is not None:
        contact_link(contact=contact, target=target, label=label)
    return contact


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张**``, ``Wang Fang`` -> ``W********``: enough for a greeting, not to identify."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


# --- The web hall's session -------------------------------------------------------------------

@dataclass(frozen=True)
class SignedIn:
    service_number: str
    customer_id: int


def session_sign_in(request, *, service_number: str, customer_id: int) -> None:
    """A verified number: a new session key (no fixation), kept for ``SELF_SERVICE_SESSION_SECONDS``."""
    request.session.cycle_key()
    request.session.pop(PENDING_KEY, None)
    request.session[SESSION_KEY] = {
        "number": service_number, "customer": customer_id, "at": timezone.now().timestamp(),
    }


def session_signed_in(request) -> SignedIn | None:
    """The verified number and customer, or None (never signed in, signed out, or too long ago)."""
    value = request.session.get(SESSION_KEY)
    if not isinstance(value, dict):
        return None
    try:
        at, number, customer_id = float(value["at"]), str(value["number"]), int(value["customer"])
    except (KeyError, TypeError, ValueError):
        return None
    if timezone.now().timestamp() - at > settings.SELF_SERVICE_SESSION_SECONDS:
        request.session.pop(SESSION_KEY, None)
        return None
    return SignedIn(service_number=number, customer_id=customer_id)


def session_sign_out(request) -> None:
    """Forget the number only: a member of staff signed in on the same browser stays signed in."""
    request.session.pop(SESSION_KEY, None)
    request.session.pop(PENDING_KEY, None)
    request.session.cycle_key()
