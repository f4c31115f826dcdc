"""Writes of the core domain."""
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import webhooks
from .models import Channel, Contact, ContactLink, Customer, Outcome, Subscription
from .phones import normalize_service_number
from .selectors import customers_visible_to


@transaction.atomic
def contact_record(
    *,
    agent,
    channel: str = Channel.HOTLINE,
    reason: str,
    customer: Customer | None = None,
    service_number: str = "",
    business: str = "",
    outcome: str = Outcome.RESOLVED,
    notes: str = "",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> Contact:
    """Record one interaction. The customer is found from the service number when not given."""
    if service_number:
        service_number = normalize_service_number(service_number)
    if customer is None and service_number:
        subscription = Subscription.objects.select_related("customer").filter(service_number=service_number).first()
        customer = subscription.customer if subscription else None
    if customer is not None and agent is not None and not customers_visible_to(agent).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You may not record contacts for this customer."))
    if customer is None and not service_number:
        raise ValidationError({"service_number": _("Give the customer or the service number the contact was about.")})
    if service_number and customer is not None and not customer.subscriptions.filter(service_number=service_number).exists():
        raise ValidationError({"service_number": _("This service number does not belong to the customer.")})
    if not service_number and customer is not None:
        first = customer.subscriptions.order_by("service_number").first()
        service_number = first.service_number if first else ""
    now = timezone.now()
    contact = Contact(
        customer=customer,
        channel=channel,
        service_number=service_number,
        reason=(reason or "").strip(),
        business=(business or "").strip(),
        outcome=outcome,
        notes=(notes or "").strip(),
        agent=agent,
        started_at=started_at or now,
        ended_at=ended_at or (None if started_at else now),
    )
    contact.full_clean()
    contact.save()
    webhooks.contact_created(contact)
    return contact


@transaction.atomic
def contact_link(*, contact: Contact, target: models.Model, label: str = "") -> ContactLink:
    """Attach what a contact produced (an order, a complaint, an opportunity)."""
    link, _created = ContactLink.objects.get_or_create(
        contact=contact,
        content_type=ContentType.objects.get_for_model(target),
        object_id=target.pk,
        defaults={"label": label or str(target)[:100]},
    )
    return link
