"""Stock in a chain of warehouses, carriers, shipments with tracking, and the hall's daily money.

Invariants live in the database: counts never go below zero nor below what is
reserved, a serial (ICCID/IMEI) is one row and so in one place, a tracking event
is stored once per carrier, one daily report per hall and day.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from orders.models import ItemKind, Order
from servicedesk.fsm import TransitionRecord
from servicedesk.models import ServiceArea

MONEY = {"max_digits": 12, "decimal_places": 2}


# --- Stock ------------------------------------------------------------------------------

class Warehouse(models.Model):
    """Company store (1) → branch store (2) → call-centre hall store (3); a hall ships to customers."""

    class Level(models.IntegerChoices):
        COMPANY = 1, _("Company store")
        BRANCH = 2, _("Branch store")
        HALL = 3, _("Hall store")

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("supplied by"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    areas = models.ManyToManyField(ServiceArea, verbose_name=_("service areas"), blank=True, related_name="hall_stores",
                                   help_text=_("A hall store delivers to the customers of these areas."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["level", "code"]
        constraints = [
            # The company store heads the chain; every other store is supplied by one.
            models.CheckConstraint(condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False), name="warehouse_chain"),
        ]

    def __str__(self):
        return self.name


class Sku(models.Model):
    """A stock-keeping unit: counted (top-up cards) or serialised (SIM by ICCID, handset by IMEI).

    ``item_model`` matches ``orders.Product.item_model``: that is how an order finds its stock."""

    class Tracking(models.TextChoices):
        COUNTED = "counted", _("Counted")
        SERIALISED = "serialised", _("Serialised")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    item_kind = models.CharField(_("item kind"), max_length=10, choices=[c for c in ItemKind.choices if c[0] != ItemKind.NONE])
    item_model = models.CharField(_("item model"), max_length=100, unique=True)
    tracking = models.CharField(_("tracking"), max_length=10, choices=Tracking.choices)
    unit_price = models.DecimalField(_("unit price (CNY)"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        ordering = ["item_kind", "name"]

    def __str__(self):
        return self.name

    @property
    def serialised(self) -> bool:
        return self.tracking == self.Tracking.SERIALISED


class StockLevel(models.Model):
    """How many of a SKU a warehouse holds and how many of those are promised to orders.

    For serialised SKUs the counts mirror the units (kept in the same transaction)."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="levels")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "sku"], name="stocklevel_one_per_place"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_never_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_within_on_hand"),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class SerialUnit(models.Model):
    """One SIM or handset. One row per serial, so it is in one place at a time."""

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        RESERVED = "reserved", _("Reserved")
        IN_TRANSFER = "in_transfer", _("In transfer")
        SHIPPED = "shipped", _("With the carrier")
        DELIVERED = "delivered", _("Delivered")

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="units")
    serial = models.CharField(_("serial (ICCID/IMEI)"), max_length=24, unique=True)
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="units",
                                  help_text=_("Empty while in transfer or once it has left for the customer."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_STOCK)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    transfer = models.ForeignKey("Transfer", null=True, blank=True, on_delete=models.SET_NULL, related_name="units")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("serialised unit")
        verbose_name_plural = _("serialised units")
        indexes = [models.Index(fields=["warehouse", "sku", "status"], name="serialunit_place_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["in_stock", "reserved"], warehouse__isnull=False) | Q(status__in=["in_transfer", "shipped", "delivered"], warehouse__isnull=True),
                name="serialunit_place_matches_status",
            ),
            models.CheckConstraint(condition=~Q(status="reserved") | Q(order__isnull=False), name="serialunit_reserved_for_an_order"),
        ]

    def __str__(self):
        return self.serial


class Transfer(ConcurrentTransitionMixin, models.Model):
    """A requisition from a lower store to the store that supplies it, shipped and received."""

    class Status(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("transfer status", "Requested")
        SHIPPED = "shipped", pgettext_lazy("transfer status", "Shipped")
        RECEIVED = "received", pgettext_lazy("transfer status", "Received")
        REJECTED = "rejected", pgettext_lazy("transfer status", "Rejected")

    from_warehouse = models.ForeignKey(Warehouse, verbose_name=pgettext_lazy("store", "from"), on_delete=models.PROTECT, related_name="transfers_out")
    to_warehouse = models.ForeignKey(Warehouse, verbose_name=pgettext_lazy("store", "to"), on_delete=models.PROTECT, related_name="transfers_in")
    status = FSMField(_("status"), default=Status.REQUESTED, choices=Status.choices, protected=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="transfer_status_idx")]
        constraints = [models.CheckConstraint(condition=~Q(from_warehouse=F("to_warehouse")), name="transfer_between_two_stores")]

    @transition(field=status, source=Status.REQUESTED, target=Status.SHIPPED)
    def ship(self):
        pass

    @transition(field=status, source=Status.REQUESTED, target=Status.REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=Status.SHIPPED, target=Status.RECEIVED)
    def receive(self):
        pass


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="transferline_one_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="transferline_positive"),
        ]


