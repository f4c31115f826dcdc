"""TM Forum TMF622 Product Ordering Management API v4.0.0 over our orders.

Base path ``/tmf-api/productOrderingManagement/v4/`` (the specification's ``basePath``);
authentication and role permissions are those of the rest of the API (DRF token or
session; reading needs ``orders.view_order``, creating ``orders.add_order``, cancelling
``orders.cancel_order``; area managers see only their areas' customers' orders).

=========  =====================================  ==========================  ==========================
method     path                                   operationId                 answer
=========  =====================================  ==========================  ==========================
GET        ``productOrder``                       listProductOrder            200 + X-Total-Count / X-Result-Count
POST       ``productOrder``                       createProductOrder          201 ProductOrder
GET        ``productOrder/{id}``                  retrieveProductOrder        200 ProductOrder
GET        ``cancelProductOrder``                 listCancelProductOrder      200 + the two headers
POST       ``cancelProductOrder``                 createCancelProductOrder    201 CancelProductOrder
GET        ``cancelProductOrder/{id}``            retrieveCancelProductOrder  200 CancelProductOrder
=========  =====================================  ==========================  ==========================

PATCH and DELETE of a product order are not offered (405): an order changes only
through its own transitions. Lists take ``fields`` (first-level attribute selection;
``id``, ``href`` and ``@type`` always come), ``offset`` (default 0), ``limit``
(default 25, at most 200) and these attribute filters (several values of ``state``
comma-separated), every one answered from an indexed column:

- productOrder: ``state``, ``externalId``, ``category`` (our flow), ``relatedParty.id``
  (customer id), ``productOrderItem.productOffering.id`` (product code),
  ``orderDate.gt`` / ``.gte`` / ``.lt`` / ``.lte`` (ISO date or date-time);
- cancelProductOrder: ``state`` (always ``done``), ``productOrder.id``.

An unknown attribute in ``fields`` or an unknown filter is a 400, not silently ignored.
Every error has the TMF ``Error`` body: ``code`` (our machine code, e.g. ``invalid``,
``not_found``, ``transition_not_allowed``), ``reason`` (a translated sentence),
``message`` (the fields at fault with their JSON paths, or the allowed next states),
``status`` (the HTTP status as a string), ``referenceError`` (the API documentation)
and ``@type: Error``.

State mapping (``ProductOrderStateType``; the order item carries the same state):

====================  ======================  ==============================================
our OrderStatus       TMF state               why
====================  ======================  ==============================================
submitted             acknowledged            received and validated, not yet accepted by
                                              back-office nor confirmed by billing
accepted              inProgress              back-office accepted it; stock and number held
handed_to_delivery    inProgress              out for delivery
delivered             inProgress              delivered, activation in billing pending
activated             inProgress              active; for an urgent activation the item is
                                              still being delivered (a normal activation
                                              completes in the same transaction)
provisioned           inProgress              billing confirmed a direct order; it completes
                                              in the same transaction
completed             completed               done
failed                failed                  billing refused a direct order
rejected              rejected                back-office refused it (e.g. identity)
cancelled             cancelled               cancelled (by the customer, an agent or here)
====================  ======================  ==============================================

Never produced: ``pending`` and ``held`` (we never wait on the customer nor park an
order), ``partial`` (one item per order), ``assessingCancellation`` and
``pendingCancellation`` (cancellation is immediate: it is done or refused with 409).

Creating (``ProductOrder_Create`` → ``services.order_submit``):

- ``productOrderItem``: exactly one item (one product per order), ``action: add`` (the
  only action), ``quantity`` 1 when given; ``productOffering.id`` is our product code;
  ``product.productCharacteristic`` carries ``serviceNumber`` (the existing line a
  direct product changes), ``poolNumber`` (the new number to reserve),
  ``deliveryAddress``, ``appointmentDate`` (YYYY-MM-DD) and ``appointmentSlot``
  (morning, afternoon, evening). The item comes back with ``id`` ``"1"``.
- ``relatedParty``: exactly one party with ``role: Customer`` whose ``id`` is our customer id.
- ``externalId``: the client's own reference, unique per client (a second order with
  the same one is a 409 naming the first); it is returned to, and filterable by, the
  client that gave it.
- ``note[].text`` become the order's notes; ``channel[0].id`` one of our channels
  (default ``web_hall``). Other attributes of the specification are accepted and ignored.
- A product of a *deferred* category (sold through a callback) is a 400: TMF622 has
  no callback; use ``POST /api/v1/orders/`` with ``callback_at``.
- ``Idempotency-Key`` is honoured as on ``/api/v1/``.

``externalId`` is ``Order.external_id``, unique per submitting client by a partial
unique constraint, which also serves the lookup.

The cancelProductOrder resource is the record of a cancellation in the order's
transition log: its ``id`` is that record's id, its ``state`` is ``done``. A refused
cancellation is a 409 and leaves no record. ``requestedCancellationDate`` in the
future is a 400 (cancellation is immediate).
"""
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from servicedesk.api import tmf
from servicedesk.api.idempotency import idempotent
from servicedesk.api.permissions import RoleModelPermissions
from servicedesk.masking import mask_address
from servicedesk.models import Channel
from servicedesk.phones import normalize_service_number
from servicedesk.selectors import customers_visible_to

