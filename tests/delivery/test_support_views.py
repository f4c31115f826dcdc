"""The delivery support desk: lookup by each key, the shipment page, and each action allowed or
refused by state, role and input."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.models import Shipment, ShipmentStatus, ShipmentTransition, StockLevel
from delivery.services import support
from orders.models import NumberStatus, Order, OrderStatus
from servicedesk.models import OutboxMessage, SmsMessage
from tests.delivery.support_helpers import make_shipment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = ShipmentStatus
LINE = "13912345678"
NEW_NUMBER = "18612348888"
IN_THREE_DAYS = timezone.localdate() + timedelta(days=3)


@pytest.fixture
def clerk(client, make_user):
    user = make_user("delivery_clerk")
    client.force_login(user)
    return user


def url(name, shipment):
    return reverse(f"delivery:{name}", args=[shipment.pk])


def fresh(shipment) -> Shipment:
    return Shipment.objects.select_related("order__pool_number").get(pk=shipment.pk)


def on_hand(shipment) -> tuple[int, int]:
    level = StockLevel.objects.get(warehouse=shipment.warehouse_id)
    return level.on_hand, level.reserved


# --- lookup ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["order", "#order", "tracking", "tracking_lower", "line", "line_spaced", "new_number"])
def test_one_search_box_finds_the_shipment_by_order_tracking_or_service_number(client, clerk, key):
    # given a shipment with the carrier, and another customer's
    shipment = make_shipment(S.HANDED_TO_CARRIER, line=LINE, new_number=NEW_NUMBER)
    make_shipment(S.HANDED_TO_CARRIER)
    query = {
        "order": str(shipment.order_id), "#order": f"#{shipment.order_id}", "tracking": shipment.tracking_number,
        "tracking_lower": shipment.tracking_number.lower(), "line": LINE, "line_spaced": "139 1234 5678", "new_number": NEW_NUMBER,
    }[key]

    # when the clerk searches for what the customer quotes
    response = client.get(reverse("delivery:support"), {"q": query})

    # then the one shipment opens at once
    assert response.status_code == 302
    assert response["Location"] == url("shipment", shipment)


def test_a_customer_with_several_shipments_gets_a_list(client, clerk):
    # given a customer whose first shipment was returned and who has a new one
    first = make_shipment(S.RETURNED, line=LINE)
    second = make_shipment(S.CREATED, customer=first.order.customer)

    # when the clerk searches by the customer's line
    response = client.get(reverse("delivery:support"), {"q": LINE})

    # then both are listed, the newest first, and it says how they were found
    assert response.status_code == 200
    assert [s.pk for s in response.context["page"].object_list] == [second.pk, first.pk]
    assert response.context["found_by"] == ["service number"]


@pytest.mark.parametrize("query, expected", [
    ("99999", "No shipment found"),
    ("SF0000000000", "No shipment found"),
    ("13800000000", "No shipment found"),
    ("!!!", "Enter an order number, a tracking number or a service number."),
    ("x" * 100, "at most 60 characters"),
])
def test_a_lookup_that_finds_nothing_says_so(client, clerk, query, expected):
    make_shipment(S.CREATED)
    response = client.get(reverse("delivery:support"), {"q": query})
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_an_empty_search_explains_what_to_ask_for(client, clerk):
    response = client.get(reverse("delivery:support"))
    assert response.status_code == 200
    assert "Ask the customer for the order number" in response.content.decode()


@pytest.mark.parametrize("role, status", [
    ("delivery_clerk", 200), ("back_office", 200), ("admin", 200),
    ("agent", 403), ("manager", 403), ("account_clerk", 403), ("area_manager", 403),
])
def test_the_desk_is_for_roles_with_support_shipment(client, make_user, role, status):
    shipment = make_shipment(S.CREATED)
    client.force_login(make_user(role))
    assert client.get(reverse("delivery:support"), {"q": str(shipment.order_id)}).status_code in ((302,) if status == 200 else (403,))
    assert client.get(url("shipment", shipment)).status_code == status
    response = client.post(url("shipment_appointment", shipment), {"date": IN_THREE_DAYS.isoformat(), "slot": "morning"})
    assert response.status_code == (302 if status == 200 else 403)


def test_anonymous_users_are_sent_to_log_in(client):
    shipment = make_shipment(S.CREATED)
    response = client.get(url("shipment", shipment))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_shipment_is_404(client, clerk):
    assert client.get(reverse("delivery:shipment", args=[999999])).status_code == 404
    assert client.post(reverse("delivery:shipment_cancel", args=[999999]), {"reason": "x"}).status_code == 404


def test_actions_take_posts_only(client, clerk):
    shipment = make_shipment(S.CREATED)
    assert client.get(url("shipment_cancel", shipment)).status_code == 405


# --- the shipment page ------------------------------------------------------------------------

def test_the_shipment_page_shows_status_carrier_appointment_history_and_sms(client, clerk):
    # given a shipment that went out and failed once (two SMS sent)
    shipment = make_shipment(S.FAILED, line=LINE)

    # when the clerk opens it
    response = client.get(url("shipment", shipment))

    # then it shows where it is, with whom, when, what happened and what the customer was told
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["shipment"].get_status_display() == "Delivery failed"
    assert "SF Express" in page and shipment.tracking_number in page
    assert shipment.appointment_date.strftime("%Y-%m-%d") in page
    steps = [row["what"] for row in response.context["history"]]
    assert steps == ["Shipment created", "Picked", "Handed to the carrier", "Out for delivery", "Delivery failed"]
    assert [row["message"].template for row in response.context["sms"]] == ["delivery.failed", "delivery.before_delivery"]
    assert f'data-testid="notices-to">{LINE}<' in page  # where the SMS go; the clerk talks to the customer: whole numbers


def test_carrier_events_are_part_of_the_history(client, clerk):
    from delivery.models import TrackingEvent

    shipment = make_shipment(S.HANDED_TO_CARRIER)
    TrackingEvent.objects.create(
        carrier=shipment.carrier, event_id="e1", shipment=shipment, code=TrackingEvent.Code.IN_TRANSIT,
        occurred_at=timezone.now(), applied=False,
    )
    history = client.get(url("shipment", shipment)).context["history"]
    assert history[-1]["source"] == "event" and history[-1]["what"] == "In transit"


@pytest.mark.parametrize("status, shown", [
    (S.CREATED, ["appointment", "urgent_activation", "cancel"]),
    (S.PICKED, ["appointment", "urgent_activation", "cancel"]),
    (S.HANDED_TO_CARRIER, ["appointment", "urgent_activation", "refusal"]),
    (S.OUT_FOR_DELIVERY, ["urgent_activation", "refusal"]),
    (S.FAILED, ["appointment", "urgent_activation", "refusal"]),
    (S.DELIVERED, []),
    (S.RETURNED, []),
    (S.CANCELLED, []),
])
def test_only_the_actions_the_state_allows_are_offered_and_the_others_say_why_not(client, clerk, status, shown):
    shipment = make_shipment(status)
    response = client.get(url("shipment", shipment))
    assert response.context["actions"] == shown
    assert {action for action, _label, _why in response.context["not_now"]} == set(support.ACTIONS) - set(shown)
    page = response.content.decode()
    assert ('data-testid="no-actions"' in page) == (not shown)


def test_back_office_is_not_offered_the_refusal_which_moves_the_shipment(client, make_user):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    client.force_login(make_user("back_office"))
    assert client.get(url("shipment", shipment)).context["actions"] == ["urgent_activation"]
    response = client.post(url("shipment_refusal", shipment), {"reason": "does not want it"})
    assert response.status_code == 403
    assert fresh(shipment).status == S.OUT_FOR_DELIVERY


# --- changing the appointment -----------------------------------------------------------------

@pytest.mark.parametrize("status", [S.CREATED, S.PICKED, S.HANDED_TO_CARRIER, S.FAILED])
def test_the_appointment_changes_on_the_shipment_and_the_order_and_the_customer_is_told(client, clerk, status, django_capture_on_commit_callbacks):
    shipment = make_shipment(status, line=LINE)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("shipment_appointment", shipment), {"date": IN_THREE_DAYS.isoformat(), "slot": "evening"})

    assert response.status_code == 302 and response["Location"] == url("shipment", shipment)
    shipment = fresh(shipment)
    assert (shipment.appointment_date, shipment.appointment_slot) == (IN_THREE_DAYS, "evening")
    order = Order.objects.get(pk=shipment.order_id)
    assert (order.appointment_date, order.appointment_slot) == (IN_THREE_DAYS, "evening")
    change = ShipmentTransition.objects.filter(shipment=shipment, transition="change_appointment").get()
    assert change.by == clerk
    message = SmsMessage.objects.get(key=f"shipment:{shipment.pk}:appointment_changed:{shipment.attempts}:{change.pk}")
    assert message.to_number == LINE and f"{IN_THREE_DAYS.month}月{IN_THREE_DAYS.day}日 18:00–21:00" in message.body
    assert message.status == SmsMessage.Status.SENT


def test_each_change_of_the_appointment_is_its_own_sms(client, clerk):
    shipment = make_shipment(S.CREATED)
    client.post(url("shipment_appointment", shipment), {"date": IN_THREE_DAYS.isoformat(), "slot": "evening"})
    client.post(url("shipment_appointment", shipment), {"date": IN_THREE_DAYS.isoformat(), "slot": "morning"})
    assert SmsMessage.objects.filter(template="delivery.appointment_changed").count() == 2


@pytest.mark.parametrize("status, why", [
    (S.OUT_FOR_DELIVERY, "The courier is already on the way"),
    (S.DELIVERED, "delivered and signed for"),
    (S.RETURNED, "The shipment is closed (“Returned to stock”)"),
    (S.CANCELLED, "The shipment is closed (“Cancelled”)"),
])
def test_the_appointment_cannot_change_once_the_courier_is_out_or_the_shipment_is_closed(client, clerk, status, why):
    shipment = make_shipment(status)
    before = (shipment.appointment_date, shipment.appointment_slot)

    response = client.post(url("shipment_appointment", shipment), {"date": IN_THREE_DAYS.isoformat(), "slot": "evening"})

    assert response.status_code == 409
    assert why in response.context["refused"]["message"]
    assert (fresh(shipment).appointment_date, fresh(shipment).appointment_slot) == before
    assert not SmsMessage.objects.filter(template="delivery.appointment_changed").exists()


@pytest.mark.parametrize("data, field, message", [
    ({"date": "2001-01-01", "slot": "morning"}, "date", "cannot be in the past"),
    ({"date": "not a date", "slot": "morning"}, "date", "Enter a valid date"),
    ({"date": "", "slot": "morning"}, "date", "required"),
    ({"date": "+99999-01-01", "slot": "morning"}, "date", "Enter a valid date"),
    ({"slot": "morning"}, "date", "required"),
    ({"date": "2999-01-01", "slot": "morning"}, "date", "at most 30 days ahead"),
    ({"date": IN_THREE_DAYS.isoformat(), "slot": "midnight"}, "slot", "Select a valid choice"),
    ({"date": IN_THREE_DAYS.isoformat()}, "slot", "required"),
])
def test_a_bad_appointment_is_explained_and_changes_nothing(client, clerk, data, field, message):
    shipment = make_shipment(S.CREATED)
    before = (shipment.appointment_date, shipment.appointment_slot)

    response = client.post(url("shipment_appointment", shipment), data)

    assert response.status_code == 422
    assert message in " ".join(response.context["appointment_form"].errors[field])
    assert (fresh(shipment).appointment_date, fresh(shipment).appointment_slot) == before
    assert not ShipmentTransition.objects.filter(transition="change_appointment").exists()


def test_the_same_appointment_again_is_not_a_change(client, clerk):
    shipment = make_shipment(S.CREATED)
    response = client.post(url("shipment_appointment", shipment), {"date": shipment.appointment_date.isoformat(), "slot": shipment.appointment_slot})
    assert response.status_code == 422
    assert "already the appointment" in response.content.decode()


# --- urgent activation ------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.CREATED, S.HANDED_TO_CARRIER, S.OUT_FOR_DELIVERY, S.FAILED])
def test_urgent_activation_asks_billing_to_activate_the_order_now(client, clerk, status, django_capture_on_commit_callbacks):
    shipment = make_shipment(status)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("shipment_urgent_activation", shipment), {"reason": "needs the line for work"})

    assert response.status_code == 302
    order = Order.objects.get(pk=shipment.order_id)
    assert order.urgent_activation
    assert order.status == OrderStatus.ACTIVATED  # billing (simulated) confirmed after commit
    assert OutboxMessage.objects.filter(key=f"order:{order.pk}:urgent").exists()
    assert ShipmentTransition.objects.filter(shipment=shipment, transition="request_urgent_activation", reason="needs the line for work").exists()


@pytest.mark.parametrize("status, why", [
    (S.DELIVERED, "delivered and signed for"),
    (S.RETURNED, "The shipment is closed"),
    (S.CANCELLED, "The shipment is closed"),
])
def test_urgent_activation_is_refused_once_the_shipment_is_over(client, clerk, status, why):
    shipment = make_shipment(status)
    response = client.post(url("shipment_urgent_activation", shipment), {"reason": ""})
    assert response.status_code == 409 and why in response.context["refused"]["message"]
    assert not Order.objects.get(pk=shipment.order_id).urgent_activation


def test_urgent_activation_is_asked_for_once(client, clerk):
    shipment = make_shipment(S.CREATED)
    client.post(url("shipment_urgent_activation", shipment), {"reason": ""})
    response = client.post(url("shipment_urgent_activation", shipment), {"reason": ""})
    assert response.status_code == 409
    assert "already requested" in response.context["refused"]["message"]


# --- cancelling -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.CREATED, S.PICKED])
def test_cancelling_before_hand_over_cancels_the_order_and_releases_stock_and_number(client, clerk, status):
    shipment = make_shipment(status, new_number=NEW_NUMBER)
    assert on_hand(shipment) == (1, 1)

    response = client.post(url("shipment_cancel", shipment), {"reason": "bought one in a shop"})

    assert response.status_code == 302
    shipment = fresh(shipment)
    assert shipment.status == S.CANCELLED and shipment.failure_reason == "bought one in a shop"
    assert shipment.order.status == OrderStatus.CANCELLED
    assert shipment.order.pool_number.status == NumberStatus.AVAILABLE
    assert on_hand(shipment) == (1, 0)


@pytest.mark.parametrize("status, why", [
    (S.HANDED_TO_CARRIER, "record the customer's refusal instead"),
    (S.OUT_FOR_DELIVERY, "record the customer's refusal instead"),
    (S.FAILED, "record the customer's refusal instead"),
    (S.DELIVERED, "delivered and signed for"),
    (S.RETURNED, "The shipment is closed"),
    (S.CANCELLED, "The shipment is closed"),
])
def test_cancelling_is_refused_once_the_carrier_has_it(client, clerk, status, why):
    shipment = make_shipment(status)
    order_status = shipment.order.status

    response = client.post(url("shipment_cancel", shipment), {"reason": "changed mind"})

    assert response.status_code == 409
    assert why in response.context["refused"]["message"]
    assert (fresh(shipment).status, fresh(shipment).order.status) == (status, order_status)


def test_a_cancel_after_urgent_activation_is_refused_and_changes_nothing(client, clerk, django_capture_on_commit_callbacks):
    # given a shipment whose line billing has activated urgently
    shipment = make_shipment(S.CREATED)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("shipment_urgent_activation", shipment), {"reason": ""})
    assert Order.objects.get(pk=shipment.order_id).status == OrderStatus.ACTIVATED

    # when the clerk tries to cancel it
    response = client.post(url("shipment_cancel", shipment), {"reason": "changed mind"})

    # then it is refused, sending it to the back office, and nothing changed
    assert response.status_code == 409
    assert "the back office must close it in billing" in response.context["refused"]["message"]
    assert (fresh(shipment).status, fresh(shipment).order.status) == (S.CREATED, OrderStatus.ACTIVATED)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_a_cancel_needs_a_reason(client, clerk, reason):
    shipment = make_shipment(S.CREATED)
    response = client.post(url("shipment_cancel", shipment), {"reason": reason})
    assert response.status_code == 422
    assert response.context["cancel_form"].errors["reason"]
    assert fresh(shipment).status == S.CREATED


# --- recording a refusal ----------------------------------------------------------------------

@pytest.mark.parametrize("status, steps", [
    (S.OUT_FOR_DELIVERY, ["fail", "return_to_stock"]),
    (S.FAILED, ["return_to_stock"]),
    (S.HANDED_TO_CARRIER, ["return_to_stock"]),
])
def test_a_refusal_fails_the_delivery_returns_the_stock_and_cancels_the_order(client, clerk, status, steps):
    shipment = make_shipment(status, new_number=NEW_NUMBER)
    assert on_hand(shipment) == (0, 0)  # with the carrier
    recorded = ShipmentTransition.objects.filter(shipment=shipment).count()
    sms_before = SmsMessage.objects.count()

    response = client.post(url("shipment_refusal", shipment), {"reason": "does not want it any more"})

    assert response.status_code == 302
    shipment = fresh(shipment)
    assert shipment.status == S.RETURNED
    assert shipment.failure_reason == "Refused by the customer: does not want it any more"
    new_steps = ShipmentTransition.objects.filter(shipment=shipment).order_by("id")[recorded:]
    assert [t.transition for t in new_steps] == steps
    assert shipment.order.status == OrderStatus.CANCELLED
    assert shipment.order.pool_number.status == NumberStatus.AVAILABLE
    assert on_hand(shipment) == (1, 0)
    assert SmsMessage.objects.count() == sms_before  # no "we will try again" SMS after a refusal


@pytest.mark.parametrize("status, why", [
    (S.CREATED, "cancel it instead"),
    (S.PICKED, "cancel it instead"),
    (S.DELIVERED, "delivered and signed for"),
    (S.RETURNED, "The shipment is closed"),
    (S.CANCELLED, "The shipment is closed"),
])
def test_a_refusal_is_refused_before_the_carrier_has_it_and_once_closed(client, clerk, status, why):
    shipment = make_shipment(status)
    response = client.post(url("shipment_refusal", shipment), {"reason": "does not want it"})
    assert response.status_code == 409 and why in response.context["refused"]["message"]
    assert fresh(shipment).status == status


def test_a_refusal_once_urgent_activation_is_under_way_goes_to_the_back_office(client, clerk):
    # given urgent activation requested, billing not yet done
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    client.post(url("shipment_urgent_activation", shipment), {"reason": ""})

    # when the customer refuses at the door
    response = client.post(url("shipment_refusal", shipment), {"reason": "does not want it"})

    # then it is refused: the line may be live in billing already
    assert response.status_code == 409
    assert "the back office must close it in billing" in response.context["refused"]["message"]
    assert fresh(shipment).status == S.OUT_FOR_DELIVERY


def test_a_refusal_needs_a_reason(client, clerk):
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    response = client.post(url("shipment_refusal", shipment), {"reason": ""})
    assert response.status_code == 422
    assert fresh(shipment).status == S.OUT_FOR_DELIVERY


# --- the services directly --------------------------------------------------------------------

def test_services_check_the_role_before_the_state():
    from django.core.exceptions import PermissionDenied

    shipment = make_shipment(S.DELIVERED)
    agent = UserFactory(roles=["agent"])
    for call in (
        lambda: support.shipment_change_appointment(shipment_id=shipment.pk, date=IN_THREE_DAYS, slot="morning", by=agent),
        lambda: support.shipment_request_urgent_activation(shipment_id=shipment.pk, by=agent),
        lambda: support.shipment_cancel(shipment_id=shipment.pk, reason="x", by=agent),
        lambda: support.shipment_record_refusal(shipment_id=shipment.pk, reason="x", by=agent),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_a_refused_action_names_the_states_allowed_next():
    from servicedesk.fsm import TransitionRefused

    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    with pytest.raises(TransitionRefused) as refused:
        support.shipment_cancel(shipment_id=shipment.pk, reason="x", by=UserFactory(roles=["delivery_clerk"]))
    assert refused.value.current == S.OUT_FOR_DELIVERY
    assert set(refused.value.allowed) == {S.DELIVERED, S.FAILED, S.RETURNED}


def test_an_unknown_shipment_is_does_not_exist():
    with pytest.raises(Shipment.DoesNotExist):
        support.shipment_cancel(shipment_id=424242, reason="x", by=UserFactory(roles=["delivery_clerk"]))


def test_the_refusal_moves_with_the_clerk_who_recorded_it():
    shipment = make_shipment(S.OUT_FOR_DELIVERY)
    clerk = UserFactory(roles=["delivery_clerk"])
    support.shipment_record_refusal(shipment_id=shipment.pk, reason="wrong colour", by=clerk)
    assert set(ShipmentTransition.objects.filter(shipment=shipment, transition__in=["fail", "return_to_stock"]).values_list("by", flat=True)) == {clerk.pk}
