"""REST endpoints of the orders app for external clients: ``/api/v1/orders/``.

- ``POST /orders/`` submits a sale through ``services.sale_submit`` (``Idempotency-Key``
  supported: a retry returns the first answer and creates nothing). The product's
  category routes it: direct and back-office products answer **201 with the order**;
  a *deferred* product is not ordered at all but becomes a callback for the outbound
  team, answered with **202 Accepted and the opportunity** (``callback_at`` is then
  required). 201 always carries an order, so a client never has to guess the body.
- ``GET /orders/`` (filters: status, flow, customer, product code, service number,
  submitted range) and ``GET /orders/{id}/``: area managers see only their areas'
  customers' orders; the delivery address is masked for roles that do not need it.
- ``POST /orders/{id}/cancel/`` with a reason: 409 naming the allowed next states when
  the order can no longer be cancelled; needs ``orders.cancel_order``.
- ``GET /orders/{id}/history/``: the recorded transitions, oldest first.
- The back-office queue (``orders.accept_order``): ``GET /orders/queue/`` lists submitted
  back-office orders in queue order (breached first, then VIP, then oldest; filters
  ``vip_tier``, ``category``, ``breached``); ``POST /orders/claim-next/`` claims the most
  urgent unclaimed one for the caller (204 when the queue is empty; never the same order
  to two clerks); ``POST /orders/{id}/accept/`` and ``POST /orders/{id}/reject/`` (with a
  reason) answer 409 when the order is not in a state for it or another clerk holds it.
"""
import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from servicedesk.api.idempotency import idempotent
from servicedesk.api.permissions import RoleModelPermissions
from servicedesk.phones import normalize_service_number

from . import selectors, services
from .models import Flow, Order, OrderStatus
from .serializers import (
    DeferredSaleSerializer, OrderCancelSerializer, OrderCreateSerializer, OrderSerializer, OrderTransitionSerializer,
    QueueFilterSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Retries with the same key return the first answer and create nothing new; "
    "the same key with a different body is refused with 422.",
)


class OrderPermissions(RoleModelPermissions):
    """Model permissions by role; cancelling needs ``orders.cancel_order`` and the queue's
    actions ``orders.accept_order`` rather than ``add_order``."""

    ACTION_PERMISSIONS = {
        "cancel": "orders.cancel_order",
        "queue": "orders.accept_order", "claim_next": "orders.accept_order",
        "accept": "orders.accept_order", "reject": "orders.accept_order",
    }

    def has_permission(self, request, view):
        needed = self.ACTION_PERMISSIONS.get(getattr(view, "action", None))
        if needed:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm("orders.view_order") and user.has_perm(needed))
        return super().has_permission(request, view)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class OrderFilter(django_filters.FilterSet):
    """Filters on indexed columns (``Order.Meta.indexes``).

    status (with flow and the submitted range) uses ``order_status_flow_idx``; customer
    ``order_customer_idx``; product its foreign-key index; a service number the indexed
    subscription and pool numbers (``selectors.orders_with_service_number``). Flow alone
    or a submitted range alone have no index of their own: they narrow the walk of the
    primary key in the list's order (an index on ``submitted_at`` is proposed).
    """

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    flow = django_filters.ChoiceFilter(choices=Flow.choices)
    customer = IdFilter(field_name="customer_id", min_value=1, max_value=2**63 - 1, help_text="Customer id.")
    product = django_filters.CharFilter(field_name="product__code", max_length=40, help_text="Product code.")
    service_number = django_filters.CharFilter(
        method="filter_service_number", max_length=20,
        help_text="The line the order changes, or the new number it reserved or sold.",
    )
    submitted_after = django_filters.IsoDateTimeFilter(
        field_name="submitted_at", lookup_expr="gte", help_text="ISO date or date-time (Asia/Shanghai when no offset), inclusive."
    )
    submitted_before = django_filters.IsoDateTimeFilter(
        field_name="submitted_at", lookup_expr="lt", help_text="ISO date or date-time, exclusive."
    )

    class Meta:
        model = Order
        fields = ["status", "flow", "customer", "product", "service_number", "submitted_after", "submitted_before"]

    def filter_service_number(self, orders, name, value):
        try:
            number = normalize_service_number(value)
        except DjangoValidationError as exc:
            raise ApiValidationError({"service_number": exc.messages}) from exc
        return selectors.orders_with_service_number(orders, number)


