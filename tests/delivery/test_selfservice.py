"""The delivery app's part of the self-service halls: the customer's shipments with tracking and progress,
and changing the appointment through the support desk's own rules."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from delivery.models import Shipment, ShipmentStatus, TrackingEvent
from delivery.selfservice import CHANGE_APPOINTMENT, change_appointment
from servicedesk import selfservice
from servicedesk.api.errors import Conflict
from servicedesk.models import Channel, Contact, ContactLink, User
from tests.delivery.support_helpers import make_shipment
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

LINE = "13912345678"


def asking(shipment, channel=Channel.WEB_HALL):
    return selfservice.ActionRequest(customer=shipment.order.customer, service_number=LINE, channel=channel)


@pytest.mark.parametrize("status, offered, note", [
    (ShipmentStatus.CREATED, True, ""),
    (ShipmentStatus.HANDED_TO_CARRIER, True, ""),
    (ShipmentStatus.FAILED, True, ""),
    (ShipmentStatus.OUT_FOR_DELIVERY, False, "already on the way"),
    (ShipmentStatus.DELIVERED, False, ""),
    (ShipmentStatus.CANCELLED, False, ""),
])
def test_the_appointment_change_is_offered_where_the_support_desk_allows_it(status, offered, note):
    shipment = make_shipment(status, line=LINE)

    item = selfservice.section("shipments").item(shipment.order.customer, shipment.pk)

    assert (CHANGE_APPOINTMENT in item.actions) is offered
    assert note in item.note and (item.note == "" or item.open)


def test_a_shipment_shows_carrier_tracking_appointment_and_progress_without_staff_names():
    shipment = make_shipment(ShipmentStatus.OUT_FOR_DELIVERY, line=LINE)
    TrackingEvent.objects.create(carrier=shipment.carrier, event_id="e1", shipment=shipment, code=TrackingEvent.Code.IN_TRANSIT,
                                 occurred_at=timezone.now(), applied=True)

    item = selfservice.section("shipments").item(shipment.order.customer, shipment.pk)

    fields = dict(item.fields)
    assert fields["Carrier"] == "SF Express" and fields["Tracking number"] == shipment.tracking_number
    assert fields["Appointment"].endswith("12:00–18:00")
    assert item.refs == {"order": shipment.order_id} and item.state == "Out for delivery"
    steps = [text for _at, text in item.events]
    assert steps[:3] == ["Shipment created", "Picked", "Handed to the carrier"] and "In transit" in steps
    clerk = shipment.transitions.exclude(by=None).first().by
    assert clerk.last_name not in str(item.as_json())


def test_only_the_customers_own_shipments_are_listed():
    mine = make_shipment(ShipmentStatus.PICKED, line=LINE)
    theirs = make_shipment(ShipmentStatus.PICKED)

    section = selfservice.section("shipments")

    assert [i.id for i in section.items(mine.order.customer, False)] == [mine.pk]
    assert section.item(mine.order.customer, theirs.pk) is None


def test_changing_the_appointment_goes_through_the_support_desk_and_records_the_contact():
    shipment = make_shipment(ShipmentStatus.PICKED, line=LINE)
    day = timezone.localdate() + timedelta(days=5)

    message = change_appointment(asking(shipment, Channel.APP_HALL), shipment.pk, {"date": day, "slot": "morning"})

    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.appointment_date, shipment.appointment_slot) == (day, "morning")
    assert f"order #{shipment.order_id}" in message
    contact = Contact.objects.get()
    assert (contact.channel, contact.agent, contact.customer_id) == (Channel.APP_HALL, None, shipment.order.customer_id)
    assert ContactLink.objects.get(contact=contact).label == f"Shipment of order #{shipment.order_id}"


def test_another_customers_shipment_does_not_exist_for_the_action():
    mine = make_shipment(ShipmentStatus.PICKED, line=LINE)
    theirs = make_shipment(ShipmentStatus.PICKED)

    with pytest.raises(Shipment.DoesNotExist):
        change_appointment(asking(mine), theirs.pk, {"date": timezone.localdate() + timedelta(days=2), "slot": "morning"})

    assert Shipment.objects.get(pk=theirs.pk).appointment_slot == "afternoon" and not Contact.objects.exists()


def test_a_refused_change_raises_the_support_desks_refusal_and_records_nothing():
    shipment = make_shipment(ShipmentStatus.OUT_FOR_DELIVERY, line=LINE)

    with pytest.raises(Conflict, match="already on the way"):
        change_appointment(asking(shipment), shipment.pk, {"date": timezone.localdate() + timedelta(days=2), "slot": "morning"})

    assert not Contact.objects.exists()


def test_the_halls_system_user_holds_only_what_the_actions_need():
    SubscriptionFactory()

    user = selfservice.selfservice_user()

    assert user.username == settings.SELF_SERVICE_USERNAME and not user.has_usable_password()
    assert not user.groups.exists() and not user.is_staff and not user.is_superuser
    assert user.has_perm("delivery.support_shipment") and user.has_perm("complaints.add_complaint")
    assert not user.has_perm("delivery.move_shipment") and not user.has_perm("orders.cancel_order")
    assert selfservice.selfservice_user().pk == user.pk and User.objects.filter(username=user.username).count() == 1