from . import selectors, services
from .models import Flow, Order, OrderStatus, Product

TMF_STATE = {
    OrderStatus.SUBMITTED: "acknowledged",
    OrderStatus.ACCEPTED: "inProgress",
    OrderStatus.HANDED_TO_DELIVERY: "inProgress",
    OrderStatus.DELIVERED: "inProgress",
    OrderStatus.ACTIVATED: "inProgress",
    OrderStatus.PROVISIONED: "inProgress",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.FAILED: "failed",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.CANCELLED: "cancelled",
}
TMF_STATES = (
    "acknowledged", "rejected", "pending", "held", "inProgress", "cancelled", "completed", "failed", "partial",
    "assessingCancellation", "pendingCancellation",
)
STATUSES_BY_TMF_STATE = {state: [s for s, mapped in TMF_STATE.items() if mapped == state] for state in TMF_STATES}

# productCharacteristic name -> keyword of services.order_submit
CHARACTERISTICS = {
    "serviceNumber": "service_number",
    "poolNumber": "pool_number",
    "deliveryAddress": "delivery_address",
    "appointmentDate": "appointment_date",
    "appointmentSlot": "appointment_slot",
}
# Field names in the services' errors -> the JSON path the client sent.
FIELD_PATHS = {
    "customer": "relatedParty",
    "product": "productOrderItem.productOffering.id",
    **{keyword: f"productOrderItem.product.productCharacteristic.{name}" for name, keyword in CHARACTERISTICS.items()},
    "notes": "note",
    "channel": "channel",
    "reason": "cancellationReason",
}
PRODUCT_ORDER_ATTRIBUTES = frozenset({
    "id", "href", "cancellationDate", "cancellationReason", "category", "completionDate", "description",
    "expectedCompletionDate", "externalId", "notificationContact", "orderDate", "priority", "requestedCompletionDate",
    "requestedStartDate", "agreement", "billingAccount", "channel", "note", "orderTotalPrice", "payment",
    "productOfferingQualification", "productOrderItem", "quote", "relatedParty", "state", "@baseType",
    "@schemaLocation", "@type",
})
CANCEL_PRODUCT_ORDER_ATTRIBUTES = frozenset({
    "id", "href", "cancellationReason", "effectiveCancellationDate", "requestedCancellationDate", "productOrder",
    "state", "@baseType", "@schemaLocation", "@type",
})
CURRENCY = "CNY"


# --- Errors --------------------------------------------------------------------------

TMF_ERRORS = tmf.TmfErrors(
    field_paths=FIELD_PATHS, state_names=TMF_STATE,
    conflict=gettext_lazy("The product order is %(state)s; allowed next states: %(allowed)s."),
)


# --- Rendering --------------------------------------------------------------------------




def _characteristic(name: str, value) -> dict:
    return {"name": name, "valueType": "string", "value": value}


