"""Complaints: a first-ask owner, department work orders with time limits, the 100% callback, early warning.

A complaint's deadline comes from its category's time limit, shortened by severity
and VIP tier (``SEVERITY_FACTOR``, ``VIP_FACTOR``). Work orders carry the deadline of
the department they were sent to; a breach is flagged once by a periodic task.
"""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from servicedesk.fsm import TransitionRecord
from servicedesk.models import (
    Channel,
    Contact,
    Customer,
    Department,
    ServiceArea,
    VipTier,
)


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# The share of the category's time limit a complaint gets (configuration in code, tested).
SEVERITY_FACTOR = {Severity.LOW: 1.0, Severity.NORMAL: 1.0, Severity.HIGH: 0.5, Severity.CRITICAL: 0.25}
VIP_FACTOR = {VipTier.ORDINARY: 1.0, VipTier.SILVER: 0.9, VipTier.GOLD: 0.75, VipTier.DIAMOND: 0.5}


class ComplaintCategory(models.Model):
    """Configuration: which department a kind of complaint goes to, and in how long it must be resolved."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="complaint_categories")
    time_limit_hours = models.PositiveIntegerField(_("time limit (hours)"), default=48, validators=[MinValueValidator(1)])
    is_fault = models.BooleanField(_("fault repair"), default=False, help_text=_("Complaints of this kind get a repair work order and a repair callback."))
    repair_limit_hours = models.PositiveIntegerField(_("repair time limit (hours)"), default=24, validators=[MinValueValidator(1)])
    template = models.TextField(_("what to ask"), max_length=2000, blank=True, help_text=_("Pre-fills the description when an agent takes a complaint of this kind."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("complaint category")
        verbose_name_plural = _("complaint categories")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("complaint status", "Received")
    ASSIGNED = "assigned", pgettext_lazy("complaint status", "Assigned")
    IN_PROGRESS = "in_progress", pgettext_lazy("complaint status", "In progress")
    RESOLVED = "resolved", pgettext_lazy("complaint status", "Resolved")
    CALLBACK = "callback", pgettext_lazy("complaint status", "Callback")
    CLOSED = "closed", pgettext_lazy("complaint status", "Closed")


OPEN_COMPLAINT_STATES = [ComplaintStatus.RECEIVED, ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, ComplaintStatus.CALLBACK]


class Complaint(ConcurrentTransitionMixin, models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="complaints")
    category = models.ForeignKey(ComplaintCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="complaints")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    service_number = models.CharField(_("service number"), max_length=12, blank=True)
    description = models.TextField(_("description"), max_length=4000)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.HOTLINE)
    status = FSMField(_("status"), default=ComplaintStatus.RECEIVED, choices=ComplaintStatus.choices, protected=True)
    first_ask_owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("first-ask owner"), on_delete=models.PROTECT, related_name="complaints_owned")
    department = models.ForeignKey(Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT, related_name="complaints")
    area = models.ForeignKey(ServiceArea, verbose_name=_("service area"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("resolve by"))
    resolution = models.TextField(_("resolution"), max_length=4000, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # Set once, at the first resolution: the day first-contact resolution and timeliness count it on.
    first_resolved_at = models.DateTimeField(_("first resolved"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    escalated = models.BooleanField(_("escalated"), default=False)
    escalation_reason = models.CharField(_("escalated because"), max_length=20, blank=True,
                                         choices=[("repeat", _("Repeat within 30 days")), ("vip", _("VIP customer")), ("regulator", _("Regulator involved"))])
    appeal = models.BooleanField(_("appeal to the regulator"), default=False)
    appeal_due_at = models.DateTimeField(_("appeal answer due"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    transfer_count = models.PositiveSmallIntegerField(_("times transferred"), default=0)
    external_id = models.CharField(_("external reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Who submitted it (an agent, or an API client for other channels).")

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("work_complaint", _("Can work complaints of their department")),
            ("callback_complaint", _("Can make complaint callbacks")),
            ("escalate_complaint", _("Can escalate complaints and record appeals")),
        ]
        indexes = [
            models.Index(fields=["customer", "-received_at"], name="complaint_customer_idx"),
            models.Index(fields=["status", "due_at"], name="complaint_status_due_idx"),
            models.Index(fields=["department", "status", "due_at"], name="complaint_department_idx"),
            models.Index(fields=["first_ask_owner", "status"], name="complaint_owner_idx"),
            # The early-warning scan: complaints of a category (and area) in a sliding window.
            models.Index(fields=["category", "received_at"], name="complaint_category_time_idx"),
            models.Index(fields=["category", "area", "received_at"], name="complaint_cat_area_time_idx"),
            models.Index(fields=["received_at"], name="complaint_received_idx"),
            # The KPI rollups read resolved and closed complaints by day.
            models.Index(fields=["first_resolved_at"], name="complaint_first_resolved_idx"),
            models.Index(fields=["closed_at"], name="complaint_closed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "external_id"], condition=~Q(external_id=""), name="complaint_external_id_per_client"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.category}"

    @transition(field=status, source=ComplaintStatus.RECEIVED, target=ComplaintStatus.ASSIGNED)
    def assign(self, *, department):
        self.department = department

    @transition(field=status, source=[ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS], target=ComplaintStatus.ASSIGNED)
    def transfer(self, *, department):
        self.department = department
        self.transfer_count += 1

    @transition(field=status, source=ComplaintStatus.ASSIGNED, target=ComplaintStatus.IN_PROGRESS, permission="complaints.work_complaint")
    def start(self):
        pass

    @transition(field=status, source=ComplaintStatus.IN_PROGRESS, target=ComplaintStatus.RESOLVED, permission="complaints.work_complaint")
    def resolve(self, *, resolution: str):
        self.resolution = resolution
        self.resolved_at = timezone.now()
        if self.first_resolved_at is None:
            self.first_resolved_at = self.resolved_at

    @transition(field=status, source=ComplaintStatus.RESOLVED, target=ComplaintStatus.CALLBACK)
    def await_callback(self):
        pass

    @transition(field=status, source=ComplaintStatus.CALLBACK, target=ComplaintStatus.IN_PROGRESS, permission="complaints.callback_complaint")
    def reopen(self):
        self.reopen_count += 1
        self.resolved_at = None

    @transition(field=status, source=ComplaintStatus.CALLBACK, target=ComplaintStatus.CLOSED, permission="complaints.callback_complaint")
    def close(self):
        self.closed_at = timezone.now()

    @transition(field=status, source=OPEN_COMPLAINT_STATES, target=None, permission="complaints.escalate_complaint")
    def escalate(self, *, reason: str):
        """Stays in its state; recorded as a transition of its own."""
        self.escalated = True
        self.escalation_reason = reason

    @transition(field=status, source=OPEN_COMPLAINT_STATES + [ComplaintStatus.CLOSED], target=None, permission="complaints.escalate_complaint")
    def record_appeal(self, *, due_at):
        self.appeal = True
        self.appeal_due_at = due_at
        self.escalated = True
        self.escalation_reason = "regulator"


class ComplaintTransition(TransitionRecord):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="transitions")

    class Meta(TransitionRecord.Meta):
        indexes = [models.Index(fields=["complaint", "at"], name="complainttransition_idx")]


class ComplaintNote(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(_("note"), max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


class WorkOrder(models.Model):
    """The electronic work order a department gets: one per assignment (a transfer closes it and opens another)."""

    class Kind(models.TextChoices):
        HANDLING = "handling", _("Complaint handling")
        REPAIR = "repair", _("Fault repair")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("work order status", "Open")
        DONE = "done", pgettext_lazy("work order status", "Done")
        TRANSFERRED = "transferred", pgettext_lazy("work order status", "Transferred")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="work_orders")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="work_orders")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HANDLING)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True, help_text=_("Set once, by the periodic check, when the deadline passes open."))
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    technician = models.CharField(_("technician"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="workorder_queue_idx"),
            models.Index(fields=["status", "due_at"], name="workorder_due_idx", condition=Q(status="open", breached_at__isnull=True)),
            models.Index(fields=["department", "breached_at"], name="workorder_breach_idx"),
            models.Index(fields=["kind", "done_at"], name="workorder_done_idx"),  # repair timeliness by day
        ]
        constraints = [
            # One open work order per complaint and kind at a time.
            models.UniqueConstraint(fields=["complaint", "kind"], condition=Q(status="open"), name="workorder_one_open_per_kind"),
        ]


class Callback(models.Model):
    """The 100% satisfaction callback (and the repair callback): attempts until reached or exhausted."""

    class Kind(models.TextChoices):
        SATISFACTION = "satisfaction", _("Satisfaction callback")
        REPAIR = "repair", _("Repair callback")

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("callback status", "Due")
        COMPLETED = "completed", pgettext_lazy("callback status", "Completed")
        EXHAUSTED = "exhausted", pgettext_lazy("callback status", "Not reached after every attempt")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="callbacks")
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices, default=Kind.SATISFACTION)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DUE)
    due_at = models.DateTimeField(_("due"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    reached = models.BooleanField(_("reached"), null=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    solved = models.BooleanField(_("problem solved"), null=True)
    repair_time_score = models.PositiveSmallIntegerField(_("repair time (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    technician_score = models.PositiveSmallIntegerField(_("technician's attitude (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="callback_due_idx"),
            models.Index(fields=["completed_at"], name="callback_completed_idx"),  # satisfaction by day
        ]
        constraints = [
            models.CheckConstraint(condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5), name="callback_satisfaction_1_to_5"),
        ]


# --- Early warning ---------------------------------------------------------------------------

class WarningLevel(models.Model):
    """One rung of the ladder: department head (1) → centre manager (2) → company management (3)."""

    level = models.PositiveSmallIntegerField(_("level"), unique=True, validators=[MinValueValidator(1)])
    name = models.CharField(_("name"), max_length=60)
    threshold = models.PositiveIntegerField(_("complaints in the window"), validators=[MinValueValidator(1)])
    window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=10, validators=[MinValueValidator(1)])
    wait_minutes = models.PositiveIntegerField(_("escalate after (minutes) if it lasts"), default=30)
    notify_department_head = models.BooleanField(_("SMS the department head"), default=False)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("also SMS"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("early-warning level")
        verbose_name_plural = _("early-warning levels")
        ordering = ["level"]


class Alert(models.Model):
    """A wave of complaints of one category (and area): raised, escalated level by level, acknowledged, closed."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("alert status", "Open")
        ACKNOWLEDGED = "acknowledged", pgettext_lazy("alert status", "Acknowledged")
        CLOSED = "closed", pgettext_lazy("alert status", "Closed")

    category = models.ForeignKey(ComplaintCategory, on_delete=models.PROTECT, related_name="alerts")
    area = models.ForeignKey(ServiceArea, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    count_at_raise = models.PositiveIntegerField(default=0)
    last_count = models.PositiveIntegerField(default=0)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    level_since = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("early-warning alert")
        verbose_name_plural = _("early-warning alerts")
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["status", "-raised_at"], name="alert_status_idx")]
        constraints = [
            # One live alert per category and area: a wave is one alert that rises, not many.
            models.UniqueConstraint(fields=["category", "area"], condition=~Q(status="closed"), name="alert_one_live_per_category_area"),
            models.UniqueConstraint(fields=["category"], condition=Q(area__isnull=True) & ~Q(status="closed"), name="alert_one_live_per_category"),
        ]


class AlertNotice(models.Model):
    """Who was told of an alert at which level: each level is sent once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notices")
    level = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "level"], name="alertnotice_once_per_level")]
