"""Every write of the orders app: selling, routing, the back-office flow, the pool, opportunities."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.api.errors import Conflict
from servicedesk.fsm import TransitionRefused, run_transition
from servicedesk.models import Channel, Contact, Customer, Subscription, VipTier
from servicedesk.outbox import outbox_enqueue
from servicedesk.phones import normalize_service_number
from servicedesk.selectors import customers_visible_to
from servicedesk.services import contact_link

from . import hooks
from .models import (
    CallbackAttempt, Flow, Intent, NumberClass, NumberStatus, Opportunity, Order, OrderStatus, OrderTransition, PoolNumber, Product,
)

VIP_PRIORITY = {VipTier.DIAMOND: 30, VipTier.GOLD: 20, VipTier.SILVER: 10, VipTier.ORDINARY: 0}
PROVISION = "billing.provision"


def fulfilment_flow(product: Product) -> str:
    """The category's flow; a converted opportunity goes back-office if it ships an item, else direct."""
    flow = product.category.flow
    if flow == Flow.DEFERRED:
        return Flow.BACK_OFFICE if product.needs_delivery or product.needs_number else Flow.DIRECT
    return flow


def _transition(order: Order, name: str, *, by, reason: str = "", **args) -> Order:
    return run_transition(order, name, by=by, log_model=OrderTransition, log_fk="order", reason=reason, args=args)


def _locked(order_id: int) -> Order:
    try:
        # of=self: the joined rows are read, not locked (PostgreSQL refuses FOR UPDATE on the outer join to pool_number).
        return (
            Order.objects.select_for_update(of=("self",))
            .select_related("product__category", "customer", "pool_number", "claimed_by")
            .get(pk=order_id)
        )
    except Order.DoesNotExist as exc:
        raise Order.DoesNotExist(_("No such order.")) from exc


def _visible_customer(agent, customer: Customer) -> None:
    if agent is not None and not customers_visible_to(agent).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You may not sell to this customer."))


def _reserve_number(order: Order, number: str) -> PoolNumber:
    """Hold a free number for the order. A conditional UPDATE: under concurrency one wins, the others see 0 rows."""
    try:
        number = normalize_service_number(number)
    except ValidationError as exc:
        raise ValidationError({"pool_number": exc.messages}) from exc
    held = PoolNumber.objects.filter(number=number, status=NumberStatus.AVAILABLE).update(
        status=NumberStatus.RESERVED, order=order, reserved_at=timezone.now()
    )
    if not held:
        raise ValidationError({"pool_number": [_("Number %(number)s is not available; pick another.") % {"number": number}]})
    return PoolNumber.objects.get(number=number)


def _release_number(order: Order) -> None:
    if order.pool_number_id:
        PoolNumber.objects.filter(pk=order.pool_number_id, order=order, status=NumberStatus.RESERVED).update(
            status=NumberStatus.AVAILABLE, order=None, reserved_at=None
        )


def _provision_later(order: Order, purpose: str) -> None:
    outbox_enqueue(
        kind=PROVISION,
        key=f"order:{order.pk}:{purpose}",
        payload={"order_id": order.pk, "purpose": purpose},
    )