def product_order_body(order: Order, *, request) -> dict:
    """One order as a TMF622 ``ProductOrder``; personal data masked as on /api/v1/."""
    state = TMF_STATE[order.status]
    address = order.delivery_address
    if address and not request.user.has_perm("servicedesk.view_full_address"):
        address = mask_address(address)
    characteristics = [
        _characteristic(name, value)
        for name, value in (
            ("serviceNumber", order.service_number),
            ("poolNumber", order.pool_number.number if order.pool_number_id else ""),
            ("deliveryAddress", address),
            ("appointmentDate", order.appointment_date.isoformat() if order.appointment_date else ""),
            ("appointmentSlot", order.appointment_slot),
        )
        if value
    ]
    notes = [{"text": order.notes, "@type": "Note"}] if order.notes else []
    if order.status in (OrderStatus.FAILED, OrderStatus.REJECTED) and order.closing_reason:
        notes.append({"id": "closingReason", "text": order.closing_reason, "date": tmf.dt(order.closed_at), "@type": "Note"})
    cancelled = order.status == OrderStatus.CANCELLED
    return tmf.compact({
        "id": str(order.pk),
        "href": tmf.url(request, "tmf622-product-order-detail", order.pk),
        # The reference is the submitting client's: shown to them only.
        "externalId": order.external_id if order.external_id and order.created_by_id == request.user.pk else None,
        "category": order.flow,
        "state": state,
        "orderDate": tmf.dt(order.submitted_at),
        "completionDate": tmf.dt(order.closed_at) if order.status == OrderStatus.COMPLETED else None,
        "cancellationDate": tmf.dt(order.closed_at) if cancelled else None,
        "cancellationReason": order.closing_reason if cancelled else None,
        "channel": [{"id": order.channel, "name": str(order.get_channel_display()), "@type": "RelatedChannel"}],
        "note": notes,
        "orderTotalPrice": [{
            "name": _("Order total"),
            "priceType": "oneTime",
            # The specification's Money.value is a JSON number; the amount has two decimals.
            "price": {"taxIncludedAmount": {"unit": CURRENCY, "value": float(order.price)}, "@type": "Price"},
            "@type": "OrderPrice",
        }],
        "relatedParty": [tmf.compact({
            "id": str(order.customer_id),
            "href": tmf.url(request, "customer-detail", order.customer_id),
            "name": order.customer.name,
            "role": "Customer",
            "@referredType": "Individual",
        })],
        "productOrderItem": [{
            "id": "1",
            "quantity": 1,
            "action": "add",
            "state": state,
            "productOffering": {"id": order.product.code, "name": order.product.name, "@referredType": "ProductOffering"},
            "product": tmf.compact({
                "name": order.product.name,
                "isBundle": False,
                "productCharacteristic": characteristics,
                "@type": "Product",
            }),
            "@type": "ProductOrderItem",
        }],
        "@type": "ProductOrder",
    })


def cancel_product_order_body(record, *, request) -> dict:
    return tmf.compact({
        "id": str(record.pk),
        "href": tmf.url(request, "tmf622-cancel-product-order-detail", record.pk),
        "state": "done",
        "cancellationReason": record.reason,
        "effectiveCancellationDate": tmf.dt(record.at),
        "productOrder": {
            "id": str(record.order_id),
            "href": tmf.url(request, "tmf622-product-order-detail", record.order_id),
            "@referredType": "ProductOrder",
        },
        "@type": "CancelProductOrder",
    })


# --- Parsing ----------------------------------------------------------------------------

@extend_schema_serializer(component_name="ProductOrderCharacteristic")
class CharacteristicSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50, help_text=", ".join(CHARACTERISTICS))
    valueType = serializers.CharField(required=False, max_length=30)
    value = serializers.JSONField(help_text="A string; appointmentDate as YYYY-MM-DD.")


@extend_schema_serializer(component_name="ProductOrderProductRefOrValue")
class ProductRefOrValueSerializer(serializers.Serializer):
    productCharacteristic = CharacteristicSerializer(many=True, required=False)


@extend_schema_serializer(component_name="ProductOrderProductOfferingRef")
class ProductOfferingRefSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=40, help_text="Our product code.")
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="ProductOrderItemCreate")
class ProductOrderItemSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=50)
    action = serializers.CharField(max_length=20, help_text="add (the only action offered)")
    quantity = serializers.IntegerField(required=False, min_value=1, max_value=1)
    productOffering = ProductOfferingRefSerializer()
    product = ProductRefOrValueSerializer(required=False)


@extend_schema_serializer(component_name="ProductOrderRelatedParty")
class RelatedPartySerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20, help_text="Our customer id for role Customer.")
    role = serializers.CharField(required=False, allow_blank=True, max_length=50)
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="ProductOrderNote")
class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


