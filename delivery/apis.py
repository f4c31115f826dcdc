"""The carrier tracking API (HMAC-signed) and the read-only shipment REST endpoints.

- ``POST /api/v1/carrier/events/``: a carrier's system reports what happened to the
  shipments it carries, one event or a batch; authenticated per carrier by an HMAC
  signature (``delivery.carrier_auth``), never by a staff token. Parsing only: storing and
  applying the events is ``services.shipments.tracking_events_record``.
- ``GET /api/v1/shipments/`` (by order, tracking number, service number, status, carrier),
  ``GET /api/v1/shipments/{id}/`` and its ``history/`` and ``events/``: for the delivery
  support desk and the roles that may view shipments; area managers see their areas'
  customers' only; the delivery address is masked for roles that do not need it whole.

Choices are rendered as plain strings listed in the field description, as the orders API
does: several apps have a ``status`` or ``code`` field with other values.
"""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample, OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_field, extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import Order
from servicedesk.masking import mask_address
from servicedesk.phones import normalize_service_number

from . import carrier_auth, selectors
from .models import PaymentMethod, Shipment, ShipmentStatus, ShipmentTransition, TrackingEvent
from .services import shipments as services
from .services import support

MAX_BATCH = 100


def _values(choices) -> str:
    return ", ".join(value for value, _label in choices)


# --- Carrier tracking API ------------------------------------------------------------------------

SIGNATURE_DESCRIPTION = f"""
Carriers report tracking events for the shipments handed to them. Authenticate every request
with the three headers of a key issued to your company:

* `{carrier_auth.KEY_HEADER}`: your key id;
* `{carrier_auth.TIMESTAMP_HEADER}`: the moment of signing, whole seconds since the Unix epoch (UTC);
  requests more than {carrier_auth.MAX_SKEW_SECONDS // 60} minutes away from our clock are refused;
* `{carrier_auth.SIGNATURE_HEADER}`: lowercase hex of `HMAC-SHA256(secret, timestamp + "." + raw body)`,
  over the exact bytes of the body you send.

A missing header, an unknown or inactive key, a stale timestamp or a signature that does not
match gets **401** (`code`: `signature_missing`, `unknown_key`, `stale_timestamp`, `bad_signature`)
and nothing is read or stored.

The body is one event, or `{{"events": [...]}}` with up to {MAX_BATCH}. Each event is stored once per
`event_id` (your id, unique among your events): sending it again changes nothing and is answered
`duplicate`, so retry freely. Events are kept in order of occurrence; one moves the shipment only
if it is newer than the last one applied and a step forward (`applied`); an older or sideways one
is kept in the history only (`stored`). `delivered` requires `signed_by`, `id_checked: true`,
`amount_collected` and `payment_method` (`pos` also `pos_reference`); `failed` requires `reason`.
A tracking number that is not one of your shipments: 404 for a single event, `not_found` in a batch.
""".strip()


class CarrierSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "delivery.carrier_auth.CarrierSignatureAuthentication"
    name = ["carrierKey", "carrierTimestamp", "carrierSignature"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": carrier_auth.KEY_HEADER, "description": "The carrier's key id."},
            {"type": "apiKey", "in": "header", "name": carrier_auth.TIMESTAMP_HEADER, "description": "Unix seconds at signing (±5 minutes)."},
            {"type": "apiKey", "in": "header", "name": carrier_auth.SIGNATURE_HEADER,
             "description": 'hex(HMAC-SHA256(secret, timestamp + "." + raw body)).'},
        ]


class TrackingEventReportSerializer(serializers.Serializer):
    """One event as a carrier reports it."""

    event_id = serializers.CharField(max_length=80, help_text="Your id of the event, unique among your events: the replay guard.")
    tracking_number = serializers.CharField(max_length=40, help_text="The tracking number of the shipment handed to you.")
    code = serializers.CharField(max_length=20, help_text=_values(TrackingEvent.Code.choices))
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with offset (Asia/Shanghai when none); at most 5 minutes ahead of our clock.")
    signed_by = serializers.CharField(max_length=60, required=False, allow_blank=True, help_text="delivered: who signed.")
    id_checked = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="delivered: the identity document was checked (must be true).")
    amount_collected = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=True,
        help_text="delivered: yuan collected from the customer, as a decimal string (\"129.00\").",
    )
    payment_method = serializers.CharField(max_length=5, required=False, allow_blank=True, help_text="delivered: " + _values(PaymentMethod.choices))
    pos_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, help_text="delivered by POS: the terminal's reference.")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text="failed or returned: why.")

    def validate_code(self, value):
        if value not in TrackingEvent.Code.values:
            raise serializers.ValidationError(_("Unknown event code; one of: %(codes)s.") % {"codes": _values(TrackingEvent.Code.choices)})
        return value

    def validate(self, attrs):
        code = attrs["code"]
        if code == TrackingEvent.Code.DELIVERED:
            try:
                services.delivery_details(
                    signed_by=attrs.get("signed_by", ""), id_checked=attrs.get("id_checked"), amount_collected=attrs.get("amount_collected"),
                    payment_method=attrs.get("payment_method", ""), pos_reference=attrs.get("pos_reference", ""),
                )
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from exc
        elif code == TrackingEvent.Code.FAILED and not (attrs.get("reason") or "").strip():
            raise serializers.ValidationError({"reason": [_("Say why the delivery failed.")]})
        if attrs.get("id_checked") is None:
            attrs.pop("id_checked", None)
        return attrs


