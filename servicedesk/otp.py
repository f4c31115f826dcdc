"""One-time codes that prove a service number in the web self-service hall.

``otp_issue`` sends a 6-digit code by SMS (template ``selfservice_code``, through the outbox)
and keeps only its HMAC (keyed with ``SECRET_KEY``); ``otp_verify`` checks it. A code expires
after ``OTP_TTL_SECONDS``, is used once, and is dead after ``OTP_MAX_ATTEMPTS`` wrong tries;
only the newest code of a number counts. Issuing is rate-limited: one code per number per
``OTP_RESEND_SECONDS``, ``OTP_PER_NUMBER_PER_HOUR`` per number and ``OTP_PER_IP_PER_HOUR`` per
client address; a refusal says when to try again.

A number that is no customer's gets the same answer as one that is: a code row is written
(so the same limits apply) but no SMS goes out, and no code ever verifies for it.
Issuing takes a lock per number and per address (PostgreSQL advisory locks), so two requests
at the same moment cannot both pass a limit. ``otp_purge`` (daily, beat) deletes rows older than
``OTP_KEEP_HOURS``. The functions take ``now`` so tests can move the clock.
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import OneTimeCode, SmsTemplate, Subscription
from .phones import normalize_service_number
from .sms import register_template_placeholders, sms_send, sms_templates_load

SELFSERVICE_CODE = "selfservice_code"
HOUR = timedelta(hours=1)

PLACEHOLDERS = {SELFSERVICE_CODE: {"code": "the 6-digit code", "minutes": "how many minutes it stays valid"}}
# code -> (when it is sent, {language: text}); edited in the admin once loaded.
DEFAULT_TEMPLATES = {
    SELFSERVICE_CODE: (
        "Sign-in code for the web self-service hall",
        {
            "zh-hans": "【中国联通】您的自助服务验证码为{code}，{minutes}分钟内有效。请勿将验证码告诉任何人，客服人员不会向您索取。",
            "en": "[China Unicom] Your self-service code is {code}, valid for {minutes} minutes. "
                  "Never tell it to anyone: our staff will never ask for it.",
        },
    ),
}

for _code, _placeholders in PLACEHOLDERS.items():
    register_template_placeholders(_code, _placeholders)


def otp_templates_load(*, overwrite: bool = False) -> int:
    """Write the default texts; an existing (possibly edited) text stays unless ``overwrite``."""
    return sms_templates_load(DEFAULT_TEMPLATES, overwrite=overwrite)


class OtpRateLimited(Exception):
    """Too many codes asked for; ``retry_at`` is the earliest moment another one may be sent."""

    def __init__(self, retry_at: datetime, now: datetime):
        self.retry_at = retry_at
        self.wait_seconds = max(1, int((retry_at - now).total_seconds() + 0.999))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        at = timezone.localtime(self.retry_at).strftime("%H:%M:%S")
        if self.wait_seconds < 120:
            wait = ngettext("%(n)s second", "%(n)s seconds", self.wait_seconds) % {"n": self.wait_seconds}
        else:
            minutes = (self.wait_seconds + 59) // 60
            wait = ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
        return _("Too many codes were asked for. Please try again in %(wait)s (at %(at)s).") % {"wait": wait, "at": at}


@dataclass(frozen=True)
class OtpCheck:
    """What a code check found. ``reason`` is "", "none", "expired", "locked" or "wrong"."""

    ok: bool
    customer_id: int | None = None
    reason: str = ""
    attempts_left: int = 0

    @property
    def message(self) -> str:
        if self.ok:
            return ""
        if self.reason == "wrong" and self.attempts_left > 0:
            return ngettext(
                "That code is not right. You can try %(n)s more time.", "That code is not right. You can try %(n)s more times.",
                self.attempts_left,
            ) % {"n": self.attempts_left}
        if self.reason == "expired":
            return _("That code has expired. Ask for a new one.")
        if self.reason in ("locked", "wrong"):
            return _("Too many wrong codes. Ask for a new one.")
        return _("There is no valid code for this number. Ask for a new one.")


def _hash(service_number: str, code: str) -> str:
    return salted_hmac("servicedesk.otp", f"{service_number}:{code}", algorithm="sha256").hexdigest()


def _customer_id(service_number: str) -> int | None:
    return (
        Subscription.objects.filter(service_number=service_number)
        .exclude(status=Subscription.Status.CLOSED)
        .values_list("customer_id", flat=True)
        .first()
    )


def _retry_at(service_number: str, client_ip: str | None, now: datetime) -> datetime | None:
    """The latest moment any limit lifts, or None when a code may be sent now."""
    codes = OneTimeCode.objects.filter(created_at__lte=now)
    blocked: list[datetime] = []
    resend = timedelta(seconds=settings.OTP_RESEND_SECONDS)
    by_number = codes.filter(service_number=service_number, created_at__gt=now - HOUR)
    last = by_number.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and last > now - resend:
        blocked.append(last + resend)
    limits = [(by_number, settings.OTP_PER_NUMBER_PER_HOUR)]
    if client_ip:
        limits.append((codes.filter(client_ip=client_ip, created_at__gt=now - HOUR), settings.OTP_PER_IP_PER_HOUR))
    for window, limit in limits:
        times = list(window.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(times) >= limit:
            blocked.append(times[limit - 1] + HOUR)  # when the oldest of the last ``limit`` leaves the hour
    return max(blocked) if blocked else None


def _lock(kind: str, value: str) -> None:
    """Serialize code requests for one number (one address) until the transaction ends.

    Always the number first, then the address, so two requests never wait on each other in a circle.
    SQLite serializes all writes anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"servicedesk.otp:{kind}:{value}"])


