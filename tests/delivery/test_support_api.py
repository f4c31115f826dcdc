"""The delivery support desk over the API: look a shipment up, then change the appointment,
request urgent activation, cancel or record a refusal, each only where it makes sense."""
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import ShipmentStatus
from orders.models import OrderStatus
from servicedesk.models import SmsMessage
from tests.delivery.support_helpers import make_shipment

pytestmark = pytest.mark.django_db


def url(shipment, action=""):
    return f"/api/v1/shipments/{shipment.pk}/" + (f"{action}/" if action else "")


def test_a_clerk_finds_the_shipment_by_tracking_number_and_moves_the_appointment(api_for, django_capture_on_commit_callbacks):
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER)
    desk = api_for("delivery_clerk")
    found = desk.get("/api/v1/shipments/", {"tracking_number": shipment.tracking_number}).json()["results"]
    assert [s["id"] for s in found] == [shipment.pk]

    new_day = timezone.localdate() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(url(shipment, "appointment"), {"appointment_date": new_day.isoformat(), "appointment_slot": "evening"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["appointment_date"], response.json()["appointment_slot"]) == (new_day.isoformat(), "evening")
    shipment.order.refresh_from_db()
    assert shipment.order.appointment_date == new_day
    assert SmsMessage.objects.filter(template__endswith="appointment_changed").exists()


def test_cancel_before_hand_over_cancels_the_order_and_after_it_is_refused_with_409(api_for):
    desk = api_for("delivery_clerk")
    early = make_shipment(ShipmentStatus.PICKED)
    response = desk.post(url(early, "cancel"), {"reason": "customer changed their mind"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == ShipmentStatus.CANCELLED
    early.order.refresh_from_db()
    assert early.order.status == OrderStatus.CANCELLED

    late = make_shipment(ShipmentStatus.OUT_FOR_DELIVERY)
    refused = desk.post(url(late, "cancel"), {"reason": "too late"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "transition_not_allowed"
    late.refresh_from_db()
    assert late.status == ShipmentStatus.OUT_FOR_DELIVERY


def test_a_refusal_at_the_door_returns_the_shipment_and_cancels_the_order(api_for):
    shipment = make_shipment(ShipmentStatus.OUT_FOR_DELIVERY)
    desk = api_for("delivery_clerk")
    assert desk.post(url(shipment, "refusal"), {}, format="json").status_code == 400  # a reason is needed
    response = desk.post(url(shipment, "refusal"), {"reason": "refused at the door"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == ShipmentStatus.RETURNED
    shipment.order.refresh_from_db()
    assert shipment.order.status == OrderStatus.CANCELLED


def test_urgent_activation_goes_to_billing(api_for, django_capture_on_commit_callbacks):
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for("delivery_clerk").post(url(shipment, "urgent-activation"), {"reason": "VIP travels tonight"}, format="json")
    assert response.status_code == 200
    shipment.order.refresh_from_db()
    assert shipment.order.urgent_activation and shipment.order.status == OrderStatus.ACTIVATED


@pytest.mark.parametrize("role, expected", [("agent", 403), ("account_clerk", 403), ("area_manager", 404)])
def test_roles_without_the_desk_cannot_act(api_for, role, expected):
    shipment = make_shipment(ShipmentStatus.PICKED)
    response = api_for(role).post(url(shipment, "cancel"), {"reason": "x"}, format="json")
    assert response.status_code == expected
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKED
