"""Money: the hall's daily business report, compiled from the day's shipments and reconciled in three levels.

The delivery clerk prepares the report (enters the cash counted in the till), the account clerk
checks it, the account supervisor approves it. Three different people: whoever prepared may not
check or approve, whoever checked may not approve. A difference must be explained before the
report leaves the draft, and is checked again at each level. Either reviewer may send the report
back to draft with a reason. An approved report is locked: no service changes it any more.

What a day's figures count (all within the hall's local day, ``[00:00, 24:00)`` Asia/Shanghai):

- orders: orders *submitted* that day that ship from the hall, i.e. that have a shipment from
  this hall that was not cancelled. Counting by shipment rather than by the hall's service
  areas puts each order in exactly one hall (an area may be served by two hall stores) and
  matches the money figures, which are per shipment too. An order whose shipment is created the
  next day is counted when the draft is refreshed (the task recompiles yesterday's reports).
- deliveries, expected total, collected cash and POS: shipments from the hall *delivered* that
  day; expected is their ``amount_due``, collected is ``amount_collected`` by payment method.
- failed deliveries: failed delivery *attempts* recorded that day in the shipment transition log
  (a shipment that failed in the morning and was delivered in the afternoon counts in both).
"""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from servicedesk.dates import local_days
from servicedesk.fsm import (
    TransitionRefused,
    allowed_targets,
    allowed_transitions,
    run_transition,
)

