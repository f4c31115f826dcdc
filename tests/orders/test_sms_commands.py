"""The SMS hall's ORDER command: the sender's own orders only, status and next step, in the
sender's language; a contact linked to the order on the timeline."""
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Flow, OrderStatus
from orders.sms_commands import next_step
from servicedesk.models import ContactLink, InboundSms
from tests.factories import OrderFactory, ProductCategoryFactory, ProductFactory, SubscriptionFactory
from tests.sms_hall import NUMBER, receive

@pytest.fixture
def customer(db):
    return SubscriptionFactory(service_number=NUMBER).customer


def test_order_alone_answers_about_the_latest_order(customer):
    # given
    OrderFactory(customer=customer, product=ProductFactory(name="Old bundle"), submitted_at=timezone.now() - timedelta(days=3))
    latest = OrderFactory(customer=customer, product=ProductFactory(name="5G SIM 129"), status=OrderStatus.ACCEPTED)
    # when
    inbound = receive("ORDER")
    # then
    assert inbound.outcome == InboundSms.Outcome.ANSWERED
    assert inbound.reply.startswith(f"Order #{latest.pk}, 5G SIM 129: Accepted.")
    assert "courier" in inbound.reply  # the next step
    assert inbound.contact.outcome == "resolved" and not inbound.contact.awaiting_agent
    assert ContactLink.objects.get(contact=inbound.contact).target == latest


@pytest.mark.parametrize("text", ["ORDER {id}", "order #{id}", "订单{id}", "DD {id}", "ＯＲＤＥＲ {id}"])
def test_order_with_a_number_answers_about_that_order(customer, text):
    # given
    wanted = OrderFactory(customer=customer, product=ProductFactory(name="Broadband 300M"), submitted_at=timezone.now() - timedelta(days=5))
    OrderFactory(customer=customer)
    # when
    inbound = receive(text.format(id=wanted.pk))
    # then
    assert (f"#{wanted.pk}" in inbound.reply or f"订单{wanted.pk}" in inbound.reply) and "Broadband 300M" in inbound.reply


def test_another_customers_order_is_not_found_and_nothing_of_it_is_told(customer):
    # given
    theirs = OrderFactory(product=ProductFactory(name="Secret handset"))
    # when
    inbound = receive(f"ORDER {theirs.pk}")
    # then
    assert inbound.reply.startswith("Not found")
    assert "Secret handset" not in inbound.reply
    assert not ContactLink.objects.filter(contact=inbound.contact).exists()


def test_a_customer_without_orders_is_told_so(customer):
    # when
    inbound = receive("ORDER")
    # then
    assert inbound.reply == "You have no orders with us."


@pytest.mark.parametrize("text", ["ORDER abc", "ORDER 12 13", "订单 x1"])
def test_a_malformed_order_command_gets_the_syntax(customer, text):
    # when
    inbound = receive(text)
    # then
    assert inbound.outcome == InboundSms.Outcome.MALFORMED
    assert "ORDER 1234" in inbound.reply or "订单1234" in inbound.reply


@pytest.mark.parametrize("text, language", [("ORDER", "en"), ("订单", "zh-hans"), ("DD", "zh-hans")])
def test_the_order_reply_is_in_the_language_of_the_keyword(customer, text, language):
    # given
    OrderFactory(customer=customer)
    # when
    inbound = receive(text)
    # then
    assert inbound.language == language


@pytest.mark.parametrize(
    "status, flow, expected",
    [
        (OrderStatus.SUBMITTED, Flow.BACK_OFFICE, "back office checks it"),
        (OrderStatus.SUBMITTED, Flow.DIRECT, "being switched on"),
        (OrderStatus.SUBMITTED, Flow.DEFERRED, "calls you back"),
        (OrderStatus.PROVISIONED, Flow.DIRECT, "active"),
        (OrderStatus.ACCEPTED, Flow.BACK_OFFICE, "courier"),
        (OrderStatus.HANDED_TO_DELIVERY, Flow.BACK_OFFICE, "send SHIP"),
        (OrderStatus.DELIVERED, Flow.BACK_OFFICE, "being activated"),
        (OrderStatus.ACTIVATED, Flow.BACK_OFFICE, "Your line is active"),
        (OrderStatus.COMPLETED, Flow.DIRECT, "nothing more to do"),
        (OrderStatus.CANCELLED, Flow.BACK_OFFICE, "Closed: changed my mind"),
        (OrderStatus.REJECTED, Flow.BACK_OFFICE, "Closed: changed my mind"),
    ],
)
def test_each_status_says_what_happens_next(db, status, flow, expected):
    # given
    order = OrderFactory(product=ProductFactory(category=ProductCategoryFactory(flow=flow)), status=status, closing_reason="changed my mind")
    # when
    text = next_step(order)
    # then
    assert expected in text
