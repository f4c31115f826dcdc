"""Catalogue, orders with their fulfilment flows, the number pool and opportunities."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from servicedesk.fsm import TransitionRecord
from servicedesk.models import Channel, Contact, Customer, TariffPlan
from servicedesk.phones import validate_service_number


class Flow(models.TextChoices):
    DIRECT = "direct", _("Direct")
    BACK_OFFICE = "back_office", _("Back-office")
    DEFERRED = "deferred", _("Deferred callback")


class ItemKind(models.TextChoices):
    NONE = "none", _("No physical item")
    SIM = "sim", _("SIM/USIM card")
    HANDSET = "handset", _("Handset")
    CARD = "card", _("Top-up card")


class ProductCategory(models.Model):
    """A category names the flow its products take: configuration, edited in the admin."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    flow = models.CharField(_("fulfilment flow"), max_length=12, choices=Flow.choices)
    acceptance_limit_hours = models.PositiveIntegerField(
        _("acceptance time limit (hours)"), default=24, help_text=_("Back-office must accept an order within this time.")
    )

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Product(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    category = models.ForeignKey(ProductCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(_("price (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    needs_number = models.BooleanField(_("needs a new number"), default=False)
    item_kind = models.CharField(_("physical item"), max_length=10, choices=ItemKind.choices, default=ItemKind.NONE)
    item_model = models.CharField(_("item model"), max_length=100, blank=True, help_text=_("Handset model or SIM type, for stock and demand reports."))
    tariff_plan = models.ForeignKey(TariffPlan, verbose_name=_("tariff plan"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["category__code", "name"]
        indexes = [models.Index(fields=["category", "active"], name="product_category_idx")]

    def __str__(self):
        return self.name

    @property
    def flow(self) -> str:
        return self.category.flow

    @property
    def needs_delivery(self) -> bool:
        return self.item_kind != ItemKind.NONE


class NumberStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")
    QUARANTINED = "quarantined", _("Quarantined")


class NumberClass(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    LUCKY = "lucky", _("Lucky")
    PREMIUM = "premium", _("Premium")


class PoolNumber(models.Model):
    """A mobile number in the pool: stock like any other, never sold twice."""

    number = models.CharField(_("number"), max_length=11, unique=True, validators=[validate_service_number])
    status = models.CharField(_("status"), max_length=12, choices=NumberStatus.choices, default=NumberStatus.AVAILABLE)
    number_class = models.CharField(_("class"), max_length=10, choices=NumberClass.choices, default=NumberClass.ORDINARY)
    price = models.DecimalField(_("number fee (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    order = models.ForeignKey("Order", verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reserved_at = models.DateTimeField(_("reserved"), null=True, blank=True)
    sold_at = models.DateTimeField(_("sold"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("pool number")
        verbose_name_plural = _("number pool")
        ordering = ["number"]
        indexes = [
            models.Index(fields=["status", "number_class", "number"], name="poolnumber_status_idx"),
            # Customers ask for a tail ("ending 8888"): the selector searches the reversed number by prefix.
            models.Index(Reverse("number"), name="poolnumber_tail_idx"),
        ]
        constraints = [
            # A held or sold number always names its order; a free one never does.
            models.CheckConstraint(
                condition=Q(status__in=["reserved", "sold"], order__isnull=False) | Q(status__in=["available", "quarantined"], order__isnull=True),
                name="poolnumber_order_matches_status",
            ),
        ]

    def __str__(self):
        return self.number


class OrderStatus(models.TextChoices):
    # A context of their own: "Failed" or "Activated" mean something else on an SMS or a line.
    SUBMITTED = "submitted", pgettext_lazy("order status", "Submitted")
    PROVISIONED = "provisioned", pgettext_lazy("order status", "Provisioned")
    FAILED = "failed", pgettext_lazy("order status", "Failed")
    ACCEPTED = "accepted", pgettext_lazy("order status", "Accepted")
    HANDED_TO_DELIVERY = "handed_to_delivery", pgettext_lazy("order status", "Handed to delivery")
    DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
    ACTIVATED = "activated", pgettext_lazy("order status", "Activated")
    COMPLETED = "completed", pgettext_lazy("order status", "Completed")
    REJECTED = "rejected", pgettext_lazy("order status", "Rejected")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


OPEN_ORDER_STATES = [
    OrderStatus.SUBMITTED, OrderStatus.PROVISIONED, OrderStatus.ACCEPTED,
    OrderStatus.HANDED_TO_DELIVERY, OrderStatus.DELIVERED, OrderStatus.ACTIVATED,
]


def _is_direct(order) -> bool:
    return order.flow == Flow.DIRECT


def _is_back_office(order) -> bool:
    return order.flow == Flow.BACK_OFFICE


class Order(ConcurrentTransitionMixin, models.Model):
    class Slot(models.TextChoices):
        MORNING = "morning", _("09:00–12:00")
        AFTERNOON = "afternoon", _("12:00–18:00")
        EVENING = "evening", _("18:00–21:00")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="orders")
    flow = models.CharField(_("flow"), max_length=12, choices=Flow.choices, editable=False)
    status = FSMField(_("status"), default=OrderStatus.SUBMITTED, choices=OrderStatus.choices, protected=True)
    service_number = models.CharField(_("service number"), max_length=12, blank=True, help_text=_("The existing line a direct order changes."))
    pool_number = models.ForeignKey(PoolNumber, verbose_name=_("new number"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(_("price (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    delivery_address = models.CharField(_("delivery address"), max_length=255, blank=True)
    appointment_date = models.DateField(_("appointment date"), null=True, blank=True)
    appointment_slot = models.CharField(_("appointment slot"), max_length=10, choices=Slot.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.HOTLINE)
    external_id = models.CharField(
        _("external reference"), max_length=100, blank=True,
        help_text=_("The submitting system's own reference (TMF622 externalId), unique per client."),
    )
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("taken by"), null=True, on_delete=models.PROTECT, related_name="orders_taken")
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0, help_text=_("Higher first; from the customer's VIP tier."))
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # When the order was first decided: accepted or rejected (back office), provisioned or failed (direct).
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    urgent_activation = models.BooleanField(_("urgent activation"), default=False)
    billing_reference = models.CharField(_("billing reference"), max_length=60, blank=True)
    closing_reason = models.CharField(_("reason"), max_length=500, blank=True, help_text=_("Why it failed, was rejected or cancelled."))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-submitted_at", "-id"]
        permissions = [
            ("accept_order", _("Can accept or reject back-office orders")),
            ("urgent_activate_order", _("Can activate an order before delivery")),
            ("move_order", _("Can move orders through delivery")),
            ("cancel_order", _("Can cancel orders")),
        ]
        constraints = [
            # A client's reference names one order of theirs; it is also how they look it up.
            models.UniqueConstraint(
                fields=["created_by", "external_id"], condition=~Q(external_id=""), name="order_external_id_per_client",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-submitted_at"], name="order_customer_idx"),
            models.Index(fields=["status", "flow", "submitted_at"], name="order_status_flow_idx"),
            models.Index(fields=["created_by", "submitted_at"], name="order_agent_idx"),
            # The API's and reports' date-range filters.
            models.Index(fields=["submitted_at"], name="order_submitted_idx"),
            models.Index(fields=["decided_at"], name="order_decided_idx"),  # acceptance KPIs by day
            models.Index(fields=["product", "submitted_at"], name="order_product_idx"),  # the demand report
            # The back-office queue: only submitted back-office orders, by urgency.
            models.Index(
                fields=["-priority", "accept_by", "id"], name="order_queue_idx",
                condition=Q(status="submitted", flow="back_office"),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.product}"

    # --- direct flow --------------------------------------------------------
    @transition(field=status, source=OrderStatus.SUBMITTED, target=OrderStatus.PROVISIONED, conditions=[_is_direct])
    def provision(self, *, reference: str = ""):
        self.billing_reference = reference
        self.decided_at = timezone.now()

    @transition(field=status, source=OrderStatus.SUBMITTED, target=OrderStatus.FAILED, conditions=[_is_direct])
    def fail(self, *, closing_reason: str):
        self.closing_reason = closing_reason
        self.closed_at = self.decided_at = timezone.now()

    @transition(field=status, source=[OrderStatus.PROVISIONED, OrderStatus.ACTIVATED], target=OrderStatus.COMPLETED)
    def complete(self):
        self.closed_at = timezone.now()

    # --- back-office flow ---------------------------------------------------
    @transition(field=status, source=OrderStatus.SUBMITTED, target=OrderStatus.ACCEPTED, conditions=[_is_back_office], permission="orders.accept_order")
    def accept(self):
        self.accepted_at = self.decided_at = timezone.now()
        self.claimed_by = None
        self.claim_expires_at = None

    @transition(field=status, source=OrderStatus.SUBMITTED, target=OrderStatus.REJECTED, conditions=[_is_back_office], permission="orders.accept_order")
    def reject(self, *, closing_reason: str):
        self.closing_reason = closing_reason
        self.closed_at = self.decided_at = timezone.now()
        self.claimed_by = None
        self.claim_expires_at = None

    @transition(field=status, source=OrderStatus.ACCEPTED, target=OrderStatus.HANDED_TO_DELIVERY, permission="orders.move_order")
    def hand_to_delivery(self):
        pass

    @transition(field=status, source=OrderStatus.HANDED_TO_DELIVERY, target=OrderStatus.DELIVERED, permission="orders.move_order")
    def mark_delivered(self):
        pass

    @transition(field=status, source=OrderStatus.DELIVERED, target=OrderStatus.ACTIVATED, permission="orders.move_order")
    def activate(self, *, reference: str = ""):
        self.billing_reference = reference or self.billing_reference

    @transition(
        field=status, source=[OrderStatus.ACCEPTED, OrderStatus.HANDED_TO_DELIVERY], target=OrderStatus.ACTIVATED,
        conditions=[_is_back_office], permission="orders.urgent_activate_order",
    )
    def urgent_activate(self, *, reference: str = ""):
        self.urgent_activation = True
        self.billing_reference = reference or self.billing_reference

    @transition(
        field=status, source=[OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.HANDED_TO_DELIVERY],
        target=OrderStatus.CANCELLED, permission="orders.cancel_order",
    )
    def cancel(self, *, closing_reason: str):
        self.closing_reason = closing_reason
        self.closed_at = timezone.now()
        self.claimed_by = None
        self.claim_expires_at = None


class OrderTransition(TransitionRecord):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")

    class Meta(TransitionRecord.Meta):
        verbose_name = _("order transition")
        verbose_name_plural = _("order transitions")
        indexes = [models.Index(fields=["order", "at"], name="ordertransition_order_idx")]


class Intent(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class Opportunity(models.Model):
    """A hesitant customer: a product of interest and an agreed callback, worked by the outbound team."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONVERTED = "converted", _("Converted")
        LOST = "lost", _("Lost")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities")
    product = models.ForeignKey(Product, verbose_name=_("product of interest"), on_delete=models.PROTECT, related_name="opportunities")
    intent = models.CharField(_("intent"), max_length=10, choices=Intent.choices, default=Intent.MEDIUM)
    callback_at = models.DateTimeField(_("callback at"))
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    overdue = models.BooleanField(_("overdue"), default=False)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(_("lost because"), max_length=300, blank=True)
    order = models.OneToOneField(Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunity")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("taken by"), null=True, on_delete=models.PROTECT, related_name="+")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("outbound agent"), null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["callback_at", "id"]
        indexes = [
            models.Index(fields=["status", "callback_at"], name="opportunity_due_idx"),
            models.Index(fields=["customer", "-created_at"], name="opportunity_customer_idx"),
            models.Index(fields=["intent", "status"], name="opportunity_intent_idx"),
            models.Index(fields=["product", "created_at"], name="opportunity_product_idx"),  # the demand report
            models.Index(fields=["closed_at"], name="opportunity_closed_idx"),  # conversion by day
        ]

    def __str__(self):
        return f"{self.customer} · {self.product}"


class CallbackAttempt(models.Model):
    class Result(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        CALL_BACK_LATER = "call_back_later", _("Call back later")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="attempts")
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    next_callback_at = models.DateTimeField(_("next callback"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["opportunity", "-at"], name="attempt_opportunity_idx")]


class NumberImport(models.Model):
    """A bulk import of pool numbers, processed by a task with progress and per-row errors."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="number_imports/")
    file_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, help_text="[row, number, message], the first 1,000")
    message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