@transaction.atomic
def order_submit(
    *,
    agent,
    customer: Customer,
    product: Product,
    service_number: str = "",
    pool_number: str = "",
    delivery_address: str = "",
    appointment_date: date | None = None,
    appointment_slot: str = "",
    channel: str = Channel.HOTLINE,
    notes: str = "",
    contact: Contact | None = None,
    external_id: str = "",
) -> Order:
    """Capture a sale as an order and route it by its product's flow.

    ``external_id`` is the submitting system's reference: a second order with the same one
    from the same client is refused (409) naming the first."""
    _visible_customer(agent, customer)
    product = Product.objects.select_related("category").get(pk=product.pk)
    if not product.active:
        raise ValidationError({"product": [_("This product is no longer on sale.")]})
    flow = fulfilment_flow(product)
    errors: dict[str, list[str]] = {}
    if service_number:
        try:
            service_number = normalize_service_number(service_number)
        except ValidationError as exc:
            errors["service_number"] = exc.messages
        else:
            if not customer.subscriptions.filter(service_number=service_number).exists():
                errors["service_number"] = [_("This service number does not belong to the customer.")]
    elif flow == Flow.DIRECT:
        errors["service_number"] = [_("Choose the line this applies to.")]
    if product.needs_number and not pool_number:
        errors["pool_number"] = [_("Pick a number from the pool.")]
    if product.needs_delivery:
        if not (delivery_address or "").strip():
            errors["delivery_address"] = [_("A delivery address is needed.")]
        if appointment_date is None:
            errors["appointment_date"] = [_("Agree a delivery date with the customer.")]
        elif appointment_date < timezone.localdate():
            errors["appointment_date"] = [_("The delivery date cannot be in the past.")]
    if errors:
        raise ValidationError(errors)
    external_id = (external_id or "").strip()
    if external_id:
        first = Order.objects.filter(created_by=agent, external_id=external_id).values_list("pk", flat=True).first()
        if first is not None:
            raise Conflict(
                _("externalId %(external_id)s was already used for order %(order)s.") % {"external_id": external_id, "order": first},
                code="external_id_reused",
            )

    now = timezone.now()
    order = Order(
        customer=customer,
        product=product,
        flow=flow,
        service_number=service_number,
        price=product.price,
        delivery_address=(delivery_address or "").strip(),
        appointment_date=appointment_date,
        appointment_slot=appointment_slot,
        channel=channel,
        notes=(notes or "").strip(),
        external_id=external_id,
        created_by=agent,
        contact=contact,
        submitted_at=now,
        priority=VIP_PRIORITY.get(customer.vip_tier, 0),
        accept_by=now + timedelta(hours=product.category.acceptance_limit_hours) if flow == Flow.BACK_OFFICE else None,
    )
    order.full_clean(exclude=["pool_number", "created_by", "contact", "status"], validate_constraints=False)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as exc:  # the same externalId submitted twice at the same moment
        raise Conflict(_("externalId %(external_id)s was already used.") % {"external_id": external_id}, code="external_id_reused") from exc
    if pool_number:
        number = _reserve_number(order, pool_number)
        order.pool_number = number
        order.price = product.price + number.price
        order.save(update_fields=["pool_number", "price"])
    OrderTransition.objects.create(order=order, from_state="", to_state=order.status, transition="submit", by=agent)
    if contact is not None:
        contact_link(contact=contact, target=order, label=_("Order #%(id)s") % {"id": order.pk})
    if flow == Flow.DIRECT:
        _provision_later(order, "provision")
    return order


@transaction.atomic
def order_claim_next(*, clerk) -> Order | None:
    """Give the clerk the most urgent unclaimed back-office order; never the same one to two clerks."""
    now = timezone.now()
    mine = Order.objects.filter(status=OrderStatus.SUBMITTED, flow=Flow.BACK_OFFICE, claimed_by=clerk, claim_expires_at__gt=now).first()
    if mine:
        return mine
    candidate = (
        Order.objects.select_for_update(skip_locked=True)
        .filter(status=OrderStatus.SUBMITTED, flow=Flow.BACK_OFFICE)
        .filter(Q(claimed_by__isnull=True) | Q(claim_expires_at__lte=now))
        .order_by(*queue_ordering(now))
        .first()
    )
    if candidate is None:
        return None
    Order.objects.filter(pk=candidate.pk).update(claimed_by=clerk, claim_expires_at=now + timedelta(minutes=settings.ORDER_CLAIM_MINUTES))
    return _fresh(candidate.pk)


def _fresh(order_id: int) -> Order:
    """Read the order again. Not ``refresh_from_db()``: django-fsm-2 unprotects the status field
    class-wide while refreshing, which races with other threads of a threaded server."""
    return Order.objects.select_related("product__category", "customer", "pool_number", "claimed_by").get(pk=order_id)


def queue_ordering(now: datetime):
    """Breached time limits first, then VIP priority, then the oldest."""
    from django.db.models import BooleanField, Case, Value, When

    breached = Case(When(accept_by__lt=now, then=Value(True)), default=Value(False), output_field=BooleanField())
    return [breached.desc(), "-priority", "submitted_at", "id"]


def _check_claim(order: Order, clerk) -> None:
    if order.claimed_by_id and order.claimed_by_id != clerk.pk and order.claim_expires_at and order.claim_expires_at > timezone.now():
        raise TransitionRefused(_("%(name)s is working on this order.") % {"name": order.claimed_by.get_username()}, code="claimed_by_other", allowed=[], current=order.status)