@extend_schema_serializer(component_name="ProductOrderRelatedChannel")
class RelatedChannelSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20, help_text=", ".join(Channel.values))
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="ProductOrder_Create")
class ProductOrderCreateSerializer(serializers.Serializer):
    externalId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)
    note = NoteSerializer(many=True, required=False)
    channel = RelatedChannelSerializer(many=True, required=False)
    relatedParty = RelatedPartySerializer(many=True)
    productOrderItem = ProductOrderItemSerializer(many=True, allow_empty=False)

    def validate(self, attrs):
        """Resolve the customer, the offering and the characteristics into ``order_submit``'s keywords."""
        user = self.context["request"].user
        errors: dict[str, list[str]] = {}
        submission: dict = {}

        customers = [(i, p) for i, p in enumerate(attrs["relatedParty"]) if (p.get("role") or "").lower() == "customer"]
        if len(customers) != 1:
            errors["relatedParty"] = [_("Name exactly one related party with role “Customer”, whose id is the customer's id.")]
        else:
            index, party = customers[0]
            customer = customers_visible_to(user).filter(pk=int(party["id"])).first() if party["id"].isdigit() else None
            if customer is None:
                errors[f"relatedParty[{index}].id"] = [_("No such customer.")]
            submission["customer"] = customer

        items = attrs["productOrderItem"]
        if len(items) != 1:
            errors["productOrderItem"] = [_("Exactly one item per product order: order each product separately.")]
        else:
            item = items[0]
            if item["action"] != "add":
                errors["productOrderItem[0].action"] = [_("Only “add” is offered: changes and terminations go through the hotline.")]
            product = Product.objects.select_related("category").filter(code=item["productOffering"]["id"]).first()
            if product is None:
                errors["productOrderItem[0].productOffering.id"] = [_("No such product offering.")]
            elif product.category.flow == Flow.DEFERRED:
                errors["productOrderItem[0].productOffering.id"] = [
                    _("This offering is sold through a callback, which TMF622 cannot express: use POST /api/v1/orders/ with callback_at.")
                ]
            submission["product"] = product
            characteristics = (item.get("product") or {}).get("productCharacteristic") or []
            for index, characteristic in enumerate(characteristics):
                path = f"productOrderItem[0].product.productCharacteristic[{index}]"
                keyword = CHARACTERISTICS.get(characteristic["name"])
                value = characteristic["value"]
                if keyword is None:
                    errors[f"{path}.name"] = [_("Unknown characteristic; use one of %(names)s.") % {"names": ", ".join(CHARACTERISTICS)}]
                elif keyword in submission:
                    errors[f"{path}.name"] = [_("Given twice.")]
                elif not isinstance(value, str):
                    errors[f"{path}.value"] = [_("A string is required.")]
                else:
                    submission[keyword], error = _characteristic_value(keyword, value)
                    if error:
                        errors[f"{path}.value"] = [error]

        channels = attrs.get("channel") or []
        if channels:
            if channels[0]["id"] not in Channel.values:
                errors["channel[0].id"] = [_("Unknown channel; use one of %(names)s.") % {"names": ", ".join(Channel.values)}]
            submission["channel"] = channels[0]["id"]
        submission["notes"] = "\n".join(n["text"].strip() for n in attrs.get("note") or [] if n["text"].strip())
        if len(submission["notes"]) > 2000:
            errors["note"] = [_("The notes may have at most 2000 characters in all.")]
        if errors:
            raise serializers.ValidationError(errors)
        submission.setdefault("channel", Channel.WEB_HALL)
        return {"submission": submission, "external_id": (attrs.get("externalId") or "").strip()}


def _characteristic_value(keyword: str, value: str):
    """(parsed value, error message or None)."""
    value = value.strip()
    if keyword in ("service_number", "pool_number"):
        try:
            return normalize_service_number(value), None
        except DjangoValidationError as exc:
            return value, exc.messages[0]
    if keyword == "appointment_date":
        try:
            parsed = parse_date(value) if len(value) == 10 else None
        except ValueError:  # well formed but no such day
            parsed = None
        return parsed, None if parsed else _("Give the date as YYYY-MM-DD.")
    if keyword == "appointment_slot" and value not in Order.Slot.values:
        return value, _("Use one of %(names)s.") % {"names": ", ".join(Order.Slot.values)}
    if keyword == "delivery_address" and len(value) > 255:
        return value, _("At most 255 characters.")
    return value, None


@extend_schema_serializer(component_name="ProductOrderRef")
class ProductOrderRefSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20)


