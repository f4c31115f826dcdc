"""Serializers of the KPI reporting API (``/api/v1/kpi/``): reading the query, rendering the answer.

The query serializers only parse and check the input (every error names its field);
the numbers come from ``kpi.selectors``. Codes and groupings are plain strings listed
in the field descriptions, as the other APIs do, not enum components.
"""
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from .definitions import KPIS, Dimension, Kind
from .facts import dimensions_of

# The longest period one request may cover (three years, a leap day included).
MAX_PERIOD_DAYS = 3 * 365 + 1
MAX_KEYS = 100


def _values(values) -> str:
    return ", ".join(values)


KPI_CODES = _values(KPIS)
GROUPINGS = _values(Dimension.values)
DECIMAL = {"max_digits": 20, "decimal_places": 2, "coerce_to_string": True, "allow_null": True}


# --- The query ---------------------------------------------------------------------------------

class KpiCodesField(serializers.ListField):
    """``kpi=a&kpi=b`` or ``kpi=a,b``."""

    child = serializers.CharField()

    def to_internal_value(self, data):
        codes = [code.strip() for item in super().to_internal_value(data) for code in item.split(",") if code.strip()]
        unknown = [code for code in codes if code not in KPIS]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown KPI %(codes)s; one of: %(known)s.") % {"codes": ", ".join(unknown), "known": KPI_CODES}
            )
        return list(dict.fromkeys(codes))


class PeriodQuerySerializer(serializers.Serializer):
    """The period and grouping every KPI query shares; the period defaults to this month so far."""

    first = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (Asia/Shanghai); default the first of this month.")
    last = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD, inclusive; default today. At most three years after first.")
    group_by = serializers.CharField(required=False, default=Dimension.ALL, help_text=f"One of: {GROUPINGS}. Default all (the whole centre).")

    def validate_group_by(self, value):
        if value not in Dimension.values:
            raise serializers.ValidationError(_("Unknown grouping; one of: %(known)s.") % {"known": GROUPINGS})
        return value

    def validate(self, attrs):
        today = timezone.localdate()
        attrs.setdefault("last", today)
        attrs.setdefault("first", attrs["last"].replace(day=1))
        first, last = attrs["first"], attrs["last"]
        if last < first:
            raise serializers.ValidationError({"last": [_("The last day is before the first.")]})
        if last - first >= timedelta(days=MAX_PERIOD_DAYS):
            raise serializers.ValidationError({"last": [_("Ask for at most three years at a time.")]})
        unsupported = [code for code in attrs.get("kpi", []) if attrs["group_by"] not in dimensions_of(code)]
        if unsupported:
            raise serializers.ValidationError({"group_by": [
                _("%(kpis)s cannot be grouped by %(group)s.") % {"kpis": ", ".join(unsupported), "group": attrs["group_by"]}
            ]})
        if attrs.get("key") and attrs["group_by"] == Dimension.ALL:
            raise serializers.ValidationError({"key": [_("A group key needs a grouping other than all.")]})
        return attrs


class ValuesQuerySerializer(PeriodQuerySerializer):
    kpi = KpiCodesField(required=False, help_text=f"KPI codes, repeated or comma-separated; default all. One of: {KPI_CODES}.")
    key = serializers.ListField(
        child=serializers.CharField(max_length=40, allow_blank=True), required=False, max_length=MAX_KEYS,
        help_text="Only these groups (repeatable): an id (agent, team, area, product, carrier, department) or a code (channel, VIP tier).",
    )

    def validate(self, attrs):
        attrs["kpi"] = attrs.get("kpi") or list(KPIS)
        return super().validate(attrs)


class TrendQuerySerializer(PeriodQuerySerializer):
    kpi = serializers.CharField(help_text=f"One KPI code: {KPI_CODES}.")
    key = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                help_text="The group whose trend to show; with group_by all, leave it out.")

    def validate_kpi(self, value):
        if value not in KPIS:
            raise serializers.ValidationError(_("Unknown KPI; one of: %(known)s.") % {"known": KPI_CODES})
        return value

    def validate(self, attrs):
        attrs["kpi"] = [attrs["kpi"]]
        attrs = super().validate(attrs)
        attrs["kpi"] = attrs["kpi"][0]
        return attrs


# --- The answer --------------------------------------------------------------------------------

class KpiDefinitionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    numerator = serializers.CharField(help_text="What the numerator counts.")
    denominator = serializers.CharField(help_text="What the denominator counts; an empty one is no data.")
    kind = serializers.CharField(help_text=f"{_values(Kind.values)}: how the value is made from the two counts.")
    unit = serializers.CharField(allow_blank=True)
    target = serializers.DecimalField(**DECIMAL, help_text="The target, or null when the KPI has none.")
    op = serializers.CharField(help_text="How the value meets the target: >= (at least), <= (at most), < (below).")
    target_source = serializers.CharField(allow_blank=True, help_text="Where the target comes from: [AH], [TJ] ... or ours.")
    dimensions = serializers.ListField(child=serializers.CharField(), help_text=f"The groupings it can be broken down by, of: {GROUPINGS}.")


class KpiValueSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    group_by = serializers.CharField()
    key = serializers.CharField(allow_blank=True, help_text="The group's id or code; empty for the whole centre or rows without a group.")
    label = serializers.CharField(allow_blank=True, help_text="The group's name.")
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    value = serializers.DecimalField(**DECIMAL, help_text="numerator / denominator scaled by the KPI's kind; null is no data (an empty denominator).")
    target = serializers.DecimalField(**DECIMAL)
    met = serializers.BooleanField(allow_null=True, help_text="Whether the value meets the target; null without data or target.")


class KpiTrendPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    value = serializers.DecimalField(**DECIMAL, help_text="Null is no data on that day.")
    met = serializers.BooleanField(allow_null=True)


class KpiTrendSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    group_by = serializers.CharField()
    key = serializers.CharField(allow_blank=True)
    label = serializers.CharField(allow_blank=True)
    first = serializers.DateField()
    last = serializers.DateField()
    target = serializers.DecimalField(**DECIMAL)
    points = KpiTrendPointSerializer(many=True, help_text="One per day that has data, oldest first; days without any are left out.")


class KpiErrorSerializer(serializers.Serializer):
    """The API's one error shape (``servicedesk.api.errors``)."""

    code = serializers.CharField(help_text="invalid, not_authenticated, permission_denied ...")
    message = serializers.CharField(help_text="A sentence for people, in the request's language.")
    detail = serializers.DictField(help_text="For invalid: the fields at fault, each with its messages.")