@transaction.atomic
def order_release_claim(*, order_id: int, clerk) -> None:
    Order.objects.filter(pk=order_id, claimed_by=clerk).update(claimed_by=None, claim_expires_at=None)


@transaction.atomic
def order_accept(*, order_id: int, clerk) -> Order:
    # The role first: downstream checks reserve stock, which a clerk who may not accept must not touch.
    if not clerk.has_perm("orders.accept_order"):
        raise PermissionDenied(_("Your role may not do this."))
    order = _locked(order_id)
    _check_claim(order, clerk)
    if order.status == OrderStatus.SUBMITTED and not order.customer.id_number:
        raise ValidationError({"customer": [_("The customer's identity document is missing; it must be checked before acceptance.")]})
    if order.status == OrderStatus.SUBMITTED:
        for check in hooks.acceptance_checks:
            check(order)
    return _transition(order, "accept", by=clerk)


@transaction.atomic
def order_reject(*, order_id: int, clerk, reason: str) -> Order:
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the order is rejected.")]})
    order = _locked(order_id)
    _check_claim(order, clerk)
    _transition(order, "reject", by=clerk, reason=reason, closing_reason=reason)
    _release(order)
    return order


def _release(order: Order) -> None:
    _release_number(order)
    for release in hooks.release_hooks:
        release(order)


@transaction.atomic
def order_cancel(*, order_id: int, by, reason: str) -> Order:
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the order is cancelled.")]})
    order = _locked(order_id)
    _transition(order, "cancel", by=by, reason=reason, closing_reason=reason)
    _release(order)
    return order


@transaction.atomic
def order_hand_to_delivery(*, order_id: int, by) -> Order:
    return _transition(_locked(order_id), "hand_to_delivery", by=by)


@transaction.atomic
def order_mark_delivered(*, order_id: int, by) -> Order:
    """Delivered: an urgently activated order is complete; any other is now activated through billing."""
    order = _locked(order_id)
    if order.status == OrderStatus.ACTIVATED and order.urgent_activation:
        return _transition(order, "complete", by=by, reason=_("delivered after urgent activation"))
    _transition(order, "mark_delivered", by=by)
    _provision_later(order, "activate")
    return order


@transaction.atomic
def order_request_urgent_activation(*, order_id: int, by, reason: str = "") -> Order:
    """Activate before delivery: allowed to the roles that may; the transition happens when billing confirms."""
    order = _locked(order_id)
    if "urgent_activate" not in [t.name for t in order.get_available_status_transitions()]:
        from servicedesk.fsm import allowed_targets

        raise TransitionRefused(_("Urgent activation is only possible after acceptance and before delivery."), allowed=allowed_targets(order), current=order.status)
    from django_fsm import has_transition_perm

    if not has_transition_perm(order.urgent_activate, by):
        raise PermissionDenied(_("Your role may not request urgent activation."))
    if not order.urgent_activation:
        Order.objects.filter(pk=order.pk).update(urgent_activation=True)
        OrderTransition.objects.create(order=order, from_state=order.status, to_state=order.status, transition="request_urgent_activation", by=by, reason=reason)
        _provision_later(order, "urgent")
    return _fresh(order.pk)


@transaction.atomic
def order_record_provisioning(*, order_id: int, purpose: str, reference: str) -> Order:
    """Billing confirmed: move the order on and give the customer the line it bought."""
    order = _locked(order_id)
    if purpose == "provision" and order.status == OrderStatus.SUBMITTED:
        _transition(order, "provision", by=None, reference=reference)
        if order.product.tariff_plan_id and order.service_number:
            Subscription.objects.filter(service_number=order.service_number).update(tariff_plan=order.product.tariff_plan)
        _transition(order, "complete", by=None)
    elif purpose == "activate" and order.status == OrderStatus.DELIVERED:
        _transition(order, "activate", by=None, reference=reference)
        _sell_number(order)
        _transition(order, "complete", by=None)
    elif purpose == "urgent" and order.status in (OrderStatus.ACCEPTED, OrderStatus.HANDED_TO_DELIVERY):
        _transition(order, "urgent_activate", by=None, reference=reference)
        _sell_number(order)
    return order


