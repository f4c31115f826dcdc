"""Reads of the orders app: the customer's open orders and timeline, the queue, the pool, callbacks."""
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Reverse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from servicedesk.dates import local_midnight
from servicedesk.registry import Panel, TimelineEntry
from servicedesk.selectors import restrict_to_visible_customers

from .models import OPEN_ORDER_STATES, Flow, NumberImport, NumberStatus, Opportunity, Order, OrderStatus, OrderTransition, PoolNumber, Product
from .services import queue_ordering


def orders_visible_to(user) -> QuerySet[Order]:
    return restrict_to_visible_customers(Order.objects.all(), user)


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
            channel=t.order.get_channel_display(),
            actor=(t.by.get_full_name() or t.by.username) if t.by else _("system"),
            url=reverse("orders:detail", args=[t.order_id]),
            badge=pgettext("timeline badge", "Order"),
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


def back_office_queue_categories() -> list[tuple[str, str]]:
    """(code, name) of the categories whose orders can reach the queue, for its filter."""
    from .models import ProductCategory

    return list(ProductCategory.objects.filter(flow__in=[Flow.BACK_OFFICE, Flow.DEFERRED]).order_by("code").values_list("code", "name"))


def order_available_actions(*, order: Order, user) -> set[str]:
    """What the user may do to the order now: its allowed transitions the user's role holds,
    less what a live claim by another clerk blocks; plus releasing the user's own claim."""
    actions = {t.name for t in order.get_available_user_status_transitions(user)}
    actions &= {"cancel", "accept", "reject", "urgent_activate"}
    if "urgent_activate" in actions and order.urgent_activation:
        actions.discard("urgent_activate")  # already requested; billing is on it
    live_claim = order.claimed_by_id is not None and order.claim_expires_at is not None and order.claim_expires_at > timezone.now()
    if live_claim and order.claimed_by_id != user.pk:
        actions -= {"accept", "reject"}
    if live_claim and order.claimed_by_id == user.pk and order.status == OrderStatus.SUBMITTED:
        actions.add("release_claim")
    return actions


def sale_products() -> list[tuple[str, list[Product]]]:
    """The products on sale grouped by category name, in catalogue order, for the sale form."""
    groups: dict[str, list[Product]] = {}
    for product in products_on_sale():
        groups.setdefault(product.category.name, []).append(product)
    return list(groups.items())


def sale_recent_contacts(*, customer, agent, hours: int = 4, limit: int = 5):
    """The agent's own latest contacts with the customer: the call a sale is linked to."""
    from datetime import timedelta

    return customer.contacts.filter(agent=agent, started_at__gte=timezone.now() - timedelta(hours=hours)).order_by("-started_at", "-id")[:limit]


def sale_customer_action(customer, user):
    """The customer screen's "New sale" button, for roles that may sell."""
    from servicedesk.registry import CustomerAction

    if not (user.has_perm("orders.add_order") or user.has_perm("orders.add_opportunity")):
        return None
    return CustomerAction(key="sale", label=_("New sale"), url=reverse("orders:sale", args=[customer.pk]), shortcut="s", order=10)


def pool_numbers(*, status: str = "", number_class: str = "", contains: str = "", match: str = "") -> QuerySet[PoolNumber]:
    """The pool, filtered; ``match`` is "prefix", "tail", or empty to guess from the digits."""
    numbers = PoolNumber.objects.select_related("order")
    if status:
        numbers = numbers.filter(status=status)
    if number_class:
        numbers = numbers.filter(number_class=number_class)
    digits = "".join(ch for ch in contains if ch.isdigit())[:11]
    if digits:
        if not match:
            # A tail is what customers ask for ("ending 8888"); "186..." is a prefix.
            match = "prefix" if len(digits) >= 3 and digits.startswith("1") else "tail"
        if match == "prefix":
            numbers = numbers.filter(number__startswith=digits)
        else:
            # Written as a prefix of the reversed number, so that an index on REVERSE(number) can serve it.
            numbers = numbers.annotate(number_reversed=Reverse("number")).filter(number_reversed__startswith=digits[::-1])
    return numbers.order_by("number")


def available_numbers(*, contains: str = "", limit: int = 20) -> list[PoolNumber]:
    return list(pool_numbers(status=NumberStatus.AVAILABLE, contains=contains)[:limit])


def pool_number_detail(*, pool_number_id: int) -> PoolNumber:
    return PoolNumber.objects.select_related("order__product").get(pk=pool_number_id)


def number_imports() -> QuerySet[NumberImport]:
    return NumberImport.objects.select_related("created_by").order_by("-created_at", "-id")


def products_on_sale() -> QuerySet[Product]:
    return Product.objects.filter(active=True).select_related("category").order_by("category__code", "name")


# --- Opportunities ----------------------------------------------------------------
from datetime import date, timedelta  # noqa: E402  (kept with the section that uses them)


def opportunities_visible_to(user) -> QuerySet[Opportunity]:
    """Whoever may view opportunities sees those of the customers they may see (area managers
    their areas', through ``customers_visible_to``): an agent on a call sees the customer's
    callbacks whoever booked them. Acting on them is the outbound team's (change_opportunity)."""
    if not user.is_authenticated or not user.has_perm("orders.view_opportunity"):
        return Opportunity.objects.none()
    return restrict_to_visible_customers(Opportunity.objects.all(), user)


