"""The orders app's part of the self-service halls: the orders section, and sales from the IVR and the
app hall, which follow the product's routing like any other and are recorded with their channel."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import selfservice as orders_selfservice
from orders.models import (
    Flow,
    NumberStatus,
    Opportunity,
    Order,
    OrderStatus,
    PoolNumber,
)
from servicedesk import selfservice
from servicedesk.models import Channel, Contact, ContactLink, OutboxMessage, Outcome
from servicedesk.roles import Role
from tests.factories import (
    CustomerFactory,
    PoolNumberFactory,
    ProductFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/self-service/orders/"
LINE = "13800138000"
TOMORROW = timezone.localdate() + timedelta(days=1)


@pytest.fixture
def ivr(api_for):
    return api_for(Role.API_CLIENT)


@pytest.fixture
def customer(db):
    return SubscriptionFactory(service_number=LINE).customer


def test_a_direct_product_from_the_ivr_is_provisioned_and_recorded_with_channel_ivr(ivr, customer):
    product = ProductFactory(direct=True, code="VAS-MUSIC", name="Music pack")

    response = ivr.post(URL, {"channel": "ivr", "customer": customer.pk, "product": product.code, "service_number": LINE}, format="json")

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.flow, order.channel, order.created_by_id) == (Flow.DIRECT, Channel.IVR, ivr.user.pk)
    assert OutboxMessage.objects.filter(kind="billing.provision", key=f"order:{order.pk}:provision").exists()
    contact = Contact.objects.get()
    assert (contact.channel, contact.customer_id, contact.agent, contact.outcome) == (Channel.IVR, customer.pk, None, Outcome.ORDER_OPENED)
    assert contact.reason == "Order: Music pack" and contact.service_number == LINE
    assert order.contact_id == contact.pk and ContactLink.objects.get(contact=contact).target == order
    body = response.json()
    assert body["id"] == order.pk and body["channel"] == "ivr" and body["flow"] == "direct" and body["contact"] == contact.pk


def test_a_sim_from_the_app_hall_waits_in_the_back_office_queue(ivr, customer):
    product = ProductFactory(sim=True, code="SIM-5G", price=Decimal("50.00"))
    number = PoolNumberFactory(number="18600000001")

    response = ivr.post(URL, {
        "channel": "app_hall", "customer": customer.pk, "product": product.code, "pool_number": number.number,
        "delivery_address": "天津市和平区南京路100号", "appointment_date": TOMORROW.isoformat(), "appointment_slot": "morning",
        "reason": "Wants a second SIM",
    }, format="json")

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.flow, order.status, order.channel) == (Flow.BACK_OFFICE, OrderStatus.SUBMITTED, Channel.APP_HALL)
    assert order.accept_by is not None
    assert PoolNumber.objects.get(pk=number.pk).status == NumberStatus.RESERVED
    assert not OutboxMessage.objects.filter(kind="billing.provision").exists()
    contact = Contact.objects.get()
    assert (contact.channel, contact.reason) == (Channel.APP_HALL, "Wants a second SIM")
    assert response.json()["delivery_address"] == "天津市和平区****"  # the client's role sees it masked


def test_a_deferred_product_from_the_ivr_becomes_a_callback_linked_to_the_ivr_contact(ivr, customer):
    product = ProductFactory(deferred=True, code="BB-UP", name="Broadband upgrade")
    callback_at = timezone.now() + timedelta(days=1)

    response = ivr.post(URL, {
        "channel": "ivr", "customer": customer.pk, "product": product.code, "callback_at": callback_at.isoformat(), "intent": "high",
    }, format="json")

    assert response.status_code == 202, response.json()
    assert not Order.objects.exists()
    opportunity = Opportunity.objects.get()
    contact = Contact.objects.get()
    assert (contact.channel, contact.outcome) == (Channel.IVR, Outcome.OPPORTUNITY)
    assert opportunity.contact_id == contact.pk and ContactLink.objects.get(contact=contact).target == opportunity
    assert response.json()["opportunity"] == opportunity.pk and response.json()["contact"] == contact.pk


@pytest.mark.parametrize("change, field", [
    ({"channel": "hotline"}, "channel"),
    ({"channel": ""}, "channel"),
    ({"product": "NO-SUCH"}, "product"),
    ({"customer": 999999}, "customer"),
    ({"service_number": "13999999999"}, "service_number"),
    ({"service_number": ""}, "service_number"),
])
def test_a_bad_sale_is_400_naming_the_field_and_writes_nothing(ivr, customer, change, field):
    product = ProductFactory(direct=True, code="VAS-1")
    body = {"channel": "ivr", "customer": customer.pk, "product": product.code, "service_number": LINE, **change}

    response = ivr.post(URL, body, format="json")

    assert response.status_code == 400 and field in response.json()["detail"], response.json()
    assert not Order.objects.exists() and not Contact.objects.exists()


def test_a_retried_sale_is_one_order_and_one_contact(ivr, customer):
    product = ProductFactory(direct=True, code="VAS-1")
    body = {"channel": "ivr", "customer": customer.pk, "product": product.code, "service_number": LINE}

    first = ivr.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="ivr-call-7")
    again = ivr.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="ivr-call-7")

    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Order.objects.count() == 1 and Contact.objects.count() == 1


def test_only_api_clients_may_sell_here(api_for, customer):
    product = ProductFactory(direct=True, code="VAS-1")

    response = api_for(Role.AGENT).post(URL, {"channel": "ivr", "customer": customer.pk, "product": product.code}, format="json")

    assert response.status_code == 403 and not Order.objects.exists()


# --- The orders section --------------------------------------------------------------------------

def test_the_orders_section_lists_the_customers_recent_orders_newest_first(customer, ivr):
    product = ProductFactory(direct=True, code="VAS-1", name="Music pack")
    for _ in range(2):
        ivr.post(URL, {"channel": "ivr", "customer": customer.pk, "product": product.code, "service_number": LINE}, format="json")
    Order.objects.filter(pk=Order.objects.order_by("id").first().pk).update(status=OrderStatus.COMPLETED)
    other = CustomerFactory()
    SubscriptionFactory(customer=other)

    section = selfservice.section("orders")
    everything = section.items(customer, False)
    still_open = section.items(customer, True)

    first, second = Order.objects.order_by("id")
    assert [i.id for i in everything] == [second.pk, first.pk]
    assert [i.id for i in still_open] == [second.pk]
    assert everything[1].state == "Completed" and everything[1].open is False
    assert everything[0].title == f"Order #{second.pk} Music pack" and everything[0].data["channel"] == "ivr"
    assert section.item(customer, first.pk).id == first.pk
    assert section.item(other, first.pk) is None
    assert section.items(other, False) == []


def test_the_section_is_registered_in_order(db):
    assert [s.key for s in selfservice.sections()][:1] == ["orders"]
    assert selfservice.section("orders").item is orders_selfservice.order_item_of