@transaction.atomic
def order_record_provisioning_failure(*, order_id: int, purpose: str, reason: str) -> Order:
    order = _locked(order_id)
    if purpose == "provision" and order.status == OrderStatus.SUBMITTED:
        _transition(order, "fail", by=None, reason=reason, closing_reason=reason)
    else:
        OrderTransition.objects.create(order=order, from_state=order.status, to_state=order.status, transition="provisioning_failed", reason=reason[:500])
    return order


def _sell_number(order: Order) -> None:
    if not order.pool_number_id:
        return
    now = timezone.now()
    PoolNumber.objects.filter(pk=order.pool_number_id, order=order).update(status=NumberStatus.SOLD, sold_at=now, activated_at=now)
    plan = order.product.tariff_plan
    if plan is not None:
        Subscription.objects.get_or_create(
            service_number=order.pool_number.number,
            defaults={"customer": order.customer, "tariff_plan": plan, "activated_on": timezone.localdate(), "monthly_spend": plan.monthly_fee},
        )


# --- Number pool --------------------------------------------------------------

# The fee a number of each class carries when nobody names one (CNY): lucky patterns cost more.
POOL_DEFAULT_FEES = {NumberClass.ORDINARY: Decimal("0"), NumberClass.LUCKY: Decimal("100"), NumberClass.PREMIUM: Decimal("500")}


def pool_number_normalize(raw: str) -> str:
    """The 11 digits of a mainland mobile number, or ValidationError: the pool sells mobile lines only."""
    number = normalize_service_number(str(raw))
    if not number.startswith("1"):
        raise ValidationError(_("%(number)s is a fixed line; the pool holds mobile numbers only.") % {"number": raw}, code="not_mobile")
    return number


def pool_number_class_for(number: str) -> str:
    """The class a number's tail suggests: five alike is premium; AAAA, AABB, ABAB or a run like 1234 is lucky."""
    if len(set(number[-5:])) == 1:
        return NumberClass.PREMIUM
    a, b, c, d = (int(ch) for ch in number[-4:])
    if (a == b and c == d) or (a == c and b == d) or b - a == c - b == d - c == 1:
        return NumberClass.LUCKY
    return NumberClass.ORDINARY


@transaction.atomic
def pool_number_add(*, number: str, number_class: str = "", price: Decimal | None = None, note: str = "") -> PoolNumber:
    """Put a number in the pool; no class means the one its pattern suggests, no fee the class's default."""
    try:
        number = pool_number_normalize(number)
    except ValidationError as exc:
        raise ValidationError({"number": exc.messages}) from exc
    number_class = number_class or pool_number_class_for(number)
    pool_number = PoolNumber(
        number=number, number_class=number_class, price=POOL_DEFAULT_FEES.get(number_class, Decimal("0")) if price is None else price,
        note=(note or "").strip(),
    )
    pool_number.full_clean(validate_unique=False)
    taken = ValidationError({"number": [_("Number %(number)s is already in the pool.") % {"number": number}]})
    if PoolNumber.objects.filter(number=number).exists():
        raise taken
    try:
        with transaction.atomic():
            pool_number.save()
    except IntegrityError as exc:  # added by someone else between the check and the insert
        raise taken from exc
    return pool_number


def _locked_pool_number(pool_number_id: int) -> PoolNumber:
    try:
        return PoolNumber.objects.select_for_update().get(pk=pool_number_id)
    except PoolNumber.DoesNotExist as exc:
        raise PoolNumber.DoesNotExist(_("No such number in the pool.")) from exc


@transaction.atomic
def pool_number_update(*, pool_number_id: int, number_class: str, price: Decimal, note: str = "", quarantined: bool | None = None) -> PoolNumber:
    """Change a number's class, fee and note, or take a free number out of sale (quarantine) and back.

    A reserved or sold number keeps its class and fee: its order was priced with them.
    """
    pool_number = _locked_pool_number(pool_number_id)
    if pool_number.status in (NumberStatus.RESERVED, NumberStatus.SOLD):
        errors = {}
        if number_class != pool_number.number_class or price != pool_number.price:
            errors["__all__"] = [_("Number %(number)s is %(status)s for order #%(order)s; its class and fee can no longer change.") % {
                "number": pool_number.number, "status": pool_number.get_status_display().lower(), "order": pool_number.order_id}]
        if quarantined:
            errors["quarantined"] = [_("A reserved or sold number cannot be quarantined.")]
        if errors:
            raise ValidationError(errors)
    elif quarantined is not None:
        pool_number.status = NumberStatus.QUARANTINED if quarantined else NumberStatus.AVAILABLE
    pool_number.number_class, pool_number.price, pool_number.note = number_class, price, (note or "").strip()
    pool_number.full_clean()
    pool_number.save()
    return pool_number


