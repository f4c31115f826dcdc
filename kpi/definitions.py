"""Every KPI the centre steers by: what it counts, over what, and its target.

This module is the specification in code (DOMAIN.md section 5; the source
case study is named in brackets). Each KPI is a numerator over a denominator,
both plain counts (or, for handling time, a sum of seconds over a count)
that ``kpi.facts`` computes per day and grouping from one fact source. A
period's value is sum(numerator) / sum(denominator) over its days, so any
period and any grouping can be answered from the daily rollups. An empty
denominator is "no data", never 0 % or 100 %.

Targets marked "ours" are not in the sources; they are this centre's own
defaults and can be changed in settings.KPI_TARGETS without touching code.
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Dimension(models.TextChoices):
    """The groupings a KPI can be broken down by ("day" is the trend; "all" the whole centre)."""

    ALL = "all", _("Whole centre")
    AGENT = "agent", _("Agent")
    TEAM = "team", _("Team")
    AREA = "area", _("Service area")
    PRODUCT = "product", _("Product")
    CHANNEL = "channel", _("Channel")
    CARRIER = "carrier", _("Carrier")
    DEPARTMENT = "department", _("Department")
    VIP_TIER = "vip_tier", _("VIP tier")


class Kind(models.TextChoices):
    PERCENT = "percent", _("share of the denominator, in %")
    PER_10K = "per_10k", _("per 10,000")
    AVERAGE = "average", _("average")
    COUNT = "count", _("count")
    SHARE = "share", _("share of all, in %")


@dataclass(frozen=True)
class Kpi:
    code: str
    name: Promise
    numerator: Promise
    denominator: Promise
    source: str                      # the fact source (kpi.facts) that counts it
    kind: str = Kind.PERCENT
    target: Decimal | None = None
    # ">=": at least the target; "<=": at most; "<": below it.
    op: str = ">="
    target_source: str = ""          # [AH], [TJ] ... or "ours"
    unit: Promise | str = "%"
    # A KPI whose denominator is a stock, not a flow (active subscriptions): the period's
    # denominator is this other rollup on the period's last day, not a sum over days.
    denominator_kpi: str = ""

    @property
    def target_value(self) -> Decimal | None:
        override = getattr(settings, "KPI_TARGETS", {}).get(self.code)
        return Decimal(str(override)) if override is not None else self.target

    def value(self, numerator: int, denominator: int) -> Decimal | None:
        """The KPI's value, or None for "no data" (an empty denominator)."""
        if self.kind == Kind.COUNT:  # a count has no denominator: none counted is 0
            return Decimal(numerator)
        if not denominator:
            return None
        scale = {Kind.PERCENT: 100, Kind.SHARE: 100, Kind.PER_10K: 10_000}.get(self.kind, 1)
        return (Decimal(numerator) * scale / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def met(self, value: Decimal | None) -> bool | None:
        target = self.target_value
        if value is None or target is None:
            return None
        return {">=": value >= target, "<=": value <= target, "<": value < target}[self.op]


D = Decimal
KPIS: dict[str, Kpi] = {k.code: k for k in [
    Kpi("satisfaction", _("Satisfaction"),
        _("satisfaction callbacks scored 4 or 5 of 5"), _("all scored satisfaction callbacks"),
        source="callbacks_scored", target=D(80), target_source="[AH]"),
    Kpi("fcr", _("Complaint first-contact resolution"),
        _("complaints resolved without a reopen or a transfer"), _("complaints resolved (counted on their first resolution)"),
        source="complaints_resolved", target=D(40), target_source="[AH]"),
    Kpi("complaint_timeliness", _("Complaint timeliness"),
        _("complaints first resolved within their time limit"), _("complaints resolved (counted on their first resolution)"),
        source="complaints_resolved", target=D(90), target_source="ours"),
    Kpi("complaint_rate", _("Complaint rate"),
        _("complaints received"), _("active subscriptions on the period's last day"),
        source="complaints_received", kind=Kind.PER_10K, target=D(70), op="<=", target_source="[AH]",
        unit=_("per 10,000"), denominator_kpi="active_subscriptions"),
    Kpi("appeal_share", _("Appeal share"),
        _("complaints received that were appealed to the regulator"), _("complaints received"),
        source="complaints_received", target=D(10), op="<", target_source="[AH]"),
    Kpi("repair_timeliness", _("Repair timeliness"),
        _("fault repairs done within the repair time limit"), _("fault repairs done"),
        source="repairs_done", target=D(95), target_source="[AH]"),
    Kpi("acceptance_success", _("Order acceptance success"),
        _("orders accepted (back office) or provisioned (direct)"), _("orders decided: accepted, rejected, provisioned or failed"),
        source="orders_decided", target=D(95), target_source="ours"),
    Kpi("acceptance_accuracy", _("Order acceptance accuracy"),
        _("accepted orders not rolled back (cancelled) afterwards"), _("orders accepted by the back office"),
        source="orders_decided", target=D(98), target_source="ours"),
    Kpi("acceptance_timeliness", _("Order acceptance timeliness"),
        _("orders accepted within their category's time limit"), _("orders accepted by the back office"),
        source="orders_decided", target=D(95), target_source="ours"),
    Kpi("delivery_timeliness", _("Delivery timeliness"),
        _("shipments delivered within 3 days of the order"), _("shipments delivered"),
        source="shipments_closed", target=D(90), target_source="ours"),
    Kpi("delivery_success", _("Delivery success"),
        _("shipments delivered"), _("shipments closed: delivered or returned (refused, undeliverable)"),
        source="shipments_closed", target=D(95), target_source="ours"),
    Kpi("callback_coverage", _("Callback coverage"),
        _("closed complaints with a completed satisfaction callback"), _("complaints closed"),
        source="complaints_closed", target=D(100), target_source="[AH]"),
    Kpi("conversion", _("Opportunity conversion"),
        _("opportunities converted into an order"), _("opportunities closed: converted or lost"),
        source="opportunities_closed", target=D(30), target_source="ours"),
    Kpi("channel_share", _("Channel share of sales"),
        _("orders taken in the group"), _("all orders taken"),
        source="orders_submitted", kind=Kind.SHARE),
    Kpi("contact_volume", _("Contacts"),
        _("contacts started"), _("contacts started"),
        source="contacts", kind=Kind.COUNT, unit=""),
    Kpi("aht", _("Average handling time"),
        _("seconds from start to end of finished contacts"), _("finished contacts"),
        source="contacts", kind=Kind.AVERAGE, target=D(300), op="<=", target_source="ours", unit=_("s")),
]}

# Not shown as a KPI of its own: the complaint rate's denominator.
ACTIVE_SUBSCRIPTIONS = "active_subscriptions"

# Delivery timeliness: delivered within this many days of the order [TJ].
DELIVERY_DAYS = 3
# A callback score at or above this counts as satisfied [AH].
SATISFIED_SCORE = 4


def kpi(code: str) -> Kpi:
    return KPIS[code]
