"""REST endpoints of the core: customers, subscriptions, contacts, scripts."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from . import selectors, services
from .api.idempotency import idempotent
from .models import Contact, Customer, Script, Subscription
from .phones import normalize_service_number
from .serializers import ContactCreateSerializer, ContactSerializer, CustomerSerializer, ScriptSerializer, SubscriptionSerializer


def _service_number_param(request) -> str | None:
    raw = request.query_params.get("service_number")
    if raw is None or raw == "":
        return None
    try:
        return normalize_service_number(raw)
    except ValidationError as exc:
        raise ApiValidationError({"service_number": exc.messages}) from exc


def _positive_int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ApiValidationError({name: [_("A whole number is required.")]})
    return int(raw)


@extend_schema_view(
    list=extend_schema(
        summary="Find customers",
        parameters=[
            OpenApiParameter("service_number", OpenApiTypes.STR, description="Exact service number (11-digit mobile or fixed line)."),
            OpenApiParameter("id_number", OpenApiTypes.STR, description="Exact ID document number."),
            OpenApiParameter("name", OpenApiTypes.STR, description="Start of the customer's name."),
        ],
    ),
    retrieve=extend_schema(summary="Read one customer with subscriptions"),
)
class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CustomerSerializer
    queryset = Customer.objects.none()  # for permissions and the schema; get_queryset scopes by role

    def get_queryset(self):
        customers = selectors.customers_visible_to(self.request.user).select_related("area").prefetch_related(
            "subscriptions__tariff_plan"
        )
        number = _service_number_param(self.request)
        if number:
            customers = customers.filter(subscriptions__service_number=number)
        if id_number := self.request.query_params.get("id_number", "").strip()[:32]:
            customers = customers.filter(id_number=id_number.upper())
        if name := self.request.query_params.get("name", "").strip()[:100]:
            customers = customers.filter(name__startswith=name)
        return customers.order_by("id")


@extend_schema_view(
    list=extend_schema(
        summary="List subscriptions",
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.INT),
            OpenApiParameter("service_number", OpenApiTypes.STR),
            OpenApiParameter("status", OpenApiTypes.STR, enum=Subscription.Status.values),
        ],
    )
)
class SubscriptionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.none()

    def get_queryset(self):
        subscriptions = selectors.subscriptions_visible_to(self.request.user).select_related("tariff_plan")
        if (customer := _positive_int_param(self.request, "customer")) is not None:
            subscriptions = subscriptions.filter(customer_id=customer)
        if number := _service_number_param(self.request):
            subscriptions = subscriptions.filter(service_number=number)
        if state := self.request.query_params.get("status"):
            if state not in Subscription.Status.values:
                raise ApiValidationError({"status": [_("Unknown status.")]})
            subscriptions = subscriptions.filter(status=state)
        return subscriptions.order_by("service_number")


@extend_schema_view(
    list=extend_schema(
        summary="List a customer's contacts, newest first",
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.INT, required=True),
            OpenApiParameter("channel", OpenApiTypes.STR),
        ],
    ),
    create=extend_schema(
        summary="Record a contact",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="Retries with the same key return the first contact.")],
    ),
)
class ContactViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ContactSerializer
    queryset = Contact.objects.none()

    def get_queryset(self):
        contacts = selectors.contacts_visible_to(self.request.user).select_related("agent").prefetch_related("links")
        if self.action == "list":
            customer = _positive_int_param(self.request, "customer")
            number = _service_number_param(self.request)
            if customer is None and number is None:
                raise ApiValidationError({"customer": [_("Give the customer or the service number.")]})
            if customer is not None:
                contacts = contacts.filter(customer_id=customer)
            if number is not None:
                contacts = contacts.filter(service_number=number)
            if channel := self.request.query_params.get("channel"):
                contacts = contacts.filter(channel=channel)
        return contacts.order_by("-started_at", "-id")

    def create(self, request, *args, **kwargs):
        return idempotent("contacts.create", request, lambda: self._create(request))

    def _create(self, request):
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        customer = None
        if customer_id := values.pop("customer", None):
            customer = selectors.customers_visible_to(request.user).filter(pk=customer_id).first()
            if customer is None:
                raise NotFound(_("No such customer."))
        contact = services.contact_record(agent=request.user, customer=customer, **values)
        return Response(ContactSerializer(contact, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Search scripts and complaint templates",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Words that must all appear (Chinese included)."),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=Script.Kind.values),
            OpenApiParameter("category", OpenApiTypes.STR),
        ],
    )
)
class ScriptViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ScriptSerializer
    queryset = Script.objects.none()

    def get_queryset(self):
        kind = self.request.query_params.get("kind", "")
        if kind and kind not in Script.Kind.values:
            raise ApiValidationError({"kind": [_("Unknown kind.")]})
        return selectors.script_search(
            query=self.request.query_params.get("q", "")[:200],
            kind=kind,
            category=self.request.query_params.get("category", "")[:50],
        )