from ..models import (
    MONEY,
    DailyReport,
    DailyReportTransition,
    PaymentMethod,
    Shipment,
    ShipmentStatus,
    ShipmentTransition,
    Warehouse,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_MONEY_FIELD = DecimalField(**MONEY)

# The role each step needs, checked before the state so that a role that may never do it gets 403.
_STEP_PERMISSIONS = {
    "refresh": ("delivery.prepare_dailyreport",),
    "prepare": ("delivery.prepare_dailyreport",),
    "verify": ("delivery.check_dailyreport",),
    "approve": ("delivery.approve_dailyreport",),
    "send_back": ("delivery.check_dailyreport", "delivery.approve_dailyreport"),
}


class ReportLocked(TransitionRefused):
    """The report has left the draft: its figures are no longer recompiled (approved: locked for good)."""

    default_code = "report_locked"


@dataclass(frozen=True)
class DayFigures:
    orders_count: int = 0
    deliveries_count: int = 0
    failed_count: int = 0
    expected_total: Decimal = ZERO
    collected_cash: Decimal = ZERO
    collected_pos: Decimal = ZERO

    def as_fields(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as a half-open range of aware datetimes, so the indexes on the timestamps are used."""
    return local_days(day, day)


def _sum(field: str, **filters):
    return Coalesce(Sum(field, filter=Q(**filters) if filters else None), Value(ZERO), output_field=_MONEY_FIELD)


def daily_figures(*, hall_ids, day: date) -> dict[int, DayFigures]:
    """The day's figures of each hall, computed in the database: one grouped query per fact table
    (orders, shipments, the shipment transition log), whatever the number of halls or rows."""
    start, end = day_bounds(day)
    hall_ids = list(hall_ids)
    figures: dict[int, dict] = {hall_id: {} for hall_id in hall_ids}

    orders = (
        Order.objects.filter(
            submitted_at__gte=start, submitted_at__lt=end,
            shipments__warehouse_id__in=hall_ids, shipments__status__in=[s for s in ShipmentStatus.values if s != ShipmentStatus.CANCELLED],
        )
        .values("shipments__warehouse_id")
        .annotate(n=Count("id", distinct=True))
        .order_by()
    )
    for row in orders:
        figures[row["shipments__warehouse_id"]]["orders_count"] = row["n"]

    delivered = (
        Shipment.objects.filter(warehouse_id__in=hall_ids, status=ShipmentStatus.DELIVERED, delivered_at__gte=start, delivered_at__lt=end)
        .values("warehouse_id")
        .annotate(
            deliveries_count=Count("id"),
            expected_total=_sum("amount_due"),
            collected_cash=_sum("amount_collected", payment_method=PaymentMethod.CASH),
            collected_pos=_sum("amount_collected", payment_method=PaymentMethod.POS),
        )
        .order_by()
    )
    for row in delivered:
        figures[row.pop("warehouse_id")].update(row)

    failed = (
        ShipmentTransition.objects.filter(shipment__warehouse_id__in=hall_ids, to_state=ShipmentStatus.FAILED, at__gte=start, at__lt=end)
        .values("shipment__warehouse_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in failed:
        figures[row["shipment__warehouse_id"]]["failed_count"] = row["n"]

    for values in figures.values():
        for name in ("expected_total", "collected_cash", "collected_pos"):
            if name in values:
                values[name] = Decimal(values[name]).quantize(CENT)
    return {hall_id: DayFigures(**values) for hall_id, values in figures.items()}


# --- compiling -----------------------------------------------------------------------------

def _check_role(user, step: str) -> None:
    if user is not None and not any(user.has_perm(p) for p in _STEP_PERMISSIONS[step]):
        raise PermissionDenied(_("Your role may not do this."))


def _locked(report_id: int) -> DailyReport:
    try:
        return DailyReport.objects.select_for_update(of=("self",)).select_related("hall").get(pk=report_id)
    except DailyReport.DoesNotExist as exc:
        raise DailyReport.DoesNotExist(_("No such daily report.")) from exc


def _refuse_unless_draft(report: DailyReport) -> None:
    if report.status == DailyReport.Status.DRAFT:
        return
    if report.status == DailyReport.Status.APPROVED:
        message = _("The report of %(hall)s for %(day)s is approved and locked: it can no longer be changed.")
    else:
        message = _("The report of %(hall)s for %(day)s is being reconciled: it is only recompiled after it is sent back to draft.")
    raise ReportLocked(
        message % {"hall": report.hall.name, "day": report.day.isoformat()}, allowed=allowed_targets(report), current=report.status,
    )


def _write_figures(report: DailyReport, figures: DayFigures, *, by) -> DailyReport:
    fields = figures.as_fields()
    changed = any(getattr(report, name) != value for name, value in fields.items())
    if not changed:
        return report
    DailyReport.objects.filter(pk=report.pk, status=DailyReport.Status.DRAFT).update(**fields)
    for name, value in fields.items():
        setattr(report, name, value)
    if by is not None:
        # A refresh someone asked for that changed the figures shows in the history; the scheduled one would only add noise.
        DailyReportTransition.objects.create(
            report=report, from_state=report.status, to_state=report.status, transition="refresh", by=by,
        )
    return report


def _hall(hall_id: int) -> Warehouse:
    try:
        hall = Warehouse.objects.get(pk=hall_id)
    except (Warehouse.DoesNotExist, ValueError, TypeError) as exc:
        raise ValidationError({"hall": [_("No such hall.")]}) from exc
    if hall.level != Warehouse.Level.HALL:
        raise ValidationError({"hall": [_("Only a hall store has a daily business report.")]})
    return hall


@transaction.atomic
def daily_report_compile(*, hall_id: int, day: date, by=None) -> DailyReport:
    """Create the hall's report for the day, or refresh its figures while it is a draft.

    A prepared or checked report is refused with ``ReportLocked`` (send it back to draft first);
    an approved one is locked for good. ``by`` is the clerk who asked (None: the scheduled task)."""
    _check_role(by, "refresh")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError({"day": [_("Give a calendar day.")]})
    if day > timezone.localdate():
        raise ValidationError({"day": [_("A report can only be compiled for today or a past day.")]})
    hall = _hall(hall_id)
    # The unique (hall, day) constraint makes a concurrent first compile find the other's row.
    report, _created = DailyReport.objects.get_or_create(hall=hall, day=day)
    report = _locked(report.pk)
    _refuse_unless_draft(report)
    return _write_figures(report, daily_figures(hall_ids=[hall.pk], day=day)[hall.pk], by=by)


def daily_reports_compile_day(*, day: date) -> dict[str, int]:
    """Compile the day's report of every active hall: the figures in one grouped query per fact table,
    then each hall's draft written in its own transaction. Reports past the draft are left alone.

    Idempotent: a second run writes the same figures."""
    hall_ids = list(Warehouse.objects.filter(level=Warehouse.Level.HALL, active=True).order_by("pk").values_list("pk", flat=True))
    figures = daily_figures(hall_ids=hall_ids, day=day)
    done = {"compiled": 0, "skipped": 0}
    for hall_id in hall_ids:
        with transaction.atomic():
            report, _created = DailyReport.objects.get_or_create(hall_id=hall_id, day=day)
            report = _locked(report.pk)
            if report.status != DailyReport.Status.DRAFT:
                done["skipped"] += 1
                continue
            _write_figures(report, figures[hall_id], by=None)
            done["compiled"] += 1
    return done


# --- the three levels ------------------------------------------------------------------------

def _guard(report: DailyReport, step: str, by) -> None:
    """Role, then state: the same order as ``run_transition``, so input errors never hide a refusal."""
    _check_role(by, step)
    if report.status == DailyReport.Status.APPROVED:
        _refuse_unless_draft(report)
    if step not in allowed_transitions(report):
        raise TransitionRefused(
            _("“%(action)s” is not possible while the report is “%(state)s”.") % {
                "action": _step_label(step), "state": report.get_status_display()},
            allowed=allowed_targets(report), current=report.status,
        )


def _step_label(step: str) -> str:
    return {"prepare": _("prepare"), "verify": _("check"), "approve": _("approve"), "send_back": _("send back")}.get(step, step)


def _require_explained(report: DailyReport) -> None:
    if report.difference != 0 and not report.explanation.strip():
        raise ValidationError({"explanation": [
            _("Collected and expected differ by %(difference)s CNY: explain the difference first.") % {"difference": report.difference}
        ]})


def _money(value, field: str) -> Decimal:
    if isinstance(value, float) or not isinstance(value, (Decimal, int)):
        raise ValidationError({field: [_("Give the amount as a decimal number of yuan.")]})
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise ValidationError({field: [_("The amount cannot be negative.")]})
    if value.as_tuple().exponent < -2:
        raise ValidationError({field: [_("Give the amount to the fen: at most two decimal places.")]})
    if value >= Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]):
        raise ValidationError({field: [_("The amount is too large.")]})
    return value.quantize(CENT)


def figures_stamp(report: DailyReport) -> str:
    """What the clerk saw when they counted the till: a prepare against other figures is refused."""
    amounts = (report.expected_total, report.collected_cash, report.collected_pos)
    return "|".join([str(report.deliveries_count), *(f"{Decimal(v).quantize(CENT)}" for v in amounts)])


@transaction.atomic
def daily_report_prepare(*, report_id: int, by, counted_cash: Decimal, explanation: str = "", figures_seen: str = "") -> DailyReport:
    """The delivery clerk hands the report over for checking with the cash counted in the till."""
    report = _locked(report_id)
    _guard(report, "prepare", by)
    counted_cash = _money(counted_cash, "counted_cash")
    explanation = (explanation or "").strip()
    if len(explanation) > 2000:
        raise ValidationError({"explanation": [_("Keep the explanation under 2000 characters.")]})
    if figures_seen and figures_seen != figures_stamp(report):
        raise ValidationError({NON_FIELD_ERRORS: [
            _("The figures changed while you were counting (a delivery was recorded): check them and count again.")
        ]})
    report.counted_cash, report.explanation = counted_cash, explanation
    _require_explained(report)
    report.prepared_by, report.prepared_at = by, timezone.now()
    return run_transition(report, "prepare", by=by, log_model=DailyReportTransition, log_fk="report")


@transaction.atomic
def daily_report_verify(*, report_id: int, by, note: str = "") -> DailyReport:
    """The account clerk checks a prepared report; not the one who prepared it."""
    report = _locked(report_id)
    _guard(report, "verify", by)
    if by is not None and report.prepared_by_id == by.pk:
        raise PermissionDenied(_("You prepared this report: someone else must check it."))
    _require_explained(report)
    report.checked_by, report.checked_at = by, timezone.now()
    return run_transition(report, "verify", by=by, log_model=DailyReportTransition, log_fk="report", reason=note)


@transaction.atomic
def daily_report_approve(*, report_id: int, by, note: str = "") -> DailyReport:
    """The account supervisor approves a checked report, which locks it; not who prepared or checked it."""
    report = _locked(report_id)
    _guard(report, "approve", by)
    if by is not None and report.checked_by_id == by.pk:
        raise PermissionDenied(_("You checked this report: someone else must approve it."))
    if by is not None and report.prepared_by_id == by.pk:
        raise PermissionDenied(_("You prepared this report: someone else must approve it."))
    _require_explained(report)
    report.approved_by, report.approved_at = by, timezone.now()
    return run_transition(report, "approve", by=by, log_model=DailyReportTransition, log_fk="report", reason=note)


@transaction.atomic
def daily_report_send_back(*, report_id: int, by, reason: str) -> DailyReport:
    """A reviewer returns a prepared or checked report to draft; it then goes through all three levels again."""
    report = _locked(report_id)
    _guard(report, "send_back", by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the report goes back to draft.")]})
    report.prepared_by = report.prepared_at = report.checked_by = report.checked_at = None
    return run_transition(report, "send_back", by=by, log_model=DailyReportTransition, log_fk="report", reason=reason)


def register() -> None:
    """Hooks into orders and the customer screen; called from DeliveryConfig.ready().

    Money contributes nothing to the customer screen: the daily report is the hall's, not a customer's."""