def otp_purge(*, now: datetime | None = None) -> int:
    """Delete code rows older than ``OTP_KEEP_HOURS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.OTP_KEEP_HOURS)
    deleted, _by_model = OneTimeCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def otp_issue(*, service_number: str, client_ip: str | None = None, language: str | None = None, now: datetime | None = None) -> OneTimeCode:
    """Send a sign-in code to ``service_number`` (ValidationError when it is no service number at all).

    Raises ``OtpRateLimited``. Returns the code's row whether or not the number is a customer's;
    callers must answer alike in both cases."""
    number = normalize_service_number(service_number)
    language = language if language in dict(settings.LANGUAGES) else settings.SMS_DEFAULT_LANGUAGE
    with transaction.atomic():
        _lock("number", number)
        if client_ip:
            _lock("address", client_ip)
        # Read the clock once the lock is held: a request that waited sees the code sent before it as past.
        now = now or timezone.now()
        retry_at = _retry_at(number, client_ip, now)
        if retry_at is not None:
            raise OtpRateLimited(retry_at, now)
        code = f"{secrets.randbelow(10**6):06d}"
        row = OneTimeCode.objects.create(
            service_number=number, code_hash=_hash(number, code), client_ip=client_ip or None,
            created_at=now, expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        customer_id = _customer_id(number)
        if customer_id is not None:
            if not SmsTemplate.objects.filter(code=SELFSERVICE_CODE).exists():
                otp_templates_load()
            # No customer on the message: the code stays out of the customer's timeline that agents read.
            sms_send(
                to_number=number, template=SELFSERVICE_CODE, language=language, key=f"otp:{row.pk}",
                context={"code": code, "minutes": max(1, settings.OTP_TTL_SECONDS // 60)},
            )
    return row


def otp_verify(*, service_number: str, code: str, now: datetime | None = None) -> OtpCheck:
    """Check ``code`` against the newest code sent to the number; a right one is used up at once."""
    try:
        number = normalize_service_number(service_number)
    except ValidationError:  # a bad number simply has no code
        return OtpCheck(False, reason="none")
    now = now or timezone.now()
    code = "".join((code or "").split())
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(service_number=number, created_at__lte=now)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None or row.used_at is not None:
            return OtpCheck(False, reason="none")
        if row.expires_at <= now:
            return OtpCheck(False, reason="expired")
        if row.attempts >= settings.OTP_MAX_ATTEMPTS:
            return OtpCheck(False, reason="locked")
        customer_id = _customer_id(number)
        if customer_id is None or not constant_time_compare(row.code_hash, _hash(number, code)):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            return OtpCheck(False, reason="wrong", attempts_left=settings.OTP_MAX_ATTEMPTS - row.attempts)
        row.used_at = now
        row.save(update_fields=["used_at"])
    return OtpCheck(True, customer_id=customer_id)
