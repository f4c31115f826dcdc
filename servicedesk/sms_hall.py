"""The SMS hall: customers text commands to the hall's number and get an answer by SMS.

The gateway hands each inbound SMS to ``sms_inbound_receive`` (through
``apis_sms_hall``). It is stored once per gateway message id: a repeat, even one
racing the first, gets the first answer and sends nothing more (the unique
``InboundSms.gateway_id`` is the guard; the reply's outbox key is derived from
it too).

The sender is the customer whose subscription has the ``from`` number. The text
is normalised (full-width letters, digits and spaces, case) and read as
``KEYWORD [arguments]``. The core knows no domain app: each app registers its
commands from ``AppConfig.ready()`` with ``register_sms_command``, and a handler
gets an ``SmsRequest`` and gives back an ``SmsAnswer``. Anything that is no
command becomes a contact awaiting an agent (the agents' inbox,
``views_inbox``). Every SMS from a known customer is recorded as a contact of
channel ``sms_hall`` linked to what it concerned, so the console's timeline
shows it.

The reply is in English when the message is English (an English keyword or
plain ASCII text), in Chinese otherwise. Pinyin initials (``DD``, ``WL``...) are
what Chinese speakers type, so they are answered in Chinese; a message with no
language of its own (``5``, ``?``) is answered in the language the sender last
used, else in ``SMS_DEFAULT_LANGUAGE``.

Handlers act for the customer as the platform itself (``by=None``): the hall has
already checked that what they touch is the sender's own.
"""
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .api.errors import Conflict
from .models import Channel, Contact, Customer, InboundSms, Outcome, Subscription
from .phones import normalize_service_number
from .roles import require_permission
from .selectors import contacts_visible_to
from .services import contact_link, contact_record
from .sms import SmsTemplateMissing, sms_send, sms_templates_load

logger = logging.getLogger(__name__)

ENGLISH = "en"
CHINESE = "zh-hans"
REPLY_TEMPLATE = "sms_hall.reply"
MESSAGE_ID_MAX = 100
TEXT_MAX = 1000

# The reply is editable in the admin like every SMS text (a signature, say); it only wraps the answer.
DEFAULT_TEMPLATES = {
    REPLY_TEMPLATE: (
        "The SMS hall's answer to a customer's SMS",
        {"zh-hans": "【中国联通】{reply}", "en": "[China Unicom] {reply}"},
    ),
}

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_HAS_CJK = re.compile(f"[{_CJK}]")
# Between a Chinese character and anything else: "订单123" is "订单 123".
_CJK_BOUNDARY = re.compile(f"(?<=[{_CJK}])(?=[^{_CJK}\\s])|(?<=[^{_CJK}\\s])(?=[{_CJK}])")
_SEPARATORS = re.compile(r"[,;、，；]+")
_TRAILING = re.compile(r"[.!。！~]+$")
# Chinese dates become numeric ones before the text is cut into words: 11月28日 -> 11-28.
_CN_FULL_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?")
_CN_DATE = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")
_CN_DAY = re.compile(r"(\d{1,2})日")
_CN_NUMBER = re.compile(r"(\d+)号")
_LATIN_THEN_DIGITS = re.compile(r"^([A-Z]+)(\d.*)$")


class SmsMalformed(Exception):
    """A command the hall recognised, written wrongly; ``usage`` says how to write it."""

    def __init__(self, usage: str):
        super().__init__(usage)
        self.usage = usage


@dataclass
class SmsRequest:
    """One SMS from a known customer, as a handler sees it."""

    inbound: InboundSms
    customer: Customer
    service_number: str
    keyword: str  # as matched, upper-cased: "ORDER", "订单", "DD"
    args: list[str]
    language: str  # of the reply, active while the handler runs
    staff_language: str  # of what is stored for staff to read (contacts, notes)
    by: Any = None  # the platform itself acts for the customer (services take None as the platform)

    def for_staff(self, text) -> str:
        """A (lazy) text in the staff's language, for what is stored rather than sent."""
        with translation.override(self.staff_language):
            return str(text)


@dataclass
class SmsAnswer:
    reply: str
    target: models.Model | None = None  # what the contact is linked to
    contact_reason: str = ""  # default: the SMS itself
    awaiting_agent: bool = False
    outcome: str = InboundSms.Outcome.ANSWERED


Handler = Callable[[SmsRequest], SmsAnswer]


@dataclass(frozen=True)
class SmsCommand:
    name: str
    keywords: tuple[str, ...]
    handler: Handler
    help_text: str
    bare_number: bool = False
    languages: dict[str, str | None] = field(default_factory=dict)  # keyword -> language it implies


_commands: list[SmsCommand] = []
_by_keyword: dict[str, SmsCommand] = {}


def _keyword_language(keyword: str, pinyin: Iterable[str]) -> str | None:
    if _HAS_CJK.search(keyword) or keyword in pinyin:
        return CHINESE
    if re.search(r"[A-Z]", keyword):
        return ENGLISH
    return None  # "?": no language of its own


def register_sms_command(
    keywords: Iterable[str], handler: Handler, help_text, *, name: str = "", pinyin: Iterable[str] = (), bare_number: bool = False,
) -> SmsCommand:
    """Make ``handler`` answer SMS starting with one of ``keywords`` (any case and width).

    ``help_text`` (lazy) is its line in HELP; ``pinyin`` names the keywords that are pinyin
    initials (answered in Chinese); ``bare_number`` sends a message of one digit (a score)
    here. Registering the same handler again changes nothing; a keyword taken by another
    command is a configuration error."""
    keywords = tuple(dict.fromkeys(_normalize(k).upper() for k in keywords))
    pinyin = {_normalize(k).upper() for k in pinyin}
    name = (name or keywords[0]).lower()[:30]
    for existing in _commands:
        if existing.name == name:
            if existing.handler is handler:
                return existing
            raise ImproperlyConfigured(f"SMS command {name!r} is registered twice")
    for keyword in keywords:
        if keyword in _by_keyword:
            raise ImproperlyConfigured(f"SMS keyword {keyword!r} is taken by {_by_keyword[keyword].name!r}")
    if bare_number and any(c.bare_number for c in _commands):
        raise ImproperlyConfigured("only one SMS command takes bare numbers")
    command = SmsCommand(
        name=name, keywords=keywords, handler=handler, help_text=help_text, bare_number=bare_number,
        languages={k: _keyword_language(k, pinyin) for k in keywords},
    )
    _commands.append(command)
    for keyword in keywords:
        _by_keyword[keyword] = command
    return command


def sms_commands() -> list[SmsCommand]:
    return list(_commands)


# --- Reading the text -------------------------------------------------------------------------