class TrackingEventBatchSerializer(serializers.Serializer):
    events = TrackingEventReportSerializer(many=True, min_length=1, max_length=MAX_BATCH, help_text=f"1 to {MAX_BATCH} events.")


class TrackingOutcomeSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    result = serializers.CharField(help_text="applied (moved the shipment), stored (kept in the history only), duplicate (sent before: nothing changed), not_found.")
    shipment = serializers.IntegerField(source="shipment_id", allow_null=True, help_text="Our shipment id; null for not_found and most duplicates.")
    status = serializers.CharField(help_text="The shipment's status after the event: " + _values(ShipmentStatus.choices) + "; empty when unknown.")
    note = serializers.CharField(help_text="Why a stored event did not move the shipment.")


class TrackingAnswerSerializer(serializers.Serializer):
    results = TrackingOutcomeSerializer(many=True, help_text="One per event, in the order sent.")
    applied = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    not_found = serializers.IntegerField()


def _answer(results) -> dict:
    counts = {"applied": 0, "stored": 0, "duplicate": 0, "not_found": 0}
    for result in results:
        counts[result.result] += 1
    return {
        "results": TrackingOutcomeSerializer(results, many=True).data,
        "applied": counts["applied"], "stored": counts["stored"], "duplicates": counts["duplicate"], "not_found": counts["not_found"],
    }


class CarrierEventsView(APIView):
    authentication_classes = [carrier_auth.CarrierSignatureAuthentication]
    permission_classes = [carrier_auth.IsSignedCarrier]
    parser_classes = [JSONParser]
    throttle_classes = []

    @extend_schema(
        summary="Report tracking events (carriers)",
        description=SIGNATURE_DESCRIPTION,
        request=PolymorphicProxySerializer(
            component_name="TrackingEvents",
            serializers=[TrackingEventReportSerializer, TrackingEventBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            200: OpenApiResponse(TrackingAnswerSerializer, description="Every event accounted for; see each result."),
            400: OpenApiResponse(description="Invalid body; detail names the fields (per event in a batch). Nothing stored."),
            401: OpenApiResponse(description="Missing or bad signature, unknown or inactive key, stale timestamp. Nothing stored."),
            404: OpenApiResponse(description="A single event whose tracking number is not one of your shipments. Nothing stored."),
        },
        examples=[
            OpenApiExample("Out for delivery", request_only=True, value={
                "event_id": "EV-20261123-0001", "tracking_number": "SF1234567890", "code": "out_for_delivery",
                "occurred_at": "2026-11-23T09:12:00+08:00",
            }),
            OpenApiExample("Delivered (batch)", request_only=True, value={"events": [{
                "event_id": "EV-20261123-0002", "tracking_number": "SF1234567890", "code": "delivered", "occurred_at": "2026-11-23T10:40:00+08:00",
                "signed_by": "张三", "id_checked": True, "amount_collected": "129.00", "payment_method": "pos", "pos_reference": "POS-889120",
            }]}),
        ],
    )
    def post(self, request):
        data = request.data
        single = isinstance(data, dict) and "events" not in data
        parsed = TrackingEventReportSerializer(data=data) if single else TrackingEventBatchSerializer(data=data)
        parsed.is_valid(raise_exception=True)
        events = [parsed.validated_data] if single else parsed.validated_data["events"]
        try:
            results = services.tracking_events_record(carrier=request.auth.carrier, events=events)
        except DjangoValidationError as exc:
            raise ApiValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}) from exc
        if single and results[0].result == "not_found":
            raise NotFound(_("None of your shipments has tracking number %(number)s.") % {"number": events[0]["tracking_number"]})
        return Response(_answer(results), status=status.HTTP_200_OK)


