"""REST endpoints for integrating systems to manage their webhook subscriptions and read deliveries."""
from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from . import webhooks
from .api.idempotency import idempotent
from .models import OutboxMessage, WebhookSubscription
from .roles import Role

SIGNATURE_DOC = f"""
Each event is POSTed as JSON to the subscription's URL once the change that caused it has committed, with:

- `{webhooks.EVENT_HEADER}`: the event kind (`{'`, `'.join(webhooks.EVENT_KINDS)}`);
- `{webhooks.EVENT_ID_HEADER}`: the event's unique id, also `id` in the body;
- `{webhooks.TIMESTAMP_HEADER}`: when this attempt was signed, in whole seconds since the Unix epoch;
- `{webhooks.SIGNATURE_HEADER}`: `sha256=` followed by the hex HMAC-SHA256, under the subscription's secret,
  of the timestamp, a full stop and the raw body (`timestamp + "." + body`).

Verify the signature over the raw bytes before parsing, and refuse timestamps more than a few minutes old.
The body: `id`, `kind`, `occurred_at` (ISO 8601), `object` (`type`, `id`, and references such as `external_id`,
`customer_id`, `order_id` when set) and, for status changes, `from`, `to` and `transition`. No personal data.

Answer 2xx within {settings.WEBHOOK_TIMEOUT_SECONDS:g} seconds to acknowledge. 408, 429, 5xx, a timeout or a refused connection are retried
with exponential backoff (then the delivery is marked failed; an administrator can send it again); any other
status, redirects included, fails at once. Events about one object reach a subscription in the order they
happened: the next is sent only after the previous was acknowledged or failed.

Delivery is at least once: when the outcome of a POST is unknown (a timeout after it was sent) the same event is
sent again with the same id. **Deduplicate on `{webhooks.EVENT_ID_HEADER}`.**
"""


class IsApiClientOrAdmin(BasePermission):
    """Integrating systems manage their own subscriptions; administrators see and manage all."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(Role.API_CLIENT, Role.ADMIN))


def _is_admin(user) -> bool:
    return user.has_role(Role.ADMIN)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "active", "client", "created_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown only in this answer: store it now.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    """Types only; the rules (URL scheme, known kinds, secret length) are the service's, answered per field."""

    name = serializers.CharField(max_length=200, allow_blank=True)
    url = serializers.CharField(max_length=2000, allow_blank=True, help_text="http:// or https://; redirects are not followed.")
    events = serializers.ListField(child=serializers.CharField(max_length=100), help_text="Event kinds: " + ", ".join(webhooks.EVENT_KINDS))
    active = serializers.BooleanField(required=False, default=True)
    secret = serializers.CharField(
        required=False, allow_blank=True, max_length=200, write_only=True,
        help_text=f"Optional: your own signing secret ({webhooks.SECRET_MIN_LENGTH}–{webhooks.SECRET_MAX_LENGTH} characters). "
        "Generated when left out on create.",
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.SerializerMethodField()
    event = serializers.SerializerMethodField(help_text="The event kind.")
    object = serializers.SerializerMethodField()
    http_status = serializers.SerializerMethodField(help_text="The subscriber's answer to the last successful POST.")

    class Meta:
        model = OutboxMessage
        fields = ["id", "event_id", "event", "object", "status", "attempts", "last_error", "http_status", "created_at", "next_attempt_at", "sent_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_event_id(self, message) -> str:
        return message.payload.get("event", {}).get("id", "")

    @extend_schema_field(OpenApiTypes.STR)
    def get_event(self, message) -> str:
        return message.payload.get("event", {}).get("kind", "")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_object(self, message) -> dict:
        return message.payload.get("event", {}).get("object", {})

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_http_status(self, message) -> int | None:
        return (message.result or {}).get("http_status")


_WRITE_ERRORS = {
    400: OpenApiResponse(description="Invalid fields, named in detail (url, events, name, secret)."),
    403: OpenApiResponse(description="Only API clients and administrators manage webhooks."),
}


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions", description="An API client sees its own; an administrator sees all."
                       + SIGNATURE_DOC),
    retrieve=extend_schema(summary="Read one webhook subscription"),
    create=extend_schema(
        summary="Subscribe to events", description="The answer carries the signing secret, once." + SIGNATURE_DOC,
        request=WebhookSubscriptionWriteSerializer, responses={201: WebhookSubscriptionCreatedSerializer, **_WRITE_ERRORS},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Retries with the same key return the first answer and create nothing new.")],
    ),
    update=extend_schema(summary="Replace a webhook subscription", request=WebhookSubscriptionWriteSerializer,
                         responses={200: WebhookSubscriptionSerializer, **_WRITE_ERRORS}),
    partial_update=extend_schema(summary="Change a webhook subscription", description="Give a new `secret` to rotate it.",
                                 request=WebhookSubscriptionWriteSerializer, responses={200: WebhookSubscriptionSerializer, **_WRITE_ERRORS}),
    destroy=extend_schema(summary="Delete a webhook subscription", description="Undelivered events of it are marked failed, not sent."),
)
class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()  # the schema's; get_queryset scopes by client
    permission_classes = [IsApiClientOrAdmin]
    filter_backends = []

    def get_queryset(self):
        subscriptions = WebhookSubscription.objects.select_related("client").order_by("id")
        if not _is_admin(self.request.user):
            subscriptions = subscriptions.filter(client=self.request.user)
        return subscriptions

    def create(self, request, *args, **kwargs):
        return idempotent("webhooks.create", request, lambda: self._create(request))

    def _create(self, request):
        data = WebhookSubscriptionWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        subscription = webhooks.webhook_subscription_create(client=request.user, secret=values.pop("secret", "") or None, **values)
        body = WebhookSubscriptionCreatedSerializer(subscription).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": f"{request.path}{subscription.pk}/"})

    def update(self, request, *args, partial=False, **kwargs):
        subscription = self.get_object()
        data = WebhookSubscriptionWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}  # not the serializer's defaults
        if not changes.get("secret"):
            changes.pop("secret", None)
        subscription = webhooks.webhook_subscription_update(subscription=subscription, **changes)
        return Response(self.get_serializer(subscription).data)

    def destroy(self, request, *args, **kwargs):
        webhooks.webhook_subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Recent deliveries of a subscription, newest first",
        description="Each event sent (or being sent) to this subscription: status `pending`, `sending`, `sent` or `failed`, "
        "attempts made, the last error and the subscriber's HTTP status.",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=OutboxMessage.Status.values)],
        responses={200: WebhookDeliverySerializer(many=True), 400: OpenApiResponse(description="Unknown status.")},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        deliveries = webhooks.webhook_deliveries(subscription_id=subscription.pk)
        if state := request.query_params.get("status"):
            if state not in OutboxMessage.Status.values:
                raise serializers.ValidationError({"status": [_("Unknown status.")]})
            deliveries = deliveries.filter(status=state)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
