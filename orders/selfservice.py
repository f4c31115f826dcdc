"""The orders app's part of the self-service halls (registered on import, from ``OrdersConfig.ready()``).

- The *orders* section: the customer's recent orders with their status.
- ``POST /api/v1/self-service/orders/``: a sale from the IVR or the app hall. The contact is
  recorded with the client's channel and the sale goes through ``services.sale_submit``, so it
  follows the product's routing like any other (direct: provisioned; back-office: the queue;
  deferred: a callback for the outbound team) and is linked to that contact.
"""
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from servicedesk import selfservice
from servicedesk.api.idempotency import idempotent
from servicedesk.apis_selfservice import (
    ERROR,
    IDEMPOTENCY_HEADER,
    SelfServiceAPIView,
    channel_field,
)
from servicedesk.masking import mask_address
from servicedesk.models import Outcome
from servicedesk.services import contact_record

from . import services
from .models import OPEN_ORDER_STATES, Flow, Order
from .serializers import DeferredSaleSerializer, OrderCreateSerializer, OrderSerializer

RECENT = 10


def _appointment(order: Order) -> str:
    if not order.appointment_date:
        return ""
    return f"{order.appointment_date:%Y-%m-%d} {order.get_appointment_slot_display()}".strip()


def order_item(order: Order) -> selfservice.Item:
    fields = [
        (_("Product"), order.product.name),
        (_("Submitted"), timezone.localtime(order.submitted_at).strftime("%Y-%m-%d %H:%M")),
        (_("Price"), _("%(amount)s CNY") % {"amount": f"{order.price:.2f}"}),
    ]
    if order.pool_number_id:
        fields.append((_("New number"), order.pool_number.number))
    if order.service_number:
        fields.append((_("Line"), order.service_number))
    if appointment := _appointment(order):
        fields.append((_("Delivery appointment"), appointment))
    if order.closing_reason:
        fields.append((_("Reason"), order.closing_reason))
    return selfservice.Item(
        kind="order", id=order.pk, title=_("Order #%(id)s %(product)s") % {"id": order.pk, "product": order.product.name},
        state=order.get_status_display(), state_code=order.status, open=order.status in OPEN_ORDER_STATES, at=order.submitted_at,
        fields=fields,
        data={
            "product": order.product.code, "product_name": order.product.name, "flow": order.flow, "channel": order.channel,
            "price": f"{order.price:.2f}", "submitted_at": order.submitted_at, "service_number": order.service_number,
            "new_number": order.pool_number.number if order.pool_number_id else "",
            "appointment_date": order.appointment_date, "appointment_slot": order.appointment_slot,
            # The customer's own address, masked all the same: a phone may be seen by others.
            "delivery_address": mask_address(order.delivery_address),
        },
    )


def _orders(customer):
    return Order.objects.filter(customer=customer).select_related("product", "pool_number").order_by("-submitted_at", "-id")


def orders_items(customer, open_only: bool) -> list[selfservice.Item]:
    orders = _orders(customer)
    if open_only:
        orders = orders.filter(status__in=OPEN_ORDER_STATES)
    return [order_item(o) for o in orders[:RECENT]]


def order_item_of(customer, order_id: int) -> selfservice.Item | None:
    order = _orders(customer).filter(pk=order_id).first()
    return order_item(order) if order else None


# --- The IVR and app hall API ------------------------------------------------------------------

class SelfServiceOrderSerializer(OrderCreateSerializer):
    """A sale, as for ``/api/v1/orders/``, from a self-service channel."""

    channel = channel_field()
    reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text=gettext_lazy("What the caller asked for, for the contact (default: the product's name)."),
    )


class SelfServiceOrderResponse(OrderSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True, help_text="The contact recorded for the sale.")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "contact"]
        read_only_fields = fields


class SelfServiceDeferredResponse(DeferredSaleSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True, help_text="The contact recorded for the sale.")

    class Meta(DeferredSaleSerializer.Meta):
        fields = [*DeferredSaleSerializer.Meta.fields, "contact"]
        read_only_fields = fields


@transaction.atomic
def selfservice_sale(*, client, channel: str, customer, product, reason: str = "", **order_fields) -> services.Sale:
    """The contact with the channel, and the sale routed by its product, linked to it: one transaction."""
    deferred = product.category.flow == Flow.DEFERRED
    with translation.override(settings.LANGUAGE_CODE):
        reason = (reason or "").strip() or _("Order: %(product)s") % {"product": product.name}
    contact = contact_record(
        agent=None, channel=channel, customer=customer, service_number=order_fields.get("service_number", ""),
        reason=reason, business=product.name[:100], outcome=Outcome.OPPORTUNITY if deferred else Outcome.ORDER_OPENED,
    )
    return services.sale_submit(agent=client, customer=customer, product=product, channel=channel, contact=contact, **order_fields)


class SelfServiceOrderView(SelfServiceAPIView):
    @extend_schema(
        summary="Submit a sale from the IVR or the app hall",
        description=(
            "As POST /api/v1/orders/, with the client's channel (ivr or app_hall), which the order keeps. A contact "
            "with that channel is recorded and linked. The product's category routes the sale: direct and "
            "back-office products answer 201 with the order; a deferred product becomes a callback for the outbound "
            "team, answered with 202 and the opportunity (callback_at required)."
        ),
        request=SelfServiceOrderSerializer,
        responses={
            201: SelfServiceOrderResponse,
            202: OpenApiResponse(SelfServiceDeferredResponse, description="A deferred product: a callback was scheduled instead of an order."),
            400: ERROR, 409: ERROR, 422: OpenApiResponse(description="The Idempotency-Key was used with a different body."),
        },
        parameters=[IDEMPOTENCY_HEADER],
        tags=["self-service"],
    )
    def post(self, request):
        return idempotent("selfservice.orders", request, lambda: self._create(request))

    def _create(self, request):
        data = SelfServiceOrderSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        sale = selfservice_sale(client=request.user, **data.validated_data)
        context = {"request": request}
        if sale.opportunity is not None:
            return Response(SelfServiceDeferredResponse(sale.opportunity, context=context).data, status=status.HTTP_202_ACCEPTED)
        return Response(SelfServiceOrderResponse(sale.order, context=context).data, status=status.HTTP_201_CREATED)


def register() -> None:
    selfservice.register_section(selfservice.Section(
        key="orders", title=gettext_lazy("Orders"), items=orders_items, item=order_item_of,
        empty_text=gettext_lazy("No orders yet."), order=10,
    ))
    selfservice.register_api_view("orders/", SelfServiceOrderView)


register()
