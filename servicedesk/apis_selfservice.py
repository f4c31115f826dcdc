"""The IVR and app hall API: ``/api/v1/self-service/`` for self-service systems.

Token authentication; the client's account holds the API client role. Each request names
its channel, ``ivr`` or ``app_hall`` (query string for reads, body for writes):

- ``GET callers/?number=`` identifies the caller: customer id, masked name, VIP tier, the
  number's subscription status and tariff, area (404 in the error shape when no customer has it);
- ``GET callers/<customer_id>/status/`` the customer's open orders, shipments and complaints:
  the web hall's sections (``servicedesk.selfservice``) as JSON;
- ``POST contacts/`` records a contact with the client's channel (no agent);
- ``POST orders/`` and ``POST complaints/`` (served by the orders and complaints apps, registered
  through ``selfservice.register_api_view``) record the contact and submit through the same
  services as every other channel (``sale_submit`` routing, ``complaint_take``), linked to it.

``selfservice_urls()`` is read when the URLconf loads, after every app has registered.
"""
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selfservice
from .api.fields import ServiceNumberField
from .api.idempotency import idempotent
from .models import Customer, Subscription
from .roles import Role
from .serializers import ContactDetailsSerializer, ContactSerializer
from .services import contact_record

CHANNEL_HELP = gettext_lazy("The self-service channel asking: ivr or app_hall.")
CHANNELS = [(c.value, c.label) for c in selfservice.API_CHANNELS]
ERROR = OpenApiResponse(description="The one error shape: {code, message, detail}.")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Retries with the same key return the first answer and create nothing new.",
)


class IsSelfServiceClient(BasePermission):
    """An API client account (the IVR, the app hall's backend)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(Role.API_CLIENT))


class SelfServiceAPIView(APIView):
    """Base of every self-service endpoint, the apps' included: token auth, the API client role."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsSelfServiceClient]


@extend_schema_field(OpenApiTypes.STR)
class ChannelField(serializers.ChoiceField):
    """ivr or app_hall. A plain string in the schema, its values in the description, as elsewhere in the API:
    an enum component would collide with the full Channel enum's name."""

    def __init__(self, **kwargs):
        super().__init__(choices=CHANNELS, help_text=CHANNEL_HELP, **kwargs)


def channel_field(**kwargs) -> serializers.ChoiceField:
    return ChannelField(**kwargs)


# --- Serializers (parsing and rendering only) ---------------------------------------------------

class CallerQuerySerializer(serializers.Serializer):
    number = ServiceNumberField(help_text=gettext_lazy("The number the caller called from or keyed in."))
    channel = channel_field(required=False)


class TariffSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    monthly_fee = serializers.DecimalField(max_digits=10, decimal_places=2)


class NumberSerializer(serializers.Serializer):
    service_number = serializers.CharField()
    status = serializers.CharField(help_text=", ".join(Subscription.Status.values))
    tariff_plan = TariffSerializer()


class AreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CallerSerializer(serializers.Serializer):
    customer = serializers.IntegerField(help_text="Customer id.")
    name = serializers.CharField(help_text="Masked: the first character only, enough for a greeting.")
    vip_tier = serializers.CharField(help_text="diamond, gold, silver or ordinary")
    number = NumberSerializer()
    area = AreaSerializer(allow_null=True)


class StatusQuerySerializer(serializers.Serializer):
    channel = channel_field(required=False)
    include_closed = serializers.BooleanField(required=False, default=False, help_text=gettext_lazy("Also the recent closed items."))


class ItemFieldSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class ItemEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="order, shipment, complaint, ...")
    id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField(help_text="The state in words, in the request's language.")
    state_code = serializers.CharField(help_text="The state's code.")
    open = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)
    fields = ItemFieldSerializer(many=True, help_text="What a person reads, label and value.")
    data = serializers.DictField(help_text="The same facts for machines (codes, ISO dates).")
    events = ItemEventSerializer(many=True, help_text="Progress, oldest first (tracking events of a shipment).")
    refs = serializers.DictField(child=serializers.IntegerField(), help_text='What it belongs to, e.g. {"order": 12}.')
    actions = serializers.ListField(child=serializers.CharField(), help_text="Self-service actions possible on it now.")
    note = serializers.CharField(help_text="Why an action is not possible now, if so.")


class SectionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="orders, shipments, complaints")
    title = serializers.CharField()
    items = ItemSerializer(many=True)


class StatusSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    sections = SectionSerializer(many=True)


class SelfServiceContactSerializer(ContactDetailsSerializer):
    channel = channel_field()
    number = ServiceNumberField(help_text=gettext_lazy("The caller's service number; the customer is found from it."))


# --- Endpoints ---------------------------------------------------------------------------------

class CallerView(SelfServiceAPIView):
    @extend_schema(
        summary="Identify a caller by service number",
        parameters=[CallerQuerySerializer],
        responses={200: CallerSerializer, 400: ERROR, 404: OpenApiResponse(description="No customer has this number (error shape).")},
        tags=["self-service"],
    )
    def get(self, request):
        query = CallerQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subscription = (
            Subscription.objects.select_related("customer__area", "tariff_plan")
            .filter(service_number=query.validated_data["number"]).first()
        )
        if subscription is None:
            raise NotFound(_("No customer has this number."))
        customer, plan, area = subscription.customer, subscription.tariff_plan, subscription.customer.area
        return Response({
            "customer": customer.pk,
            "name": selfservice.mask_name(customer.name),
            "vip_tier": customer.vip_tier,
            "number": {
                "service_number": subscription.service_number, "status": subscription.status,
                "tariff_plan": {"code": plan.code, "name": plan.name, "monthly_fee": f"{plan.monthly_fee:.2f}"},
            },
            "area": {"code": area.code, "name": area.name} if area else None,
        })


class CallerStatusView(SelfServiceAPIView):
    @extend_schema(
        summary="A customer's open orders, shipments and complaints",
        description="The same sections the web self-service hall shows, newest first; include_closed adds the recent closed ones.",
        parameters=[StatusQuerySerializer],
        responses={200: StatusSerializer, 400: ERROR, 404: ERROR},
        tags=["self-service"],
    )
    def get(self, request, customer_id: int):
        query = StatusQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(_("No such customer."))
        open_only = not query.validated_data["include_closed"]
        sections = [
            {"key": section.key, "title": str(section.title), "items": [item.as_json() for item in items]}
            for section, items in selfservice.customer_status(customer, open_only=open_only)
        ]
        return Response({"customer": customer.pk, "sections": sections})


class ContactCreateView(SelfServiceAPIView):
    @extend_schema(
        summary="Record a self-service contact",
        description="What the caller did or asked in the IVR or the app hall, on the customer's timeline with that channel "
        "and no agent. A number that is no customer's is recorded by number alone.",
        request=SelfServiceContactSerializer,
        responses={201: ContactSerializer, 400: ERROR},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["self-service"],
    )
    def post(self, request):
        return idempotent("selfservice.contacts", request, lambda: self._create(request))

    def _create(self, request):
        data = SelfServiceContactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        contact = contact_record(agent=None, service_number=values.pop("number"), **values)
        return Response(ContactSerializer(contact, context={"request": request}).data, status=status.HTTP_201_CREATED)


def selfservice_urls():
    """The self-service API's routes: the core's and those the apps registered (read after ready())."""
    return [
        path("callers/", CallerView.as_view(), name="selfservice-api-callers"),
        path("callers/<int:customer_id>/status/", CallerStatusView.as_view(), name="selfservice-api-status"),
        path("contacts/", ContactCreateView.as_view(), name="selfservice-api-contacts"),
        *[path(route, view.as_view()) for route, view in selfservice.api_views()],
    ]