class TransferTransition(TransitionRecord):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="transitions")


class StockReservation(models.Model):
    """What an accepted order holds in a hall store until it ships, or gives back."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        SHIPPED = "shipped", _("Shipped")
        RELEASED = "released", _("Released")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="stock_reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(SerialUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["order", "status"], name="reservation_order_idx")]
        constraints = [
            # A unit is held for at most one order at a time.
            models.UniqueConstraint(fields=["unit"], condition=Q(status="held"), name="reservation_one_hold_per_unit"),
        ]


class StockMovement(models.Model):
    """Append-only ledger: every change to a count or a unit's place, with why and who."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt from supplier")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        RESERVE = "reserve", _("Reserved for an order")
        RELEASE = "release", _("Released")
        SHIP = "ship", _("Left for the customer")
        RETURN = "return", _("Returned to stock")
        ADJUST = "adjust", _("Stock count adjustment")

    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="movements")
    unit = models.ForeignKey(SerialUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="movements")
    quantity = models.IntegerField(_("quantity"), help_text=_("Signed: what the warehouse's on-hand count changed by (0 for reservations)."))
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.SET_NULL, related_name="movements")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["warehouse", "-at"], name="movement_warehouse_idx"),
            models.Index(fields=["sku", "-at"], name="movement_sku_idx"),
            models.Index(fields=["kind", "-at"], name="movement_kind_idx"),
        ]


# --- Carriers and shipments --------------------------------------------------------------

