"""Sending test SMS to the SMS hall, as the gateway hands them over."""
from itertools import count

from servicedesk.models import ContactLink, InboundSms
from servicedesk.sms_hall import sms_inbound_receive

NUMBER = "13912345678"
_ids = count(1)


def receive(text: str, number: str = NUMBER, *, message_id: str = "", received_at=None) -> InboundSms:
    """One inbound SMS answered by the hall (a fresh gateway message id unless one is given)."""
    inbound, _created = sms_inbound_receive(
        message_id=message_id or f"test-sms-{next(_ids)}", from_number=number, text=text, received_at=received_at,
    )
    return inbound


def linked(inbound: InboundSms):
    """What the contact the SMS became is linked to (an order, a shipment, a complaint), if anything."""
    link = ContactLink.objects.filter(contact=inbound.contact).first()
    return link.target if link else None