def _opportunity_rows(opportunities: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """What a list row shows: customer, their lines, product, who works it; in a fixed number of queries."""
    from servicedesk.models import Subscription

    lines = Subscription.objects.only("id", "customer_id", "service_number").order_by("service_number")
    return opportunities.select_related("customer", "product", "assigned_to").prefetch_related(Prefetch("customer__subscriptions", queryset=lines))


def callbacks_due(
    *, user=None, include_future: bool = False, intent: str = "", assigned: str = "", product_id: int | None = None,
) -> QuerySet[Opportunity]:
    """Open callbacks by agreed time, the overdue first, oldest first; with ``include_future`` (the outbound
    worklist) the upcoming follow. Scoped to what ``user`` may see; without a user, every one (tasks, the demo).
    ``assigned`` is "me" or "none" (nobody has tried yet)."""
    opportunities = (opportunities_visible_to(user) if user is not None else Opportunity.objects.all()).filter(status=Opportunity.Status.OPEN)
    if not include_future:
        opportunities = opportunities.filter(callback_at__lte=timezone.now())
    if intent:
        opportunities = opportunities.filter(intent=intent)
    if assigned == "me":
        opportunities = opportunities.filter(assigned_to=user)
    elif assigned == "none":
        opportunities = opportunities.filter(assigned_to__isnull=True)
    if product_id:
        opportunities = opportunities.filter(product_id=product_id)
    return _opportunity_rows(opportunities).order_by("callback_at", "id")


def opportunity_search(
    *, user, query: str = "", status: str = "", intent: str = "", callback_from: date | None = None, callback_to: date | None = None,
    product_id: int | None = None,
) -> QuerySet[Opportunity]:
    """By customer name prefix or one of their service numbers (exact), status, intent and callback dates (local days, inclusive)."""
    from django.core.exceptions import ValidationError

    from servicedesk.models import Subscription
    from servicedesk.phones import looks_like_service_number, normalize_service_number

    opportunities = opportunities_visible_to(user)
    if status:
        opportunities = opportunities.filter(status=status)
    if intent:
        opportunities = opportunities.filter(intent=intent)
    if product_id:
        opportunities = opportunities.filter(product_id=product_id)
    if callback_from:
        opportunities = opportunities.filter(callback_at__gte=local_midnight(callback_from))
    if callback_to:
        opportunities = opportunities.filter(callback_at__lt=local_midnight(callback_to + timedelta(days=1)))
    query = (query or "").strip()[:100]
    if query and looks_like_service_number(query):
        try:
            number = normalize_service_number(query)
        except ValidationError:
            return opportunities.none()
        opportunities = opportunities.filter(customer__in=Subscription.objects.filter(service_number=number).values("customer_id"))
    elif query:
        opportunities = opportunities.filter(customer__name__startswith=query)
    return _opportunity_rows(opportunities).order_by("callback_at", "id")


def opportunities_follow_up(*, user) -> QuerySet[Opportunity]:
    """High-intent customers still open: the list for a dedicated follow-up campaign."""
    from .models import Intent

    return opportunity_search(user=user, status=Opportunity.Status.OPEN, intent=Intent.HIGH)


def opportunity_detail(*, user, opportunity_id: int) -> Opportunity:
    return (
        _opportunity_rows(opportunities_visible_to(user))
        .select_related("customer__area", "product__category", "created_by", "order")
        .get(pk=opportunity_id)
    )


def opportunity_attempts(*, opportunity: Opportunity):
    return opportunity.attempts.select_related("by").order_by("-at", "-id")


def opportunity_products(*, open_only: bool = False) -> QuerySet[Product]:
    """Products someone was interested in: the choices of the worklist's and the search's product filter."""
    opportunities = Opportunity.objects.filter(status=Opportunity.Status.OPEN) if open_only else Opportunity.objects.all()
    return Product.objects.filter(pk__in=opportunities.values("product_id")).order_by("name")


def opportunity_service_numbers(*, user, opportunity: Opportunity) -> list[str]:
    """The customer's lines, whole for those who call customers back, masked for everyone else."""
    from servicedesk.masking import mask_phone

    numbers = [s.service_number for s in opportunity.customer.subscriptions.all()]
    return numbers if user.has_perm("orders.change_opportunity") else [mask_phone(n) for n in numbers]


# --- API --------------------------------------------------------------------------
# Reads of the REST API and the TMF622 resource (orders/apis.py, orders/tmf622.py).

def orders_for_api(*, user) -> QuerySet[Order]:
    """The orders the user may see, with what the API renders, newest first.

    Ordered by id, which follows submission (``order_submit`` stamps ``submitted_at`` at
    insert), so the newest page walks the primary key instead of sorting the table.
    """
    return orders_visible_to(user).select_related("customer", "product", "pool_number", "created_by").order_by("-id")


def orders_with_service_number(orders: QuerySet[Order], number: str) -> QuerySet[Order]:
    """Orders on a line: a change to the customer's existing number, or a sale of that pool number.

    ``Order.service_number`` has no index, so the line is found through the indexed
    subscription number (then the customer's orders) and the pool number (then its FK).
    """
    from servicedesk.models import Subscription

    customers = Subscription.objects.filter(service_number=number).values("customer_id")
    pool_numbers = PoolNumber.objects.filter(number=number).values("pk")
    return orders.filter(Q(customer_id__in=customers, service_number=number) | Q(pool_number_id__in=pool_numbers))


def order_history(*, order: Order) -> QuerySet[OrderTransition]:
    return OrderTransition.objects.filter(order=order).select_related("by").order_by("at", "id")


def order_cancellations(*, user) -> QuerySet[OrderTransition]:
    """Every recorded cancellation of an order the user may see, newest first (TMF622 cancelProductOrder)."""
    return (
        OrderTransition.objects.filter(transition="cancel", order__in=orders_visible_to(user))
        .select_related("order", "by")
        .order_by("-at", "-id")
    )