# --- Shipments for the delivery support desk ---------------------------------------------------------

class ShipmentSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_values(ShipmentStatus.choices))
    order_status = serializers.CharField(source="order.status", read_only=True)
    customer = serializers.IntegerField(source="order.customer_id", read_only=True)
    customer_name = serializers.CharField(source="order.customer.name", read_only=True)
    product = serializers.CharField(source="order.product.code", read_only=True)
    product_name = serializers.CharField(source="order.product.name", read_only=True)
    service_number = serializers.SerializerMethodField()
    delivery_address = serializers.SerializerMethodField()
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    carrier_name = serializers.SerializerMethodField()
    warehouse = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="The hall store it ships from.")
    appointment_slot = serializers.CharField(read_only=True, help_text=_values(Order.Slot.choices) + " or empty")
    payment_method = serializers.CharField(read_only=True, help_text=_values(PaymentMethod.choices) + " or empty")

    class Meta:
        model = Shipment
        fields = [
            "id", "status", "order", "order_status", "customer", "customer_name", "product", "product_name", "service_number",
            "delivery_address", "warehouse", "carrier", "carrier_name", "carrier_chosen_by_clerk", "tracking_number",
            "appointment_date", "appointment_slot", "attempts", "amount_due", "amount_collected", "payment_method", "pos_reference",
            "signed_by", "id_checked", "failure_reason", "created_at", "delivered_at", "last_event_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(help_text="The new number being delivered, else the line the order changes."))
    def get_service_number(self, shipment) -> str:
        order = shipment.order
        return order.pool_number.number if order.pool_number_id else order.service_number

    @extend_schema_field(serializers.CharField(help_text="Masked unless the role needs it whole."))
    def get_delivery_address(self, shipment) -> str:
        if self.context["request"].user.has_perm("servicedesk.view_full_address"):
            return shipment.order.delivery_address
        return mask_address(shipment.order.delivery_address)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_carrier_name(self, shipment) -> str | None:
        return shipment.carrier.name if shipment.carrier_id else None


class ShipmentStepSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, help_text="Null for the carrier or the system.")
    transition = serializers.CharField(read_only=True, help_text="create, pick, hand_to_carrier, go_out_for_delivery, deliver, fail, return_to_stock, cancel; and, without a change of state, assign_carrier, change_appointment, request_urgent_activation.")
    from_state = serializers.CharField(read_only=True, help_text="Empty for the creation.")
    to_state = serializers.CharField(read_only=True)

    class Meta:
        model = ShipmentTransition
        fields = ["transition", "from_state", "to_state", "by", "at", "reason"]
        read_only_fields = fields


class ShipmentTrackingEventSerializer(serializers.ModelSerializer):
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    code = serializers.CharField(read_only=True, help_text=_values(TrackingEvent.Code.choices))

    class Meta:
        model = TrackingEvent
        fields = ["event_id", "carrier", "code", "occurred_at", "received_at", "applied"]
        read_only_fields = fields


def _shipment_filters(params) -> dict:
    errors, found = {}, {}
    if raw := params.get("order", ""):
        if raw.isdigit() and len(raw) < 19 and int(raw) > 0:
            found["order_id"] = int(raw)
        else:
            errors["order"] = [_("A whole number is required.")]
    if raw := params.get("tracking_number", "").strip():
        found["tracking_number"] = raw[:40]
    if raw := params.get("service_number", "").strip():
        try:
            found["service_number"] = normalize_service_number(raw[:20])
        except DjangoValidationError as exc:
            errors["service_number"] = exc.messages
    if raw := params.get("status", ""):
        if raw in ShipmentStatus.values:
            found["status"] = raw
        else:
            errors["status"] = [_("One of: %(values)s.") % {"values": _values(ShipmentStatus.choices)}]
    if raw := params.get("carrier", "").strip():
        found["carrier"] = raw[:30]
    if errors:
        raise ApiValidationError(errors)
    return found