def _normalize(text: str) -> str:
    """Full-width forms to ASCII (NFKC), one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


@dataclass(frozen=True)
class ParsedSms:
    command: SmsCommand | None
    keyword: str
    args: list[str]
    language: str | None  # None: the text has no language of its own


def parse_sms(text: str) -> ParsedSms:
    """The command, its arguments and the language a text is written in."""
    text = _normalize(text)
    text = _CN_FULL_DATE.sub(r" \1-\2-\3 ", text)
    text = _CN_DATE.sub(r" \1-\2 ", text)
    text = _CN_DAY.sub(r" \1 ", text)
    text = _CN_NUMBER.sub(r" \1 ", text)
    text = _TRAILING.sub("", _SEPARATORS.sub(" ", text)).strip()
    if len(text) > 1:
        text = text.rstrip("?").strip()  # "ORDER 12?" asks about order 12; "?" alone asks for help
    words = _CJK_BOUNDARY.sub(" ", text).split()
    language = _text_language(text)
    if not words:
        return ParsedSms(None, "", [], language)
    first = words[0].upper()
    if first not in _by_keyword and (match := _LATIN_THEN_DIGITS.match(first)) and match.group(1) in _by_keyword:
        first, words = match.group(1), [match.group(1), match.group(2), *words[1:]]  # "ORDER12"
    if first not in _by_keyword and _HAS_CJK.match(first):
        # Chinese is written without spaces: "改约明天上午" is 改约 and 明天上午.
        prefix = max((k for k in _by_keyword if _HAS_CJK.match(k) and first.startswith(k)), key=len, default="")
        if prefix:
            first, words = prefix, [prefix, first[len(prefix):], *words[1:]]
    if first in _by_keyword:
        command = _by_keyword[first]
        return ParsedSms(command, first, words[1:], command.languages.get(first) or language)
    bare = next((c for c in _commands if c.bare_number), None)
    # "5", "5分", "5星": a score sent on its own.
    if bare is not None and re.fullmatch(r"\d", words[0]) and (len(words) == 1 or words[1:] in (["分"], ["星"])):
        return ParsedSms(bare, "", [words[0]], language)
    return ParsedSms(None, "", words, language)


def _text_language(text: str) -> str | None:
    if _HAS_CJK.search(text):
        return CHINESE
    if re.search(r"[A-Za-z]", text) and text.isascii():
        return ENGLISH
    return None


def reads_as_sentence(args: list[str]) -> bool:
    """Arguments no command takes: several words, or Chinese words beyond a date or a time."""
    return len(args) >= 4 or len(_HAS_CJK.findall("".join(args))) >= 3


def parse_id(args: list[str], *, usage: str, max_args: int = 1) -> int | None:
    """The optional numeric id a command takes (``ORDER 1234``); None when not given."""
    if len(args) > max_args:
        raise SmsMalformed(usage)
    if not args:
        return None
    raw = args[0].lstrip("#")
    if not raw.isdigit() or len(raw) > 12:
        raise SmsMalformed(usage)
    return int(raw)


# --- Texts every command uses -----------------------------------------------------------------

def join_sentences(parts: Iterable[str]) -> str:
    """Sentences one after the other: with a space in English, without in Chinese."""
    joiner = "" if (translation.get_language() or "").startswith("zh") else " "
    return joiner.join(p for p in parts if p)


def not_found_reply() -> str:
    return _("Not found: nothing with this number is yours. Check the number, or send the keyword alone for your latest.")


def local_time(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _help(request: SmsRequest) -> SmsAnswer:
    if reads_as_sentence(request.args):
        raise SmsMalformed("")  # "help, my phone does not work": for an agent
    lines = [str(c.help_text) for c in _commands if c.name != "help"]
    separator = "；" if request.language == CHINESE else "; "
    return SmsAnswer(reply=_("SMS hall commands: %(commands)s. Anything else goes to an agent.") % {"commands": separator.join(lines)})


register_sms_command(("HELP", "帮助", "?"), _help, gettext_lazy("HELP: this list"), name="help")


# --- Receiving an SMS -------------------------------------------------------------------------

def _clean(message_id: str, from_number: str, text: str) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    message_id = (message_id or "").strip()
    if not message_id:
        errors["message_id"] = [_("The gateway's message id is required.")]
    elif len(message_id) > MESSAGE_ID_MAX:
        errors["message_id"] = [_("At most %(max)s characters.") % {"max": MESSAGE_ID_MAX}]
    number = ""
    try:
        number = normalize_service_number(from_number or "")
    except ValidationError as exc:
        errors["from"] = exc.messages
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        errors["text"] = [_("At most %(max)s characters.") % {"max": TEXT_MAX}]
    if errors:
        raise ValidationError(errors)
    return message_id, number, text


def _sender(number: str) -> tuple[Customer | None, str]:
    """The customer whose live line sent it (a closed line's number is nobody's now)."""
    subscription = (
        Subscription.objects.select_related("customer").filter(service_number=number).exclude(status=Subscription.Status.CLOSED).first()
    )
    return (subscription.customer, subscription.service_number) if subscription else (None, number)


def _language(parsed: ParsedSms, number: str) -> str:
    if parsed.language:
        return parsed.language
    last = (
        InboundSms.objects.filter(from_number=number).exclude(language="").order_by("-received_at", "-id")
        .values_list("language", flat=True).first()
    )
    return last or settings.SMS_DEFAULT_LANGUAGE


def _answer(parsed: ParsedSms, request: SmsRequest) -> SmsAnswer:
    """Run the command's handler in a savepoint: a refusal or a failure leaves nothing half-written."""
    if parsed.command is None:
        if not parsed.args:  # an empty SMS
            return SmsAnswer(reply=_("Send HELP for the commands."), outcome=InboundSms.Outcome.MALFORMED)
        return _for_agent(_("Received; an agent will contact you soon. Send HELP for the commands."))
    try:
        with transaction.atomic():
            return parsed.command.handler(request)
    except SmsMalformed as exc:
        if reads_as_sentence(request.args):  # "投诉信号一直不好": a request in words, for a person to read
            return _for_agent(_("Received; an agent will contact you soon. Send HELP for the commands."))
        return SmsAnswer(reply=_("Sorry, that was not understood. %(usage)s") % {"usage": exc.usage}, outcome=InboundSms.Outcome.MALFORMED)
    except ValidationError as exc:
        return SmsAnswer(reply=" ".join(exc.messages))
    except Conflict as exc:
        return SmsAnswer(reply=str(exc.detail))
    except ObjectDoesNotExist:
        return SmsAnswer(reply=not_found_reply())
    except PermissionDenied:
        return _for_agent(_("This cannot be done by SMS; an agent will contact you soon."))
    except Exception:  # noqa: BLE001 - the customer gets a person instead of silence; the error is logged (no personal data)
        logger.exception("sms hall: the %s command failed on inbound SMS %s", parsed.command.name, request.inbound.pk)
        return _for_agent(_("This cannot be done by SMS; an agent will contact you soon."))


def _for_agent(reply: str) -> SmsAnswer:
    return SmsAnswer(reply=reply, awaiting_agent=True, outcome=InboundSms.Outcome.FOR_AGENT)


def _record_contact(request: SmsRequest, answer: SmsAnswer, command: SmsCommand | None, text: str) -> Contact:
    reason = answer.contact_reason or text or _("(empty SMS)")
    contact = contact_record(
        agent=None,
        channel=Channel.SMS_HALL,
        customer=request.customer,
        service_number=request.service_number,
        reason=Truncator(str(reason)).chars(200),
        business=(command.keywords[0] if command else "")[:100],
        outcome=Outcome.RESOLVED,
        notes=Truncator(answer.reply).chars(2000),
        started_at=min(request.inbound.received_at, timezone.now()),
        ended_at=timezone.now(),
    )
    if answer.awaiting_agent:
        Contact.objects.filter(pk=contact.pk).update(awaiting_agent=True)
        contact.awaiting_agent = True
    if answer.target is not None:
        contact_link(contact=contact, target=answer.target)
    return contact