@extend_schema_serializer(component_name="CancelProductOrder_Create")
class CancelProductOrderCreateSerializer(serializers.Serializer):
    productOrder = ProductOrderRefSerializer()
    cancellationReason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    requestedCancellationDate = serializers.DateTimeField(required=False)

    def validate_requestedCancellationDate(self, value):
        if value > timezone.now() + timedelta(minutes=1):
            raise serializers.ValidationError(_("Cancellation is immediate: leave requestedCancellationDate out or give the present time."))
        return value


# --- Query parameters ---------------------------------------------------------------------






def _states(raw: str) -> list[str]:
    states = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in states if s not in TMF_STATES]
    if unknown:
        raise ApiValidationError({"state": [_("Unknown state; use %(names)s.") % {"names": ", ".join(TMF_STATES)}]})
    return states


ORDER_FILTERS = {
    "state", "externalId", "category", "relatedParty.id", "productOrderItem.productOffering.id",
    "orderDate.gt", "orderDate.gte", "orderDate.lt", "orderDate.lte",
}
DATE_LOOKUPS = {"orderDate.gt": "gt", "orderDate.gte": "gte", "orderDate.lt": "lt", "orderDate.lte": "lte"}


def _filtered_orders(request):
    tmf.check_filters(request, ORDER_FILTERS)
    params = request.query_params
    orders = selectors.orders_for_api(user=request.user)
    if "state" in params:
        orders = orders.filter(status__in=[s for state in _states(params["state"]) for s in STATUSES_BY_TMF_STATE[state]])
    if "externalId" in params:
        orders = orders.filter(created_by=request.user, external_id=params["externalId"].strip()[:100])
    if "category" in params:
        if params["category"] not in Flow.values:
            raise ApiValidationError({"category": [_("Use one of %(names)s.") % {"names": ", ".join(Flow.values)}]})
        orders = orders.filter(flow=params["category"])
    if "relatedParty.id" in params:
        if not params["relatedParty.id"].isdigit() or len(params["relatedParty.id"]) > 18:
            raise ApiValidationError({"relatedParty.id": [_("A customer id (a whole number) is required.")]})
        orders = orders.filter(customer_id=int(params["relatedParty.id"]))
    if "productOrderItem.productOffering.id" in params:
        orders = orders.filter(product__code=params["productOrderItem.productOffering.id"][:40])
    for name, lookup in DATE_LOOKUPS.items():
        if name in params:
            orders = orders.filter(**{f"submitted_at__{lookup}": tmf.moment(name, params[name])})
    return orders


def _visible_order(request, raw_id: str) -> Order:
    order = selectors.orders_for_api(user=request.user).filter(pk=int(raw_id)).first() if raw_id.isdigit() and len(raw_id) < 19 else None
    if order is None:
        raise NotFound(_("No such product order."))
    return order



# --- Views ------------------------------------------------------------------------------

_MONEY = inline_serializer("TMFMoney", fields={"unit": serializers.CharField(), "value": serializers.FloatField()})
PRODUCT_ORDER = inline_serializer("ProductOrder", fields={
    "id": serializers.CharField(),
    "href": serializers.URLField(),
    "externalId": serializers.CharField(required=False, help_text="Only to the client that gave it."),
    "category": serializers.CharField(help_text="Our fulfilment flow: direct, back_office."),
    "state": serializers.CharField(help_text=", ".join(TMF_STATES)),
    "orderDate": serializers.DateTimeField(),
    "completionDate": serializers.DateTimeField(required=False),
    "cancellationDate": serializers.DateTimeField(required=False),
    "cancellationReason": serializers.CharField(required=False),
    "channel": inline_serializer("ProductOrderChannel", fields={
        "id": serializers.CharField(), "name": serializers.CharField(), "@type": serializers.CharField(),
    }, many=True),
    "note": inline_serializer("ProductOrderNoteOut", fields={
        "id": serializers.CharField(required=False), "text": serializers.CharField(),
        "date": serializers.DateTimeField(required=False), "@type": serializers.CharField(),
    }, many=True, required=False),
    "orderTotalPrice": inline_serializer("ProductOrderPrice", fields={
        "name": serializers.CharField(), "priceType": serializers.CharField(),
        "price": inline_serializer("ProductOrderPriceAmount", fields={"taxIncludedAmount": _MONEY, "@type": serializers.CharField()}),
        "@type": serializers.CharField(),
    }, many=True),
    "relatedParty": inline_serializer("ProductOrderRelatedPartyOut", fields={
        "id": serializers.CharField(), "href": serializers.URLField(required=False), "name": serializers.CharField(),
        "role": serializers.CharField(), "@referredType": serializers.CharField(),
    }, many=True),
    "productOrderItem": inline_serializer("ProductOrderItem", fields={
        "id": serializers.CharField(), "quantity": serializers.IntegerField(), "action": serializers.CharField(),
        "state": serializers.CharField(),
        "productOffering": inline_serializer("ProductOrderProductOfferingRefOut", fields={
            "id": serializers.CharField(), "name": serializers.CharField(), "@referredType": serializers.CharField(),
        }),
        "product": inline_serializer("ProductOrderProduct", fields={
            "name": serializers.CharField(), "isBundle": serializers.BooleanField(),
            "productCharacteristic": inline_serializer("ProductOrderCharacteristicOut", fields={
                "name": serializers.CharField(), "valueType": serializers.CharField(), "value": serializers.CharField(),
            }, many=True, required=False),
            "@type": serializers.CharField(),
        }),
        "@type": serializers.CharField(),
    }, many=True),
    "@type": serializers.CharField(help_text="ProductOrder"),
})
CANCEL_PRODUCT_ORDER = inline_serializer("CancelProductOrder", fields={
    "id": serializers.CharField(),
    "href": serializers.URLField(),
    "state": serializers.CharField(help_text="done"),
    "cancellationReason": serializers.CharField(),
    "effectiveCancellationDate": serializers.DateTimeField(),
    "productOrder": inline_serializer("ProductOrderRefOut", fields={
        "id": serializers.CharField(), "href": serializers.URLField(), "@referredType": serializers.CharField(),
    }),
    "@type": serializers.CharField(help_text="CancelProductOrder"),
})
ERRORS = {code: tmf.TMF_ERROR for code in (400, 401, 403, 404, 409)}


