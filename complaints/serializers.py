"""Serializers of the complaints REST API (``/api/v1/complaints/``): parsing and rendering only.

Statuses, severities and channels are rendered as plain strings whose values are listed
in the field description, not as OpenAPI enum components (same-named enums with
different values in other apps would make the schema generator warn).

Personal data: the service number and any ID or phone number written into the
description or notes are masked unless the caller's role works complaints or calls
customers back (``complaints.work_complaint`` / ``complaints.callback_complaint``).
"""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from servicedesk.api.fields import ServiceNumberField
from servicedesk.masking import mask_phone, scrub
from servicedesk.models import Channel, Customer, Department
from servicedesk.selectors import customers_visible_to

from .models import (
    Complaint,
    ComplaintCategory,
    ComplaintNote,
    ComplaintStatus,
    ComplaintTransition,
    Severity,
)

ESCALATION_REASONS = ("repeat", "vip", "regulator")
TRANSITION_ACTIONS = ("start", "resolve", "transfer", "escalate", "appeal")


def _values(choices) -> str:
    return ", ".join(value for value, _label in choices)


def sees_personal_data(user) -> bool:
    """Those who work the complaint or call the customer back need the whole number."""
    return user.has_perm("complaints.work_complaint") or user.has_perm("complaints.callback_complaint")


class ComplaintSerializer(serializers.ModelSerializer):
    """A complaint as clients see it; numbers masked unless the role needs them whole."""

    status = serializers.CharField(read_only=True, help_text=_values(ComplaintStatus.choices))
    severity = serializers.CharField(read_only=True, help_text=_values(Severity.choices))
    channel = serializers.CharField(read_only=True, help_text=_values(Channel.choices))
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True, help_text="Complaint category code.")
    category_name = serializers.CharField(source="category.name", read_only=True)
    department = serializers.SerializerMethodField()
    first_ask_owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    service_number = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    escalation_reason = serializers.CharField(read_only=True, help_text="repeat, vip, regulator or empty")
    external_id = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = [
            "id", "status", "customer", "customer_name", "category", "category_name", "severity", "service_number",
            "description", "channel", "department", "first_ask_owner", "received_at", "due_at", "resolution",
            "resolved_at", "closed_at", "escalated", "escalation_reason", "appeal", "appeal_due_at", "reopen_count",
            "external_id",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Department code."))
    def get_department(self, complaint) -> str | None:
        return complaint.department.code if complaint.department_id else None

    @extend_schema_field(serializers.CharField())
    def get_service_number(self, complaint) -> str:
        if sees_personal_data(self.context["request"].user):
            return complaint.service_number
        return mask_phone(complaint.service_number)

    @extend_schema_field(serializers.CharField())
    def get_description(self, complaint) -> str:
        if sees_personal_data(self.context["request"].user):
            return complaint.description
        return scrub(complaint.description)

    @extend_schema_field(serializers.CharField(help_text="The caller's own reference; shown only to the client that gave it."))
    def get_external_id(self, complaint) -> str:
        return complaint.external_id if complaint.created_by_id == self.context["request"].user.pk else ""


class ComplaintCreateSerializer(serializers.Serializer):
    """A complaint from any channel; the caller becomes its first-ask owner."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none(), help_text=_("Customer id."))
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=ComplaintCategory.objects.filter(active=True).select_related("department"),
        help_text=_("Complaint category code."),
    )
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.NORMAL)
    description = serializers.CharField(max_length=4000)
    service_number = ServiceNumberField(required=False, allow_blank=True, default="",
                                        help_text=_("The customer's line the complaint concerns."))
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB_HALL)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=100, default="",
                                        help_text=_("Your own reference, unique per client."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # A customer the caller may not see does not exist for them.
            self.fields["customer"].queryset = customers_visible_to(request.user)

    def validate_external_id(self, value):
        return value.strip()


class ComplaintTransitionRequestSerializer(serializers.Serializer):
    """One step of the complaint's state machine, with what that step needs."""

    action = serializers.CharField(max_length=20, help_text=", ".join(TRANSITION_ACTIONS))
    department = serializers.SlugRelatedField(
        slug_field="code", queryset=Department.objects.all(), required=False, help_text=_("transfer: the department's code.")
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="",
                                   help_text=_("transfer: why; escalate: repeat, vip or regulator."))
    resolution = serializers.CharField(required=False, max_length=4000, help_text=_("resolve: what was done."))
    due_at = serializers.DateTimeField(required=False, help_text=_("appeal: when the regulator expects the answer."))

    NEEDS = {"resolve": ("resolution",), "transfer": ("department", "reason"), "escalate": ("reason",), "appeal": ("due_at",)}

    def validate_action(self, value):
        if value not in TRANSITION_ACTIONS:
            raise serializers.ValidationError(_("Use one of %(names)s.") % {"names": ", ".join(TRANSITION_ACTIONS)})
        return value

    def validate(self, attrs):
        action = attrs["action"]
        errors = {name: [_("Required for this action.")] for name in self.NEEDS.get(action, ()) if not attrs.get(name)}
        if action == "escalate" and attrs.get("reason") and attrs["reason"] not in ESCALATION_REASONS:
            errors["reason"] = [_("Use one of %(names)s.") % {"names": ", ".join(ESCALATION_REASONS)}]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ComplaintNoteSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    text = serializers.CharField(max_length=2000)

    class Meta:
        model = ComplaintNote
        fields = ["id", "text", "by", "at"]
        read_only_fields = ["id", "by", "at"]

    def to_representation(self, note):
        data = super().to_representation(note)
        if not sees_personal_data(self.context["request"].user):
            data["text"] = scrub(data["text"])
        return data


class ComplaintTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, help_text="Null for the system.")
    transition = serializers.CharField(read_only=True, help_text="take, assign, transfer, start, resolve, escalate, … as recorded.")
    from_state = serializers.CharField(read_only=True)
    to_state = serializers.CharField(read_only=True)

    class Meta:
        model = ComplaintTransition
        fields = ["transition", "from_state", "to_state", "by", "at", "reason"]
        read_only_fields = fields