class Carrier(models.Model):
    class Kind(models.TextChoices):
        EXPRESS = "express", _("Express company")
        PARTNER = "partner", _("Partner logistics")

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    promised_hours = models.PositiveIntegerField(_("promised delivery time (hours)"), default=72)
    priority = models.PositiveSmallIntegerField(_("preference"), default=100, help_text=_("Lower is preferred when several carriers serve an item."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["priority", "code"]

    def __str__(self):
        return self.name


class CarrierService(models.Model):
    """Which item kinds a carrier delivers (configuration)."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="services")
    item_kind = models.CharField(_("item kind"), max_length=10, choices=ItemKind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["carrier", "item_kind"], name="carrierservice_unique")]


class CarrierCredential(models.Model):
    """A carrier system's key for the tracking API: requests are signed with HMAC-SHA256 of the body."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="credentials")
    key_id = models.CharField(_("key id"), max_length=40, unique=True)
    secret = models.CharField(_("secret"), max_length=128)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("carrier credential")
        verbose_name_plural = _("carrier credentials")


class ShipmentStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("shipment status", "Created")
    PICKED = "picked", pgettext_lazy("shipment status", "Picked")
    HANDED_TO_CARRIER = "handed_to_carrier", pgettext_lazy("shipment status", "Handed to carrier")
    OUT_FOR_DELIVERY = "out_for_delivery", pgettext_lazy("shipment status", "Out for delivery")
    DELIVERED = "delivered", pgettext_lazy("shipment status", "Delivered")
    FAILED = "failed", pgettext_lazy("shipment status", "Delivery failed")
    RETURNED = "returned", pgettext_lazy("shipment status", "Returned to stock")
    CANCELLED = "cancelled", pgettext_lazy("shipment status", "Cancelled")


# How far along each state is: a tracking event never moves a shipment back.
SHIPMENT_PROGRESS = {
    ShipmentStatus.CREATED: 0, ShipmentStatus.PICKED: 1, ShipmentStatus.HANDED_TO_CARRIER: 2,
    ShipmentStatus.OUT_FOR_DELIVERY: 3, ShipmentStatus.FAILED: 4, ShipmentStatus.DELIVERED: 5,
    ShipmentStatus.RETURNED: 5, ShipmentStatus.CANCELLED: 5,
}


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    POS = "pos", _("Mobile POS")


class Shipment(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("ships from"), on_delete=models.PROTECT, related_name="shipments")
    carrier = models.ForeignKey(Carrier, verbose_name=_("carrier"), null=True, blank=True, on_delete=models.PROTECT, related_name="shipments")
    carrier_chosen_by_clerk = models.BooleanField(default=False)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    status = FSMField(_("status"), default=ShipmentStatus.CREATED, choices=ShipmentStatus.choices, protected=True)
    appointment_date = models.DateField(_("appointment date"), null=True, blank=True)
    appointment_slot = models.CharField(_("appointment slot"), max_length=10, choices=Order.Slot.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    amount_due = models.DecimalField(_("to collect (CNY)"), **MONEY, default=Decimal("0"))
    amount_collected = models.DecimalField(_("collected (CNY)"), **MONEY, null=True, blank=True)
    payment_method = models.CharField(_("paid by"), max_length=5, choices=PaymentMethod.choices, blank=True)
    pos_reference = models.CharField(_("POS reference"), max_length=60, blank=True)
    signed_by = models.CharField(_("signed by"), max_length=60, blank=True)
    id_checked = models.BooleanField(_("ID checked"), default=False)
    failure_reason = models.CharField(_("failure reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # Delivered, returned or cancelled: the day delivery success counts it on.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    last_event_at = models.DateTimeField(_("last tracking event"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("move_shipment", _("Can move shipments and record deliveries")),
            ("support_shipment", _("Can work the delivery support desk")),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="shipment_status_idx"),
            models.Index(fields=["order", "-created_at"], name="shipment_order_idx"),
            models.Index(fields=["warehouse", "delivered_at"], name="shipment_hall_day_idx"),
            models.Index(fields=["carrier", "status"], name="shipment_carrier_idx"),
            models.Index(fields=["closed_at"], name="shipment_closed_idx"),  # delivery KPIs by day
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),  # the support desk's lookup
        ]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_number"], condition=~Q(tracking_number=""), name="shipment_tracking_unique"),
            # An order has at most one shipment under way (a returned or cancelled one may be followed by a new one).
            models.UniqueConstraint(fields=["order"], condition=~Q(status__in=["returned", "cancelled"]), name="shipment_one_live_per_order"),
            models.CheckConstraint(condition=Q(amount_collected__isnull=True) | Q(amount_collected__gte=0), name="shipment_collected_not_negative"),
        ]

    def __str__(self):
        return self.tracking_number or f"#{self.pk}"

    @transition(field=status, source=ShipmentStatus.CREATED, target=ShipmentStatus.PICKED, permission="delivery.move_shipment")
    def pick(self):
        pass

    @transition(field=status, source=ShipmentStatus.PICKED, target=ShipmentStatus.HANDED_TO_CARRIER, permission="delivery.move_shipment")
    def hand_to_carrier(self):
        pass

    @transition(field=status, source=[ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.FAILED], target=ShipmentStatus.OUT_FOR_DELIVERY,
                permission="delivery.move_shipment")
    def go_out_for_delivery(self):
        self.attempts += 1

    @transition(field=status, source=ShipmentStatus.OUT_FOR_DELIVERY, target=ShipmentStatus.DELIVERED, permission="delivery.move_shipment")
    def deliver(self, *, signed_by: str, id_checked: bool, amount_collected, payment_method: str, pos_reference: str = "", at=None):
        self.signed_by, self.id_checked = signed_by, id_checked
        self.amount_collected, self.payment_method, self.pos_reference = amount_collected, payment_method, pos_reference
        self.delivered_at = self.closed_at = at or timezone.now()

    @transition(field=status, source=ShipmentStatus.OUT_FOR_DELIVERY, target=ShipmentStatus.FAILED, permission="delivery.move_shipment")
    def fail(self, *, reason: str):
        self.failure_reason = reason

    @transition(field=status, source=[ShipmentStatus.FAILED, ShipmentStatus.HANDED_TO_CARRIER, ShipmentStatus.OUT_FOR_DELIVERY],
                target=ShipmentStatus.RETURNED, permission="delivery.move_shipment")
    def return_to_stock(self, *, reason: str = ""):
        self.failure_reason = reason or self.failure_reason
        self.closed_at = timezone.now()

    @transition(field=status, source=[ShipmentStatus.CREATED, ShipmentStatus.PICKED], target=ShipmentStatus.CANCELLED,
                permission="delivery.support_shipment")
    def cancel(self, *, reason: str):
        self.failure_reason = reason
        self.closed_at = timezone.now()


class ShipmentTransition(TransitionRecord):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="transitions")

    class Meta(TransitionRecord.Meta):
        indexes = [models.Index(fields=["shipment", "at"], name="shipmenttransition_idx")]


