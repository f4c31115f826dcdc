from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .api.fields import ServiceNumberField
from .models import Channel, Contact, Customer, Outcome, Script, Subscription


class TariffPlanField(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    monthly_fee = serializers.DecimalField(max_digits=10, decimal_places=2)


class SubscriptionSerializer(serializers.ModelSerializer):
    tariff_plan = TariffPlanField(read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "customer", "service_number", "tariff_plan", "status", "activated_on", "monthly_spend"]


class CustomerSerializer(serializers.ModelSerializer):
    """ID number and address come masked unless the caller's role needs them whole."""

    id_number = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    area = serializers.SerializerMethodField()
    subscriptions = SubscriptionSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "id_type", "id_number", "address", "vip_tier", "area", "subscriptions", "created_at"]

    @extend_schema_field(serializers.CharField())
    def get_id_number(self, customer) -> str:
        return customer.id_number_for(self.context["request"].user)

    @extend_schema_field(serializers.CharField())
    def get_address(self, customer) -> str:
        return customer.address_for(self.context["request"].user)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_area(self, customer) -> str | None:
        return customer.area.code if customer.area_id else None


class ContactSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id", "customer", "channel", "service_number", "reason", "business", "outcome",
            "notes", "agent", "started_at", "ended_at", "links",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_links(self, contact) -> list[str]:
        return [link.label for link in contact.links.all()]


class ContactDetailsSerializer(serializers.Serializer):
    """What a contact records, whoever writes it (an agent's client, a self-service system)."""

    reason = serializers.CharField(max_length=200)
    business = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices, default=Outcome.RESOLVED)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField(required=False)
    ended_at = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        # Without a start the contact starts now, so an end in the past is before the start too.
        if attrs.get("ended_at") and attrs["ended_at"] < (attrs.get("started_at") or timezone.now()):
            raise serializers.ValidationError({"ended_at": [_("The end must not be before the start.")]})
        return attrs


class ContactCreateSerializer(ContactDetailsSerializer):
    customer = serializers.IntegerField(required=False, min_value=1, help_text=_("Customer id; optional when service_number is given."))
    service_number = ServiceNumberField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.HOTLINE)

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("service_number"):
            raise serializers.ValidationError({"service_number": [_("Give the customer or the service number.")]})
        return super().validate(attrs)


class ScriptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Script
        fields = ["id", "kind", "category", "title", "body", "keywords", "updated_at"]