@transaction.atomic
def pool_number_remove(*, pool_number_id: int) -> None:
    """Remove a free or quarantined number; one an order ever named stays, for that order's history."""
    pool_number = _locked_pool_number(pool_number_id)
    if pool_number.status not in (NumberStatus.AVAILABLE, NumberStatus.QUARANTINED):
        raise ValidationError(_("A reserved or sold number cannot be removed."))
    try:
        pool_number.delete()
    except (ProtectedError, RestrictedError) as exc:
        # Released by a cancelled or rejected order, which still names it.
        raise ValidationError(_("Number %(number)s was used by an earlier order and stays for its history; quarantine it instead.") % {
            "number": pool_number.number}) from exc


# --- Opportunities --------------------------------------------------------------

@transaction.atomic
def opportunity_create(
    *, agent, customer: Customer, product: Product, callback_at: datetime, intent: str = Intent.MEDIUM, notes: str = "", contact: Contact | None = None
) -> Opportunity:
    _visible_customer(agent, customer)
    if callback_at is None:
        raise ValidationError({"callback_at": [_("Agree a callback time with the customer.")]})
    # A few minutes' grace: the agent types "now + a moment" while the customer is still on the line.
    if callback_at < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"callback_at": [_("The callback time cannot be in the past.")]})
    if not product.active:
        raise ValidationError({"product": [_("This product is no longer on sale.")]})
    notes = _opportunity_notes(notes)
    opportunity = Opportunity(customer=customer, product=product, callback_at=callback_at, intent=intent, notes=notes, created_by=agent, contact=contact)
    opportunity.full_clean(exclude=["created_by", "contact", "assigned_to", "order"])
    opportunity.save()
    if contact is not None:
        contact_link(contact=contact, target=opportunity, label=_("Opportunity #%(id)s") % {"id": opportunity.pk})
    return opportunity


@dataclass(frozen=True)
class Sale:
    """What submitting a sale produced: an order, or for a deferred product an opportunity."""

    order: Order | None = None
    opportunity: Opportunity | None = None


def sale_submit(*, agent, customer: Customer, product: Product, callback_at: datetime | None = None, intent: str = Intent.MEDIUM, **order_fields) -> Sale:
    """The console's one entry: route by the product's category."""
    if product.category.flow == Flow.DEFERRED:
        return Sale(
            opportunity=opportunity_create(
                agent=agent, customer=customer, product=product, callback_at=callback_at, intent=intent,
                notes=order_fields.get("notes", ""), contact=order_fields.get("contact"),
            )
        )
    return Sale(order=order_submit(agent=agent, customer=customer, product=product, **order_fields))


def _opportunity_notes(notes: str) -> str:
    # A TextField's max_length is not checked by full_clean(); the form's limit is not enough for the API.
    notes = (notes or "").strip()
    if len(notes) > 2000:
        raise ValidationError({"notes": [_("Notes are limited to 2,000 characters.")]})
    return notes


def _open_opportunity(opportunity_id: int) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update(of=("self",)).select_related("product__category", "customer").get(pk=opportunity_id)
    if opportunity.status != Opportunity.Status.OPEN:
        raise TransitionRefused(
            _("This opportunity is already closed (%(outcome)s); nothing more can be done with it.") % {"outcome": opportunity.get_status_display()},
            allowed=[], current=opportunity.status,
        )
    return opportunity