class CancelOrderPermissions(RoleModelPermissions):
    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.cancel_%(model_name)s"]}


class OrderTmfView(tmf.TmfView):
    errors = TMF_ERRORS
    queryset = Order.objects.none()  # names the model whose permissions apply

class ProductOrderList(OrderTmfView):
    """Product orders, one item each; states mapped from ours as tabled in the module docstring of orders/tmf622.py."""
    @extend_schema(
        operation_id="listProductOrder", summary="List or find ProductOrder objects", tags=["TMF622 productOrder"],
        parameters=[
            *tmf.WINDOW_PARAMETERS,
            OpenApiParameter("state", OpenApiTypes.STR, description="One or more of: " + ", ".join(TMF_STATES) + " (comma-separated)."),
            OpenApiParameter("externalId", OpenApiTypes.STR, description="The caller's own reference given at creation."),
            OpenApiParameter("category", OpenApiTypes.STR, description="Our flow: direct, back_office."),
            OpenApiParameter("relatedParty.id", OpenApiTypes.STR, description="Customer id."),
            OpenApiParameter("productOrderItem.productOffering.id", OpenApiTypes.STR, description="Product code."),
            *[OpenApiParameter(name, OpenApiTypes.STR, description="ISO date or date-time on orderDate.") for name in DATE_LOOKUPS],
        ],
        responses={200: PRODUCT_ORDER.__class__(many=True), **ERRORS},
    )
    def get(self, request):
        fields = tmf.fields(request, PRODUCT_ORDER_ATTRIBUTES)
        offset, limit = tmf.window(request)
        orders = _filtered_orders(request)
        total = orders.count()
        page = list(orders[offset : offset + limit]) if limit else []
        return tmf.list_response([tmf.select(product_order_body(o, request=request), fields) for o in page], total)

    @extend_schema(
        operation_id="createProductOrder", summary="Creates a ProductOrder", tags=["TMF622 productOrder"],
        request=ProductOrderCreateSerializer, parameters=[tmf.IDEMPOTENCY_PARAMETER], responses={201: PRODUCT_ORDER, **ERRORS, 422: tmf.TMF_ERROR},
    )
    def post(self, request):
        return TMF_ERRORS.as_tmf(idempotent("tmf622.productOrder.create", request, lambda: self._create(request)), request)

    def _create(self, request):
        data = ProductOrderCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        submission, external_id = data.validated_data["submission"], data.validated_data["external_id"]
        order = services.order_submit(agent=request.user, external_id=external_id, **submission)
        body = product_order_body(order, request=request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["href"]})


