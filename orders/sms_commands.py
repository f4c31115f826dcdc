"""The SMS hall's ORDER command: the status of the sender's order and what happens next.

``ORDER`` alone answers about the latest order, ``ORDER 1234`` about order 1234 if it is
the sender's (else "not found": the hall never tells about another customer's order).
"""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servicedesk.sms_hall import SmsAnswer, SmsRequest, join_sentences, not_found_reply, parse_id, register_sms_command

from .models import Flow, Order, OrderStatus

S = OrderStatus


def _usage() -> str:
    return _("Send ORDER for your latest order, or ORDER and its number, e.g. ORDER 1234.")


def next_step(order: Order) -> str:
    """What the customer can expect next, in one sentence."""
    if order.status == S.SUBMITTED:
        if order.flow == Flow.DIRECT:
            return _("Next: the service is being switched on; you get an SMS when it is active.")
        if order.flow == Flow.DEFERRED:
            return _("Next: an agent calls you back at the agreed time.")
        return _("Next: the back office checks it and reserves your items, usually within a day.")
    steps = {
        S.PROVISIONED: _("The service is active; nothing more to do."),
        S.ACCEPTED: _("Next: we pack it and hand it to the courier; an SMS tells you when it comes."),
        S.HANDED_TO_DELIVERY: _("Next: the courier delivers it; send SHIP for tracking, CHANGE to move the appointment."),
        S.DELIVERED: _("Next: your line is being activated; you get an SMS when it is active."),
        S.ACTIVATED: _("Your line is active."),
        S.COMPLETED: _("Done; nothing more to do."),
    }
    if order.status in steps:
        return steps[order.status]
    if order.closing_reason:
        return _("Closed: %(reason)s") % {"reason": order.closing_reason[:120]}
    return _("The order is closed.")


def order_status(request: SmsRequest) -> SmsAnswer:
    order_id = parse_id(request.args, usage=_usage())
    orders = Order.objects.filter(customer=request.customer).select_related("product")
    order = orders.filter(pk=order_id).first() if order_id is not None else orders.order_by("-submitted_at", "-id").first()
    if order is None:
        return SmsAnswer(reply=not_found_reply() if order_id is not None else _("You have no orders with us."))
    reply = join_sentences([
        _("Order #%(id)s, %(product)s: %(status)s.") % {"id": order.pk, "product": order.product.name, "status": order.get_status_display()},
        next_step(order),
    ])
    return SmsAnswer(reply=reply, target=order)


def register() -> None:
    register_sms_command(
        ("ORDER", "订单", "DD"), order_status, gettext_lazy("ORDER [order no.]: order status"), name="order", pinyin=("DD",),
    )
