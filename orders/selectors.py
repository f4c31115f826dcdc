"""Reads of the orders app: the customer's open orders and timeline, the queue, the pool, callbacks."""
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.registry import Panel, TimelineEntry
from servicedesk.selectors import customers_visible_to

from .models import OPEN_ORDER_STATES, Flow, NumberStatus, Opportunity, Order, OrderStatus, OrderTransition, PoolNumber, Product
from .services import queue_ordering


def orders_visible_to(user) -> QuerySet[Order]:
    return Order.objects.filter(customer__in=customers_visible_to(user))


def open_orders_panel(customer, user) -> Panel:
    orders = list(
        Order.objects.filter(customer=customer, status__in=OPEN_ORDER_STATES).select_related("product").order_by("-submitted_at")[:10]
    )
    opportunities = list(Opportunity.objects.filter(customer=customer, status=Opportunity.Status.OPEN).select_related("product")[:5])
    items = [
        {"label": f"#{o.pk} {o.product.name}", "state": o.get_status_display(), "url": reverse("orders:detail", args=[o.pk])}
        for o in orders
    ] + [
        {"label": _("Callback %(when)s: %(product)s") % {"when": timezone.localtime(op.callback_at).strftime("%m-%d %H:%M"), "product": op.product.name},
         "state": op.get_intent_display(), "url": reverse("orders:opportunity", args=[op.pk])}
        for op in opportunities
    ]
    return Panel(key="orders", title=_("Orders and callbacks"), items=items, empty_text=_("No open orders."), order=10)


def order_timeline_entries(customer, user, limit: int) -> list[TimelineEntry]:
    transitions = (
        OrderTransition.objects.filter(order__customer=customer)
        .select_related("order__product", "by")
        .order_by("-at", "-id")[:limit]
    )
    labels = dict(OrderStatus.choices)
    return [
        TimelineEntry(
            at=t.at,
            kind="order",
            title=_("Order #%(id)s %(product)s: %(state)s") % {"id": t.order_id, "product": t.order.product.name, "state": labels.get(t.to_state, t.to_state)},
            detail=t.reason,
            actor=(t.by.get_full_name() or t.by.username) if t.by else _("system"),
            url=reverse("orders:detail", args=[t.order_id]),
            badge=_("Order"),
        )
        for t in transitions
    ]


def order_detail(*, user, order_id: int) -> Order:
    return (
        orders_visible_to(user)
        .select_related("customer", "product__category", "pool_number", "created_by", "claimed_by")
        .prefetch_related(Prefetch("transitions", queryset=OrderTransition.objects.select_related("by").order_by("at", "id")))
        .get(pk=order_id)
    )


def back_office_queue(*, vip_tier: str = "", category: str = "", breached_only: bool = False) -> QuerySet[Order]:
    now = timezone.now()
    orders = Order.objects.filter(status=OrderStatus.SUBMITTED, flow=Flow.BACK_OFFICE).select_related(
        "customer", "product__category", "pool_number", "claimed_by"
    )
    if vip_tier:
        orders = orders.filter(customer__vip_tier=vip_tier)
    if category:
        orders = orders.filter(product__category__code=category)
    if breached_only:
        orders = orders.filter(accept_by__lt=now)
    return orders.order_by(*queue_ordering(now))


def pool_numbers(*, status: str = "", number_class: str = "", contains: str = "") -> QuerySet[PoolNumber]:
    numbers = PoolNumber.objects.select_related("order")
    if status:
        numbers = numbers.filter(status=status)
    if number_class:
        numbers = numbers.filter(number_class=number_class)
    if contains:
        # A tail is what customers ask for ("ending 8888"); the prefix is indexed.
        digits = "".join(ch for ch in contains if ch.isdigit())[:11]
        numbers = numbers.filter(number__startswith=digits) if len(digits) >= 3 and digits.startswith("1") else numbers.filter(number__endswith=digits)
    return numbers.order_by("number")


def available_numbers(*, contains: str = "", limit: int = 20) -> list[PoolNumber]:
    return list(pool_numbers(status=NumberStatus.AVAILABLE, contains=contains)[:limit])


def products_on_sale() -> QuerySet[Product]:
    return Product.objects.filter(active=True).select_related("category").order_by("category__code", "name")


def callbacks_due(*, user=None, include_future: bool = False) -> QuerySet[Opportunity]:
    opportunities = Opportunity.objects.filter(status=Opportunity.Status.OPEN).select_related("customer", "product", "assigned_to")
    if not include_future:
        opportunities = opportunities.filter(callback_at__lte=timezone.now())
    return opportunities.order_by("callback_at", "id")


def opportunity_search(*, query: str = "", status: str = "", intent: str = "") -> QuerySet[Opportunity]:
    opportunities = Opportunity.objects.select_related("customer", "product", "assigned_to")
    if status:
        opportunities = opportunities.filter(status=status)
    if intent:
        opportunities = opportunities.filter(intent=intent)
    if query:
        opportunities = opportunities.filter(Q(customer__name__startswith=query) | Q(customer__subscriptions__service_number=query)).distinct()
    return opportunities.order_by("callback_at", "id")
