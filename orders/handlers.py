"""Outbox handler: provisioning an order in billing, then moving the order on."""
from servicedesk.billing import BillingRejected, billing_adapter
from servicedesk.outbox import outbox_handler

from . import services
from .models import Order


@outbox_handler(services.PROVISION)
def provision_order(payload: dict, *, key: str) -> dict:
    order = Order.objects.select_related("product", "customer", "pool_number").get(pk=payload["order_id"])
    request = {
        "order": order.pk,
        "product": order.product.code,
        "customer": order.customer_id,
        "service_number": order.pool_number.number if order.pool_number_id else order.service_number,
        "purpose": payload["purpose"],
    }
    try:
        result = billing_adapter().provision(key=key, request=request)
    except BillingRejected as exc:
        services.order_record_provisioning_failure(order_id=order.pk, purpose=payload["purpose"], reason=str(exc))
        return {"rejected": str(exc)}
    services.order_record_provisioning(order_id=order.pk, purpose=payload["purpose"], reference=result.reference)
    return {"reference": result.reference}