class SupportActionPermission(BasePermission):
    """The support actions are POSTs through services that check each action's role themselves;
    here the caller must be able to see shipments at all."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("delivery.view_shipment"))


class AppointmentSerializer(serializers.Serializer):
    appointment_date = serializers.DateField()
    appointment_slot = serializers.ChoiceField(choices=Order.Slot.choices, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        attrs["reason"] = attrs.get("reason", "").strip()
        if self.context.get("required", True) and not attrs["reason"]:
            raise serializers.ValidationError({"reason": [_("Say why.")]})
        return attrs


SUPPORT_ERRORS = {
    400: OpenApiResponse(description="Invalid fields, named in detail."),
    403: OpenApiResponse(description="The role may not work the delivery support desk."),
    404: OpenApiResponse(description="No such shipment, or not visible to the caller."),
    409: OpenApiResponse(description="Not possible in the shipment's state; the message says why."),
}


@extend_schema_view(
    list=extend_schema(
        summary="Find shipments, newest first",
        parameters=[
            OpenApiParameter("order", OpenApiTypes.INT, description="Order id."),
            OpenApiParameter("tracking_number", OpenApiTypes.STR, description="Exact tracking number."),
            OpenApiParameter("service_number", OpenApiTypes.STR, description="The number being delivered, or the line the order changes."),
            OpenApiParameter("status", OpenApiTypes.STR, description=_values(ShipmentStatus.choices)),
            OpenApiParameter("carrier", OpenApiTypes.STR, description="Carrier code."),
        ],
    ),
    retrieve=extend_schema(summary="Read one shipment"),
)
class ShipmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ShipmentSerializer
    queryset = Shipment.objects.none()  # for permissions and the schema; get_queryset scopes by role
    filter_backends = []
    SUPPORT_ACTIONS = {"appointment", "urgent_activation", "cancel", "refusal"}

    def get_permissions(self):
        if self.action in self.SUPPORT_ACTIONS:
            # Reading the shipment is checked as for GET; the support services check the role for each action.
            return [SupportActionPermission()]
        return super().get_permissions()

    def get_queryset(self):
        if self.action == "list":
            return selectors.shipment_search(user=self.request.user, **_shipment_filters(self.request.query_params))
        return selectors.shipment_search(user=self.request.user)

    @extend_schema(summary="The shipment's history: every step, oldest first", responses=ShipmentStepSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=ShipmentStepSerializer)
    def history(self, request, pk=None):
        page = self.paginate_queryset(selectors.shipment_history(shipment=self.get_object()))
        return self.get_paginated_response(ShipmentStepSerializer(page, many=True).data)

    # --- The support desk's actions (the same services as the browser desk) ---------------------

    def _act(self, request, run):
        shipment = self.get_object()  # 404 unless the caller may see it
        run(shipment.pk)
        return Response(ShipmentSerializer(selectors.shipment_search(user=request.user).get(pk=shipment.pk), context={"request": request}).data)

    @extend_schema(
        summary="Change the delivery appointment (also moves the order's and sends the customer an SMS)",
        request=AppointmentSerializer, responses={200: ShipmentSerializer, **SUPPORT_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def appointment(self, request, pk=None):
        data = AppointmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(request, lambda shipment_id: support.shipment_change_appointment(
            shipment_id=shipment_id, date=data.validated_data["appointment_date"], slot=data.validated_data.get("appointment_slot", ""),
            by=request.user))

    @extend_schema(summary="Request urgent activation of the order's line before delivery", request=ReasonSerializer,
                   responses={200: ShipmentSerializer, **SUPPORT_ERRORS})
    @action(detail=True, methods=["post"], url_path="urgent-activation")
    def urgent_activation(self, request, pk=None):
        data = ReasonSerializer(data=request.data, context={"required": False})
        data.is_valid(raise_exception=True)
        return self._act(request, lambda shipment_id: support.shipment_request_urgent_activation(
            shipment_id=shipment_id, by=request.user, reason=data.validated_data.get("reason", "")))

    @extend_schema(summary="Cancel before hand-over (the order is cancelled, stock and number released)", request=ReasonSerializer,
                   responses={200: ShipmentSerializer, **SUPPORT_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(request, lambda shipment_id: support.shipment_cancel(shipment_id=shipment_id, reason=data.validated_data["reason"], by=request.user))

    @extend_schema(summary="Record that the customer refused it (back to stock, the order cancelled)", request=ReasonSerializer,
                   responses={200: ShipmentSerializer, **SUPPORT_ERRORS})
    @action(detail=True, methods=["post"])
    def refusal(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(request, lambda shipment_id: support.shipment_record_refusal(
            shipment_id=shipment_id, reason=data.validated_data["reason"], by=request.user))

    @extend_schema(summary="What the carrier reported, in order of occurrence", responses=ShipmentTrackingEventSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=ShipmentTrackingEventSerializer)
    def events(self, request, pk=None):
        page = self.paginate_queryset(selectors.shipment_events(shipment=self.get_object()))
        return self.get_paginated_response(ShipmentTrackingEventSerializer(page, many=True).data)
