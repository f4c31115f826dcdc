"""Reads of the core domain: who may see which customer, search, the customer screen."""
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from . import registry
from .models import Contact, Customer, Script, Subscription
from .phones import looks_like_service_number, normalize_service_number
from .registry import TimelineEntry
from .roles import Role

# Every role but the area manager's works for the whole customer base.
_UNRESTRICTED_ROLES = tuple(r for r in Role if r != Role.AREA_MANAGER)
_ID_NUMBER_RE = re.compile(r"^(\d{15}|\d{17}[\dXx]|[A-Za-z]\d{7,9}|[A-Za-z]{1,2}\d{6,10})$")


def customers_visible_to(user) -> QuerySet[Customer]:
    """Area managers see the customers of the areas they manage; other roles see everyone."""
    customers = Customer.objects.all()
    if not user.is_authenticated:
        return customers.none()
    if user.is_superuser or user.has_role(*_UNRESTRICTED_ROLES):
        return customers
    if user.has_role(Role.AREA_MANAGER):
        return customers.filter(area__manager=user)
    return customers.none()


def restrict_to_visible_customers(queryset: QuerySet, user, *, customer_field: str = "customer") -> QuerySet:
    """``queryset`` narrowed to rows of customers the user may see (area managers: their areas).

    For a role that sees every customer it is returned as it is: no "customer IN (all
    customers)" semi-join on every list and count."""
    customers = customers_visible_to(user)
    if customers.query.is_empty() or customers.query.has_filters():
        return queryset.filter(**{f"{customer_field}__in": customers})
    return queryset


def subscriptions_visible_to(user) -> QuerySet[Subscription]:
    return Subscription.objects.filter(customer__in=customers_visible_to(user))


def contacts_visible_to(user) -> QuerySet[Contact]:
    if user.is_superuser or user.has_role(*_UNRESTRICTED_ROLES):
        return Contact.objects.all()
    return Contact.objects.filter(customer__in=customers_visible_to(user))


@dataclass(frozen=True)
class CustomerSearch:
    by: str  # "service_number", "id_number", "name" or "" when nothing was asked
    query: str
    customers: QuerySet[Customer]
    error: str = ""


def customer_search(*, user, query: str) -> CustomerSearch:
    """One search box: a service number (exact), an ID number (exact) or the start of a name."""
    query = (query or "").strip()[:100]
    visible = customers_visible_to(user).select_related("area")
    if not query:
        return CustomerSearch("", "", visible.none())
    if _ID_NUMBER_RE.match(query) and not (len(query) == 11 and query.startswith("1")):
        return CustomerSearch("id_number", query, visible.filter(id_number=query.upper()).order_by("id"))
    if looks_like_service_number(query):
        try:
            number = normalize_service_number(query)
        except ValidationError as exc:
            return CustomerSearch("service_number", query, visible.none(), error=exc.messages[0])
        return CustomerSearch("service_number", number, visible.filter(subscriptions__service_number=number).order_by("id"))
    return CustomerSearch("name", query, visible.filter(name__startswith=query).order_by("name", "id"))


def customer_for_screen(*, user, customer_id: int) -> Customer:
    """The customer with what the screen shows, in a fixed small number of queries."""
    subscriptions = Subscription.objects.select_related("tariff_plan").order_by("service_number")
    return (
        customers_visible_to(user)
        .select_related("area", "area__manager")
        .prefetch_related(Prefetch("subscriptions", queryset=subscriptions))
        .get(pk=customer_id)
    )


def last_contacts(*, customer: Customer, limit: int = 3) -> list[Contact]:
    """The latest reasons and outcomes, for the at-a-glance strip on a repeat call."""
    return list(customer.contacts.select_related("agent").order_by("-started_at", "-id")[:limit])


def contact_timeline_entries(customer: Customer, user, limit: int) -> list[TimelineEntry]:
    contacts = customer.contacts.select_related("agent").prefetch_related("links").order_by("-started_at", "-id")[:limit]
    return [
        TimelineEntry(
            at=c.started_at,
            kind="contact",
            title=c.reason,
            detail=" · ".join(x for x in [c.business, c.notes] if x),
            channel=c.get_channel_display(),
            actor=c.agent.get_full_name() or c.agent.username if c.agent else "",
            badge=c.get_outcome_display(),
            extra={"outcome": c.outcome, "links": [link.label for link in c.links.all()], "id": c.pk},
        )
        for c in contacts
    ]


def customer_timeline(*, customer: Customer, user, page: int = 1, page_size: int = 20) -> tuple[list[TimelineEntry], bool]:
    """One page of the merged timeline and whether there is an older page."""
    page = max(1, min(page, 50))
    entries = registry.timeline_for(customer, user, limit=page * page_size + 1)
    start = (page - 1) * page_size
    return entries[start : start + page_size], len(entries) > start + page_size


def script_search(*, query: str = "", kind: str = "", category: str = "") -> QuerySet[Script]:
    """Every word must appear in the title, category, keywords or text (Chinese included)."""
    scripts = Script.objects.all()
    if kind:
        scripts = scripts.filter(kind=kind)
    if category:
        scripts = scripts.filter(category=category)
    condition = Q()
    for word in (query or "").lower().split()[:8]:
        condition &= Q(search_text__contains=word)
    return scripts.filter(condition).order_by("kind", "category", "title")


def script_categories() -> list[str]:
    return list(Script.objects.order_by("category").values_list("category", flat=True).distinct())