class TrackingEvent(models.Model):
    """What a carrier reported, stored once per (carrier, event id), in order of occurrence."""

    class Code(models.TextChoices):
        PICKED_UP = "picked_up", _("Picked up by the carrier")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")
        RETURNED = "returned", _("Returned to the sender")
        IN_TRANSIT = "in_transit", _("In transit")

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=80)
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    code = models.CharField(max_length=20, choices=Code.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    applied = models.BooleanField(default=False, help_text="Whether it moved the shipment (an older or repeated event does not).")

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["shipment", "occurred_at"], name="trackingevent_shipment_idx"),
            models.Index(fields=["received_at"], name="trackingevent_received_idx"),  # late deliveries for the KPI update
        ]
        constraints = [models.UniqueConstraint(fields=["carrier", "event_id"], name="trackingevent_once_per_carrier")]


# --- Money: the hall's daily business report ---------------------------------------------

def _may_send_back(report, user) -> bool:
    return user.has_perm("delivery.check_dailyreport") or user.has_perm("delivery.approve_dailyreport")


class DailyReport(ConcurrentTransitionMixin, models.Model):
    """One hall, one day: orders, deliveries, money expected against collected, reconciled in three levels."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("report status", "Draft")
        PREPARED = "prepared", pgettext_lazy("report status", "Prepared")
        CHECKED = "checked", pgettext_lazy("report status", "Checked")
        APPROVED = "approved", pgettext_lazy("report status", "Approved")

    hall = models.ForeignKey(Warehouse, verbose_name=_("hall"), on_delete=models.PROTECT, related_name="daily_reports")
    day = models.DateField(_("day"))
    status = FSMField(_("status"), default=Status.DRAFT, choices=Status.choices, protected=True)
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    deliveries_count = models.PositiveIntegerField(_("deliveries"), default=0)
    failed_count = models.PositiveIntegerField(_("failed deliveries"), default=0)
    expected_total = models.DecimalField(_("expected (CNY)"), **MONEY, default=Decimal("0"))
    collected_cash = models.DecimalField(_("cash (CNY)"), **MONEY, default=Decimal("0"))
    collected_pos = models.DecimalField(_("POS (CNY)"), **MONEY, default=Decimal("0"))
    counted_cash = models.DecimalField(_("cash counted (CNY)"), **MONEY, null=True, blank=True,
                                       help_text=_("What the clerk counted in the till; differences must be explained."))
    explanation = models.TextField(_("explanation of differences"), max_length=2000, blank=True)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("daily business report")
        verbose_name_plural = _("daily business reports")
        ordering = ["-day", "hall__code"]
        permissions = [
            ("prepare_dailyreport", _("Can prepare the daily business report")),
            ("check_dailyreport", _("Can check the daily business report")),
            ("approve_dailyreport", _("Can approve the daily business report")),
        ]
        constraints = [models.UniqueConstraint(fields=["hall", "day"], name="dailyreport_one_per_hall_day")]
        indexes = [
            models.Index(fields=["status", "day"], name="dailyreport_status_idx"),
            models.Index(fields=["-day", "hall"], name="dailyreport_day_idx"),
        ]

    @property
    def collected_total(self) -> Decimal:
        return self.collected_cash + self.collected_pos

    @property
    def difference(self) -> Decimal:
        """Collected less expected, plus any till count that differs from the recorded cash."""
        till = (self.counted_cash - self.collected_cash) if self.counted_cash is not None else Decimal("0")
        return self.collected_total - self.expected_total + till

    @transition(field=status, source=[Status.DRAFT], target=Status.PREPARED, permission="delivery.prepare_dailyreport")
    def prepare(self):
        pass

    # Not "check": Model.check() runs Django's system checks.
    @transition(field=status, source=[Status.PREPARED], target=Status.CHECKED, permission="delivery.check_dailyreport")
    def verify(self):
        pass

    @transition(field=status, source=[Status.PREPARED, Status.CHECKED], target=Status.DRAFT, permission=_may_send_back)
    def send_back(self):
        pass

    @transition(field=status, source=[Status.CHECKED], target=Status.APPROVED, permission="delivery.approve_dailyreport")
    def approve(self):
        pass


class DailyReportTransition(TransitionRecord):
    report = models.ForeignKey(DailyReport, on_delete=models.CASCADE, related_name="transitions")