def _send_reply(inbound: InboundSms, customer: Customer | None) -> None:
    arguments = {
        "to_number": inbound.from_number, "template": REPLY_TEMPLATE, "context": {"reply": inbound.reply},
        "language": inbound.language, "key": f"sms_hall:{inbound.gateway_id}", "customer": customer,
    }
    try:
        sms_send(**arguments)
    except SmsTemplateMissing:  # a fresh database: the default texts are written once
        sms_templates_load(DEFAULT_TEMPLATES)
        sms_send(**arguments)


def sms_inbound_receive(*, message_id: str, from_number: str, text: str, received_at: datetime | None = None) -> tuple[InboundSms, bool]:
    """Answer one inbound SMS and queue the reply; returns it and whether it was new.

    A message id seen before returns the first answer and does nothing more. Raises
    ValidationError naming ``message_id``, ``from`` or ``text`` for a bad hand-over."""
    first = InboundSms.objects.filter(gateway_id=(message_id or "").strip()).first()
    if first is not None:
        return first, False
    message_id, number, text = _clean(message_id, from_number, text)
    staff_language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbound = InboundSms.objects.create(
                    gateway_id=message_id, from_number=number, text=text, received_at=received_at or timezone.now(),
                    outcome=InboundSms.Outcome.MALFORMED,
                )
        except IntegrityError:  # the same message, handed over again while the first was being answered
            return InboundSms.objects.get(gateway_id=message_id), False
        customer, number = _sender(number)
        parsed = parse_sms(text)
        inbound.customer, inbound.language = customer, _language(parsed, number)
        inbound.command = parsed.command.name if parsed.command else ""
        if customer is None:
            with translation.override(inbound.language):
                answer = SmsAnswer(
                    reply=_("This number is not registered with us. Call %(hotline)s or visit the web hall.") % {"hotline": settings.SMS_HOTLINE},
                    outcome=InboundSms.Outcome.UNKNOWN_SENDER,
                )
        else:
            request = SmsRequest(
                inbound=inbound, customer=customer, service_number=number, keyword=parsed.keyword, args=parsed.args,
                language=inbound.language, staff_language=staff_language,
            )
            with translation.override(inbound.language):
                answer = _answer(parsed, request)
            inbound.contact = _record_contact(request, answer, parsed.command, text)  # in the staff's language
        inbound.outcome, inbound.reply = answer.outcome, Truncator(answer.reply).chars(TEXT_MAX)
        inbound.save(update_fields=["customer", "language", "command", "outcome", "reply", "contact"])
        _send_reply(inbound, customer)
    return inbound, True


# --- The agents' inbox: contacts awaiting an agent ------------------------------------------------

def inbox_contacts(*, user) -> QuerySet[Contact]:
    """Contacts no agent has taken up yet, oldest first (index contact_awaiting_idx)."""
    return contacts_visible_to(user).filter(awaiting_agent=True).select_related("customer").order_by("started_at", "id")


@transaction.atomic
def contact_follow_up_done(*, contact_id: int, agent, notes: str = "") -> Contact:
    """The agent has answered a waiting contact: it leaves the inbox, and the answer is recorded
    as the agent's own contact (an outbound call, resolved) linked to it."""
    require_permission(agent, "servicedesk.add_contact")
    contact = contacts_visible_to(agent).select_for_update(of=("self",)).select_related("customer").filter(pk=contact_id).first()
    if contact is None:
        raise Contact.DoesNotExist(_("No such contact."))
    if not contact.awaiting_agent:
        raise ValidationError(_("Someone has already handled this contact."))
    notes = (notes or "").strip()
    if len(notes) > 2000:
        raise ValidationError({"notes": [_("At most %(max)s characters.") % {"max": 2000}]})
    follow_up = contact_record(
        agent=agent,
        channel=Channel.OUTBOUND,
        customer=contact.customer,
        service_number=contact.service_number,
        reason=Truncator(_("Follow-up: %(reason)s") % {"reason": contact.reason}).chars(200),
        outcome=Outcome.RESOLVED,
        notes=notes,
    )
    Contact.objects.filter(pk=contact.pk).update(awaiting_agent=False)
    contact_link(contact=follow_up, target=contact, label=Truncator(_("%(channel)s contact of %(when)s") % {
        "channel": contact.get_channel_display(), "when": local_time(contact.started_at)}).chars(100))
    return follow_up
