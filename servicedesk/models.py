"""The core domain: staff and their organisation, customers, subscriptions,
contacts (the timeline), scripts, and the shared outbox and idempotency keys."""
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MinValueValidator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .masking import mask_address, mask_id_number, mask_phone
from .phones import validate_service_number
from .roles import Role


class ServiceArea(models.Model):
    """A district, community or cross-connect box's customers, owned by one area manager."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    district = models.CharField(_("district"), max_length=100, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("area manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_areas",
    )

    class Meta:
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Department(models.Model):
    """A support department that receives complaint work orders."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("head"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="headed_departments",
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("team lead"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="led_teams",
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A member of staff (or an API client account). Roles are the user's groups."""

    employee_no = models.CharField(_("employee number"), max_length=20, blank=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    mobile = models.CharField(_("mobile for notices"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    @cached_property
    def roles(self) -> frozenset[str]:
        if self.is_superuser:
            return frozenset(r.value for r in Role)
        return frozenset(self.groups.values_list("name", flat=True))

    def has_role(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)

    @property
    def role_labels(self) -> list[str]:
        return [Role(r).label for r in sorted(self.roles) if r in Role.values]


class VipTier(models.TextChoices):
    DIAMOND = "diamond", _("Diamond")
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    ORDINARY = "ordinary", _("Ordinary")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_PERMIT = "hk_macao_permit", _("Hong Kong/Macao permit")
    TAIWAN_PERMIT = "taiwan_permit", _("Taiwan permit")
    BUSINESS_LICENCE = "business_licence", _("Business licence")


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID)
    # Stored whole: back-office and delivery check it; everyone else sees it masked.
    id_number = models.CharField(_("ID number"), max_length=32)
    address = models.CharField(_("address"), max_length=255, blank=True)
    vip_tier = models.CharField(_("VIP tier"), max_length=10, choices=VipTier.choices, default=VipTier.ORDINARY)
    area = models.ForeignKey(ServiceArea, verbose_name=_("service area"), null=True, blank=True, on_delete=models.PROTECT, related_name="customers")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("view_full_id_number", _("Can see whole ID numbers")),
            ("view_full_address", _("Can see whole addresses")),
        ]
        indexes = [
            models.Index(fields=["id_number"], name="customer_id_number_idx"),
            # Prefix search on name (LIKE 'x%') needs the pattern opclass on PostgreSQL.
            models.Index(fields=["name"], name="customer_name_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["area", "name"], name="customer_area_name_idx"),
        ]

    def __str__(self):
        return self.name

    def id_number_for(self, user) -> str:
        return self.id_number if user.has_perm("servicedesk.view_full_id_number") else mask_id_number(self.id_number)

    def address_for(self, user) -> str:
        return self.address if user.has_perm("servicedesk.view_full_address") else mask_address(self.address)


class TariffPlan(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    monthly_fee = models.DecimalField(_("monthly fee (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = _("tariff plan")
        verbose_name_plural = _("tariff plans")
        ordering = ["monthly_fee", "code"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="subscriptions")
    service_number = models.CharField(_("service number"), max_length=12, unique=True, validators=[validate_service_number])
    tariff_plan = models.ForeignKey(TariffPlan, verbose_name=_("tariff plan"), on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    activated_on = models.DateField(_("activation date"), null=True, blank=True)
    monthly_spend = models.DecimalField(
        _("monthly spend (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["service_number"]
        indexes = [models.Index(fields=["customer", "status"], name="subscription_customer_idx")]
        constraints = [models.CheckConstraint(condition=Q(monthly_spend__gte=0), name="subscription_spend_not_negative")]

    def __str__(self):
        return self.service_number

    @property
    def masked_number(self) -> str:
        return mask_phone(self.service_number)


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    IVR = "ivr", _("IVR")
    WEB_HALL = "web_hall", _("Web hall")
    APP_HALL = "app_hall", _("App hall")
    SMS_HALL = "sms_hall", _("SMS hall")
    WALK_IN = "walk_in", _("Walk-in hall")
    OUTBOUND = "outbound", _("Outbound call")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    ORDER_OPENED = "order_opened", _("Order opened")
    COMPLAINT_OPENED = "complaint_opened", _("Complaint opened")
    OPPORTUNITY = "opportunity", _("Opportunity")
    NO_SALE = "no_sale", _("No sale")


class Contact(models.Model):
    """One interaction with a customer, from any channel."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.HOTLINE)
    service_number = models.CharField(_("service number"), max_length=12, blank=True)
    reason = models.CharField(_("caller reason"), max_length=200)
    business = models.CharField(_("business consulted"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.RESOLVED)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # A self-service contact (an SMS the hall could not answer) waiting for an agent to follow up.
    awaiting_agent = models.BooleanField(_("awaiting an agent"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-started_at", "-id"]
        permissions = [("view_channel_live", _("Can watch contacts per channel per hour"))]
        indexes = [
            models.Index(fields=["customer", "-started_at"], name="contact_customer_time_idx"),
            models.Index(fields=["service_number", "-started_at"], name="contact_number_time_idx"),
            models.Index(fields=["agent", "started_at"], name="contact_agent_time_idx"),
            models.Index(fields=["channel", "started_at"], name="contact_channel_time_idx"),
            models.Index(fields=["started_at"], name="contact_time_idx"),
            models.Index(fields=["started_at"], condition=Q(awaiting_agent=True), name="contact_awaiting_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")), name="contact_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.started_at:%Y-%m-%d %H:%M} {self.reason}"

    @property
    def duration_seconds(self) -> int | None:
        return int((self.ended_at - self.started_at).total_seconds()) if self.ended_at else None


class ContactLink(models.Model):
    """What a contact produced (an order, a complaint, an opportunity), by generic reference,
    so that the core needs no import of the apps that produce things."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "content_type", "object_id"], name="contact_link_unique")]
        indexes = [models.Index(fields=["content_type", "object_id"], name="contact_link_target_idx")]


class Script(models.Model):
    class Kind(models.TextChoices):
        BUSINESS = "business", _("Business script")
        SERVICE = "service", _("Service script")
        COMPLAINT_TEMPLATE = "complaint_template", _("Complaint template")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=50)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), max_length=10000)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    # Lower-cased title + category + keywords + body: the one column word search scans.
    search_text = models.TextField(editable=False, default="")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["kind", "category", "title"]
        indexes = [models.Index(fields=["kind", "category"], name="script_kind_category_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Derived column kept in step with its sources; no business rule here.
        self.search_text = " ".join([self.title, self.category, self.keywords, self.body]).lower()
        super().save(*args, **kwargs)


class OutboxMessage(models.Model):
    """Work that leaves the platform, written in the transaction that causes it.

    Drained after commit by Celery; re-driven by beat after an outage; the
    unique ``key`` makes the same piece of work impossible to enqueue twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=50)
    # Messages of one stream (a subscriber's events about one object) are sent in id order:
    # one is claimed only when no earlier one of its stream is still pending or sending.
    stream = models.CharField(_("stream"), max_length=150, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["kind", "status"], name="outbox_kind_status_idx"),
            models.Index(fields=["stream", "id"], condition=Q(status__in=["pending", "sending"]) & ~Q(stream=""), name="outbox_stream_open_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key} ({self.status})"


class IdempotencyRecord(models.Model):
    """The first response to a create request carrying an ``Idempotency-Key``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    scope = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)  # Decimal and datetime in bodies
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique_key")]


class StaffNotice(models.Model):
    """An in-app notice to one member of staff (overdue callbacks, breaches), shown in the top bar."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    key = models.CharField(max_length=200)
    text = models.CharField(_("text"), max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff notice")
        verbose_name_plural = _("staff notices")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="staff_notice_once_per_key")]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="staff_notice_inbox_idx")]


class SmsTemplate(models.Model):
    """An editable SMS text per notice and language; ``{placeholders}`` are filled from the notice's context."""

    code = models.CharField(_("code"), max_length=50)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    body = models.TextField(_("text"), max_length=600)
    description = models.CharField(_("when it is sent"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["code", "language"]
        constraints = [models.UniqueConstraint(fields=["code", "language"], name="smstemplate_one_per_language")]

    def __str__(self):
        return f"{self.code} ({self.language})"


class SmsMessage(models.Model):
    """Every SMS the platform sends (the built-in gateway keeps them; a real one gets them too)."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("sms status", "Queued")
        SENT = "sent", pgettext_lazy("sms status", "Sent")
        FAILED = "failed", pgettext_lazy("sms status", "Failed")

    to_number = models.CharField(pgettext_lazy("sms recipient", "to"), max_length=12)
    body = models.TextField(_("text"), max_length=1000)
    template = models.CharField(_("template"), max_length=50, blank=True)
    key = models.CharField(max_length=200, unique=True, help_text="The outbox key: one notice, one message.")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    gateway_reference = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="sms_customer_idx"),
            models.Index(fields=["to_number", "-created_at"], name="sms_number_idx"),
        ]


# --- channels: the SMS hall, self-service sign-in, events for integrating systems -----------

class InboundSms(models.Model):
    """An SMS a customer sent to the hall's number, as the gateway handed it over, and what it got back."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Answered automatically")
        FOR_AGENT = "for_agent", _("Passed to an agent")
        UNKNOWN_SENDER = "unknown_sender", _("Unknown sender")
        MALFORMED = "malformed", _("Not understood")

    gateway_id = models.CharField(_("gateway message id"), max_length=100, unique=True)
    from_number = models.CharField(_("from"), max_length=20)
    text = models.CharField(_("text"), max_length=1000)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_sms")
    language = models.CharField(_("language"), max_length=10, blank=True)
    command = models.CharField(_("command"), max_length=30, blank=True)
    outcome = models.CharField(_("outcome"), max_length=15, choices=Outcome.choices)
    reply = models.CharField(_("reply"), max_length=1000, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["from_number", "-received_at"], name="inbound_sms_sender_idx"),
            models.Index(fields=["customer", "-received_at"], name="inbound_sms_customer_idx"),
            models.Index(fields=["received_at"], name="inbound_sms_time_idx"),
        ]

    def __str__(self):
        return f"{mask_phone(self.from_number)} {self.received_at:%Y-%m-%d %H:%M} {self.command or self.outcome}"


class OneTimeCode(models.Model):
    """A code sent by SMS to prove a service number in the web self-service hall: kept hashed, expiring, single use."""

    service_number = models.CharField(_("service number"), max_length=12)
    code_hash = models.CharField(max_length=128)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [
            models.Index(fields=["service_number", "-created_at"], name="otp_number_idx"),
            models.Index(fields=["client_ip", "-created_at"], name="otp_ip_idx"),
        ]

    def __str__(self):
        return f"{mask_phone(self.service_number)} {self.created_at:%Y-%m-%d %H:%M}"


class WebhookSubscription(models.Model):
    """An integrating system's callback URL for the events it wants, signed with its own secret."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("client"), on_delete=models.CASCADE, related_name="webhook_subscriptions")
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("callback URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100)
    # Event kinds ("order.status_changed", "contact.created", ...); see servicedesk.webhooks.EVENT_KINDS.
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active"], name="webhook_active_idx")]

    def __str__(self):
        return self.name
