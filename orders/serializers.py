"""Serializers of the orders REST API (``/api/v1/orders/``): parsing and rendering only.

Statuses, flows and other choices are rendered as plain strings whose values are
listed in the field description, not as OpenAPI enum components: every app has a
``status`` field, and same-named enums with different values make the schema
generator warn.
"""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from servicedesk.api.fields import ServiceNumberField
from servicedesk.masking import mask_address
from servicedesk.models import Channel, Customer, VipTier
from servicedesk.selectors import customers_visible_to

from .models import Flow, Intent, Opportunity, Order, OrderStatus, OrderTransition, Product


def _values(choices) -> str:
    return ", ".join(value for value, _label in choices)


class OrderSerializer(serializers.ModelSerializer):
    """An order as clients see it; the delivery address is masked unless the role needs it whole."""

    status = serializers.CharField(read_only=True, help_text=_values(OrderStatus.choices))
    flow = serializers.CharField(read_only=True, help_text=_values(Flow.choices))
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    product = serializers.CharField(source="product.code", read_only=True, help_text="Product code.")
    product_name = serializers.CharField(source="product.name", read_only=True)
    pool_number = serializers.SerializerMethodField()
    delivery_address = serializers.SerializerMethodField()
    appointment_slot = serializers.CharField(read_only=True, help_text=_values(Order.Slot.choices) + " or empty")
    channel = serializers.CharField(read_only=True, help_text=_values(Channel.choices))
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "status", "flow", "customer", "customer_name", "product", "product_name",
            "service_number", "pool_number", "price", "delivery_address", "appointment_date", "appointment_slot",
            "channel", "notes", "priority", "submitted_at", "accept_by", "accepted_at", "urgent_activation",
            "closing_reason", "closed_at", "created_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The new number reserved or sold for the order."))
    def get_pool_number(self, order) -> str | None:
        return order.pool_number.number if order.pool_number_id else None

    @extend_schema_field(serializers.CharField())
    def get_delivery_address(self, order) -> str:
        if self.context["request"].user.has_perm("servicedesk.view_full_address"):
            return order.delivery_address
        return mask_address(order.delivery_address)


class OrderCreateSerializer(serializers.Serializer):
    """A sale. The product's category decides the flow; a deferred product becomes a callback."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none(), help_text=_("Customer id."))
    product = serializers.SlugRelatedField(
        slug_field="code", queryset=Product.objects.select_related("category"), help_text=_("Product code from the catalogue.")
    )
    service_number = ServiceNumberField(
        required=False, allow_blank=True, default="",
        help_text=_("Direct flow: the customer's existing line the order changes."),
    )
    pool_number = ServiceNumberField(
        required=False, allow_blank=True, default="",
        help_text=_("A free number from the pool, for products that need a new number; it is reserved for the order."),
    )
    delivery_address = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    appointment_date = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("Agreed delivery date."))
    appointment_slot = serializers.ChoiceField(choices=Order.Slot.choices, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB_HALL)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    callback_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text=_("Deferred products only: the agreed callback time (the sale becomes a callback, answered with 202)."),
    )
    intent = serializers.ChoiceField(choices=Intent.choices, default=Intent.MEDIUM, help_text=_("Deferred products only."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # A customer the caller may not see does not exist for them.
            self.fields["customer"].queryset = customers_visible_to(request.user)



class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why the order is cancelled; recorded in its history."))


class OrderTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, help_text="Null for the system (billing).")
    transition = serializers.CharField(read_only=True, help_text="submit, accept, reject, cancel, provision, … as recorded.")
    from_state = serializers.CharField(read_only=True, help_text="Empty for the submission.")
    to_state = serializers.CharField(read_only=True)

    class Meta:
        model = OrderTransition
        fields = ["transition", "from_state", "to_state", "by", "at", "reason"]
        read_only_fields = fields


class DeferredSaleSerializer(serializers.ModelSerializer):
    """What a sale of a deferred product produced: a callback for the outbound team, not an order."""

    opportunity = serializers.IntegerField(source="pk", read_only=True, help_text="The opportunity's id.")
    product = serializers.CharField(source="product.code", read_only=True)
    intent = serializers.CharField(read_only=True, help_text=_values(Intent.choices))
    status = serializers.CharField(read_only=True, help_text=_values(Opportunity.Status.choices))

    class Meta:
        model = Opportunity
        fields = ["opportunity", "customer", "product", "callback_at", "intent", "status", "created_at"]
        read_only_fields = fields


class QueueFilterSerializer(serializers.Serializer):
    """The back-office queue's filters (unknown values are a 400 naming the field)."""

    vip_tier = serializers.ChoiceField(choices=VipTier.choices, required=False)
    category = serializers.SlugField(max_length=30, required=False)
    breached = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        return {"vip_tier": attrs.get("vip_tier", ""), "category": attrs.get("category", ""), "breached_only": attrs.get("breached", False)}