class ProductOrderDetail(OrderTmfView):
    """One product order; attribute selection with ``fields``."""
    @extend_schema(
        operation_id="retrieveProductOrder", summary="Retrieves a ProductOrder by ID", tags=["TMF622 productOrder"],
        parameters=[tmf.ID_PARAMETER, tmf.FIELDS_PARAMETER], responses={200: PRODUCT_ORDER, **ERRORS},
    )
    def get(self, request, id):
        fields = tmf.fields(request, PRODUCT_ORDER_ATTRIBUTES)
        order = _visible_order(request, id)
        return Response(tmf.select(product_order_body(order, request=request), fields))


CANCEL_FILTERS = {"state", "productOrder.id"}


class CancelProductOrderList(OrderTmfView):
    """Cancellation requests: each is done at once (201) or refused (409, nothing recorded)."""
    permission_classes = [CancelOrderPermissions]

    @extend_schema(
        operation_id="listCancelProductOrder", summary="List or find CancelProductOrder objects", tags=["TMF622 cancelProductOrder"],
        parameters=[
            *tmf.WINDOW_PARAMETERS,
            OpenApiParameter("state", OpenApiTypes.STR, description="done (the only state a recorded cancellation has)."),
            OpenApiParameter("productOrder.id", OpenApiTypes.STR),
        ],
        responses={200: CANCEL_PRODUCT_ORDER.__class__(many=True), **ERRORS},
    )
    def get(self, request):
        tmf.check_filters(request, CANCEL_FILTERS)
        fields = tmf.fields(request, CANCEL_PRODUCT_ORDER_ATTRIBUTES)
        offset, limit = tmf.window(request)
        records = selectors.order_cancellations(user=request.user)
        if "state" in request.query_params:
            states = [s.strip() for s in request.query_params["state"].split(",")]
            if any(s not in ("acknowledged", "terminatedWithError", "inProgress", "done") for s in states):
                raise ApiValidationError({"state": [_("Use one of acknowledged, terminatedWithError, inProgress, done.")]})
            if "done" not in states:
                records = records.none()
        if "productOrder.id" in request.query_params:
            raw = request.query_params["productOrder.id"]
            records = records.filter(order_id=int(raw)) if raw.isdigit() and len(raw) < 19 else records.none()
        total = records.count()
        page = list(records[offset : offset + limit]) if limit else []
        return tmf.list_response([tmf.select(cancel_product_order_body(r, request=request), fields) for r in page], total)

    @extend_schema(
        operation_id="createCancelProductOrder", summary="Creates a CancelProductOrder", tags=["TMF622 cancelProductOrder"],
        request=CancelProductOrderCreateSerializer, parameters=[tmf.IDEMPOTENCY_PARAMETER],
        responses={201: CANCEL_PRODUCT_ORDER, **ERRORS, 422: tmf.TMF_ERROR},
    )
    def post(self, request):
        return TMF_ERRORS.as_tmf(idempotent("tmf622.cancelProductOrder.create", request, lambda: self._create(request)), request)

    def _create(self, request):
        data = CancelProductOrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw_id = data.validated_data["productOrder"]["id"]
        order = selectors.orders_for_api(user=request.user).filter(pk=int(raw_id)).first() if raw_id.isdigit() and len(raw_id) < 19 else None
        if order is None:
            raise ApiValidationError({"productOrder.id": [_("No such product order.")]})
        services.order_cancel(order_id=order.pk, by=request.user, reason=data.validated_data.get("cancellationReason", ""))
        record = selectors.order_cancellations(user=request.user).filter(order_id=order.pk).first()
        body = cancel_product_order_body(record, request=request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["href"]})


class CancelProductOrderDetail(OrderTmfView):
    """One recorded cancellation."""
    permission_classes = [CancelOrderPermissions]

    @extend_schema(
        operation_id="retrieveCancelProductOrder", summary="Retrieves a CancelProductOrder by ID", tags=["TMF622 cancelProductOrder"],
        parameters=[tmf.ID_PARAMETER, tmf.FIELDS_PARAMETER], responses={200: CANCEL_PRODUCT_ORDER, **ERRORS},
    )
    def get(self, request, id):
        fields = tmf.fields(request, CANCEL_PRODUCT_ORDER_ATTRIBUTES)
        records = selectors.order_cancellations(user=request.user)
        record = records.filter(pk=int(id)).first() if id.isdigit() and len(id) < 19 else None
        if record is None:
            raise NotFound(_("No such cancellation request."))
        return Response(tmf.select(cancel_product_order_body(record, request=request), fields))