@transaction.atomic
def opportunity_record_attempt(*, opportunity_id: int, by, result: str, next_callback_at: datetime | None = None, notes: str = "") -> CallbackAttempt:
    opportunity = _open_opportunity(opportunity_id)
    if result == CallbackAttempt.Result.CALL_BACK_LATER and next_callback_at is None:
        raise ValidationError({"next_callback_at": [_("Agree a new callback time in the future.")]})
    # Any result may carry a new time ("reached, call me Friday"); a past one would be overdue at once.
    if next_callback_at is not None and next_callback_at <= timezone.now():
        raise ValidationError({"next_callback_at": [_("Agree a new callback time in the future.")]})
    attempt = CallbackAttempt(opportunity=opportunity, by=by, result=result, next_callback_at=next_callback_at, notes=(notes or "").strip())
    attempt.full_clean(exclude=["opportunity", "by"])
    attempt.save()
    if next_callback_at is not None:
        opportunity.callback_at = next_callback_at
        opportunity.overdue = False
        opportunity.overdue_notified_at = None
    if opportunity.assigned_to_id is None:
        opportunity.assigned_to = by
    opportunity.save()
    return attempt


@transaction.atomic
def opportunity_convert(*, opportunity_id: int, by, **order_fields) -> Order:
    """One action: the opportunity becomes an order through the normal routing."""
    opportunity = _open_opportunity(opportunity_id)
    order = order_submit(agent=by, customer=opportunity.customer, product=opportunity.product, channel=Channel.OUTBOUND, **order_fields)
    opportunity.status = Opportunity.Status.CONVERTED
    opportunity.order = order
    opportunity.closed_at = timezone.now()
    opportunity.save()
    return order


@transaction.atomic
def opportunity_close_lost(*, opportunity_id: int, by, reason: str) -> Opportunity:
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the opportunity was lost.")]})
    opportunity = _open_opportunity(opportunity_id)
    opportunity.status = Opportunity.Status.LOST
    opportunity.lost_reason = reason.strip()[:300]
    opportunity.closed_at = timezone.now()
    opportunity.save()
    return opportunity


@transaction.atomic
def opportunity_update(*, opportunity_id: int, by, callback_at: datetime, intent: str, notes: str = "") -> Opportunity:
    if callback_at is None:
        raise ValidationError({"callback_at": [_("Agree a callback time with the customer.")]})
    notes = _opportunity_notes(notes)
    opportunity = _open_opportunity(opportunity_id)
    # Forms edit to the minute: the same minute is the same agreement (keep the stored value, seconds and all).
    if callback_at.replace(second=0, microsecond=0) == opportunity.callback_at.replace(second=0, microsecond=0):
        callback_at = opportunity.callback_at
    else:
        # Moving the callback is a new agreement: it must lie ahead, and it starts a new overdue spell.
        if callback_at <= timezone.now():
            raise ValidationError({"callback_at": [_("The callback time cannot be in the past.")]})
        opportunity.overdue = False
        opportunity.overdue_notified_at = None
    opportunity.callback_at, opportunity.intent, opportunity.notes = callback_at, intent, notes
    opportunity.full_clean(exclude=["created_by", "contact", "assigned_to", "order"])
    opportunity.save()
    return opportunity


@transaction.atomic
def opportunity_delete(*, opportunity_id: int, by) -> None:
    if not by.has_perm("orders.delete_opportunity"):
        raise PermissionDenied(_("Your role may not delete opportunities."))
    deleted, _rows = Opportunity.objects.filter(pk=opportunity_id).delete()
    if not deleted:
        raise Opportunity.DoesNotExist(_("No such opportunity."))


def opportunities_mark_overdue(*, now: datetime | None = None) -> int:
    """Mark callbacks past due and tell the outbound team lead once per overdue spell."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Opportunity.objects.select_for_update(skip_locked=True)
            .filter(status=Opportunity.Status.OPEN, callback_at__lt=now, overdue=False)
            .values_list("id", flat=True)
        )
        if not ids:
            return 0
        Opportunity.objects.filter(pk__in=ids).update(overdue=True, overdue_notified_at=now)
        from django.urls import reverse

        from servicedesk.notices import staff_notice_for_role

        staff_notice_for_role(
            role="outbound",
            lead_only=True,
            key=f"opportunities-overdue:{now:%Y%m%d%H%M}:{ids[0]}",
            text=_("%(count)s callbacks are overdue.") % {"count": len(ids)},
            url=reverse("orders:outbound"),
        )
    return len(ids)