@extend_schema_view(
    list=extend_schema(summary="List orders, newest first"),
    retrieve=extend_schema(summary="Read one order"),
    create=extend_schema(
        summary="Submit a sale",
        description=(
            "Routes by the product's category. Direct and back-office products: 201 with the order. "
            "A deferred product becomes a callback for the outbound team: 202 with the opportunity "
            "(callback_at required); no order exists until the callback converts it."
        ),
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            202: OpenApiResponse(DeferredSaleSerializer, description="A deferred product: a callback was scheduled instead of an order."),
            400: OpenApiResponse(description="Invalid fields, named in detail."),
            403: OpenApiResponse(description="The role may not sell."),
            422: OpenApiResponse(description="The Idempotency-Key was used with a different body."),
        },
        parameters=[IDEMPOTENCY_HEADER],
    ),
)
class OrderViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OrderSerializer
    queryset = Order.objects.none()  # for permissions and the schema; get_queryset scopes by role
    permission_classes = [OrderPermissions]
    filterset_class = OrderFilter

    def get_queryset(self):
        return selectors.orders_for_api(user=self.request.user)

    def create(self, request, *args, **kwargs):
        return idempotent("orders.create", request, lambda: self._create(request))

    def _create(self, request):
        data = OrderCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        sale = services.sale_submit(agent=request.user, **data.validated_data)
        if sale.opportunity is not None:
            return Response(DeferredSaleSerializer(sale.opportunity, context=self.get_serializer_context()).data, status=status.HTTP_202_ACCEPTED)
        body = self.get_serializer(sale.order).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": f"{request.path}{sale.order.pk}/"})

    @extend_schema(
        summary="Cancel an order",
        request=OrderCancelSerializer,
        responses={
            200: OrderSerializer,
            400: OpenApiResponse(description="The reason is missing."),
            403: OpenApiResponse(description="The role may not cancel orders."),
            404: OpenApiResponse(description="No such order, or not visible to the caller."),
            409: OpenApiResponse(description="Not cancellable in its state; detail.allowed names the allowed next states."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        order = self.get_object()
        data = OrderCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_cancel(order_id=order.pk, by=request.user, reason=data.validated_data["reason"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="The back-office queue: submitted back-office orders, most urgent first",
        parameters=[
            OpenApiParameter("vip_tier", OpenApiTypes.STR, description="diamond, gold, silver or ordinary"),
            OpenApiParameter("category", OpenApiTypes.STR, description="A product category code."),
            OpenApiParameter("breached", OpenApiTypes.BOOL, description="Only orders past their acceptance time limit."),
        ],
        responses=OrderSerializer(many=True),
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def queue(self, request):
        serializer = QueueFilterSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        orders = selectors.back_office_queue(**serializer.validated_data).filter(pk__in=self.get_queryset().values("pk"))
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Claim the most urgent unclaimed order of the queue",
        description="The claim lasts ORDER_CLAIM_MINUTES; asking again returns the order already claimed.",
        request=None,
        responses={200: OrderSerializer, 204: OpenApiResponse(description="The queue is empty.")},
    )
    @action(detail=False, methods=["post"], url_path="claim-next", filter_backends=[])
    def claim_next(self, request):
        order = services.order_claim_next(clerk=request.user)
        if order is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(order).data)

    @extend_schema(
        summary="Accept a back-office order (identity and stock are checked, the item reserved)",
        request=None,
        responses={200: OrderSerializer, 400: OpenApiResponse(description="A check failed (identity, stock), named in detail."),
                   409: OpenApiResponse(description="Not in a state to accept, or another clerk holds it.")},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        order = self.get_object()
        services.order_accept(order_id=order.pk, clerk=request.user)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Reject a back-office order with a reason (its number goes back to the pool)",
        request=OrderCancelSerializer,
        responses={200: OrderSerializer, 400: OpenApiResponse(description="The reason is missing."),
                   409: OpenApiResponse(description="Not in a state to reject, or another clerk holds it.")},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        order = self.get_object()
        data = OrderCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_reject(order_id=order.pk, clerk=request.user, reason=data.validated_data["reason"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="The order's history: every transition, oldest first", responses=OrderTransitionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=OrderTransitionSerializer)
    def history(self, request, pk=None):
        order = self.get_object()
        page = self.paginate_queryset(selectors.order_history(order=order))
        return self.get_paginated_response(OrderTransitionSerializer(page, many=True).data)

