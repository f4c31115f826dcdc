"""Selling from the console and the order page, through Django's test client."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders import services
from orders.models import Flow, NumberClass, NumberStatus, Opportunity, Order, OrderStatus
from servicedesk.models import ContactLink, OutboxMessage
from tests.factories import (
    ContactFactory, CustomerFactory, PoolNumberFactory, ProductCategoryFactory, ProductFactory, ServiceAreaFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent_client(client, make_user):
    user = make_user("agent")
    client.force_login(user)
    client.user = user
    return client


def sale_url(customer) -> str:
    return reverse("orders:sale", args=[customer.pk])


def sim_sale(product, number, **overrides) -> dict:
    data = {
        "product": product.pk, "pool_number": number.number, "delivery_address": "天津市和平区南京路100号3门501",
        "appointment_date": TOMORROW.isoformat(), "appointment_slot": "morning", "notes": "",
    }
    return {**data, **overrides}


def submitted_sim_order(agent, *, customer=None, **fields) -> Order:
    return services.order_submit(
        agent=agent, customer=customer or CustomerFactory(), product=ProductFactory(sim=True), pool_number=PoolNumberFactory().number,
        delivery_address="天津市和平区南京路100号3门501", appointment_date=TOMORROW, appointment_slot="morning", **fields,
    )


# --- the customer screen's hook -------------------------------------------------------

def test_customer_screen_offers_a_sale_to_an_agent(agent_client):
    subscription = SubscriptionFactory(service_number="13912345678")
    body = agent_client.get(reverse("console:customer", args=[subscription.customer_id]), {"number": "13912345678"}).content.decode()
    assert f'href="{sale_url(subscription.customer)}?number=13912345678"' in body


def test_customer_screen_offers_no_sale_to_a_role_that_cannot_sell(client, make_user):
    client.force_login(make_user("complaint_handler"))
    customer = CustomerFactory()
    body = client.get(reverse("console:customer", args=[customer.pk])).content.decode()
    assert sale_url(customer) not in body


# --- the sale form ------------------------------------------------------------------------

def test_sale_form_lists_products_on_sale_grouped_by_category(agent_client):
    # given two categories and a product that is off sale
    sims = ProductCategoryFactory(name="SIM cards")
    broadband = ProductCategoryFactory(name="Broadband", flow=Flow.DIRECT)
    ProductFactory(name="5G SIM", category=sims, sim=True)
    ProductFactory(name="Fibre 500M", category=broadband)
    ProductFactory(name="Old 3G SIM", category=sims, active=False)
    # when the agent opens the sale form
    response = agent_client.get(sale_url(CustomerFactory()))
    body = response.content.decode()
    # then products are grouped under their category and only those on sale are offered
    assert response.status_code == 200
    assert '<optgroup label="SIM cards">' in body and '<optgroup label="Broadband">' in body
    assert "5G SIM" in body and "Fibre 500M" in body
    assert "Old 3G SIM" not in body


def test_picking_a_sim_shows_the_number_picker_and_the_prefilled_address(agent_client):
    customer = CustomerFactory(address="天津市和平区南京路100号3门501")
    product = ProductFactory(sim=True)
    PoolNumberFactory(number="18600008888", number_class=NumberClass.LUCKY, price=Decimal("88.00"))
    PoolNumberFactory(number="18600001234", status=NumberStatus.QUARANTINED)
    # when the product is picked (HTMX asks for the form again with the product)
    response = agent_client.get(sale_url(customer), {"product": product.pk}, **HTMX)
    body = response.content.decode()
    # then the partial form has a picker with the free numbers, their class and fee, and the address
    assert response.status_code == 200
    assert body.startswith('<form id="sale-form"')
    assert 'value="18600008888"' in body and "Lucky" in body and "¥88.00" in body
    assert "18600001234" not in body
    assert 'value="天津市和平区南京路100号3门501"' in body
    assert 'name="appointment_slot"' in body


def test_picking_a_direct_product_asks_for_one_of_the_customers_lines(agent_client):
    subscription = SubscriptionFactory(service_number="13912345678")
    product = ProductFactory(direct=True)
    body = agent_client.get(sale_url(subscription.customer), {"product": product.pk, "number": "13912345678"}, **HTMX).content.decode()
    assert 'name="service_number"' in body
    assert '<option value="13912345678" selected>' in body
    assert "number-picker" not in body


def test_picking_a_deferred_product_asks_for_a_callback(agent_client):
    product = ProductFactory(deferred=True)
    body = agent_client.get(sale_url(CustomerFactory()), {"product": product.pk}, **HTMX).content.decode()
    assert 'name="callback_at"' in body and 'name="intent"' in body
    assert "number-picker" not in body and 'name="delivery_address"' not in body


@pytest.mark.parametrize("typed, shown, hidden", [("8888", "18600008888", "18612340000"), ("186123", "18612340000", "18600008888")])
def test_number_picker_filters_by_tail_or_leading_digits(agent_client, typed, shown, hidden):
    PoolNumberFactory(number="18600008888")
    PoolNumberFactory(number="18612340000")
    body = agent_client.get(reverse("orders:sale_numbers"), {"number_q": typed}, **HTMX).content.decode()
    assert shown in body
    assert hidden not in body


def test_number_picker_filters_by_class_and_pages(agent_client):
    for n in range(12):
        PoolNumberFactory(number=f"1860000{n:04d}", number_class=NumberClass.LUCKY)
    PoolNumberFactory(number="18699990000", number_class=NumberClass.ORDINARY)
    response = agent_client.get(reverse("orders:sale_numbers"), {"number_class": "lucky", "page": "2"}, **HTMX)
    assert response.context["numbers"].paginator.count == 12
    assert [n.number for n in response.context["numbers"].object_list] == ["18600000010", "18600000011"]


def test_number_picker_ignores_a_bad_class_and_page(agent_client):
    PoolNumberFactory(number="18600008888")
    response = agent_client.get(reverse("orders:sale_numbers"), {"number_class": "gold'--", "page": "x", "number_q": "abc"}, **HTMX)
    assert response.status_code == 200
    assert "18600008888" in response.content.decode()


def test_agent_sells_a_sim_with_a_pool_number(agent_client):
    # given a customer, a SIM product and a free lucky number
    customer = CustomerFactory()
    product = ProductFactory(sim=True, price=Decimal("50.00"), category__acceptance_limit_hours=24)
    number = PoolNumberFactory(number="18600008888", price=Decimal("88.00"))
    # when the agent submits the sale (HTMX)
    response = agent_client.post(sale_url(customer), sim_sale(product, number), **HTMX)
    # then a back-office order holds the number, and the agent is sent to it with what happens next
    order = Order.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("orders:detail", args=[order.pk])
    assert (order.flow, order.status, order.customer, order.created_by) == (Flow.BACK_OFFICE, OrderStatus.SUBMITTED, customer, agent_client.user)
    assert order.price == Decimal("138.00")
    number.refresh_from_db()
    assert (number.status, number.order) == (NumberStatus.RESERVED, order)
    page = agent_client.get(response["HX-Redirect"]).content.decode()
    assert "Back-office: the queue accepts order #%d within 24 hours" % order.pk in page


def test_direct_sale_is_provisioned_and_says_so(agent_client):
    subscription = SubscriptionFactory(service_number="13912345678")
    product = ProductFactory(direct=True)
    response = agent_client.post(sale_url(subscription.customer), {"product": product.pk, "service_number": "13912345678"})
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.flow, order.service_number) == (Flow.DIRECT, "13912345678")
    assert OutboxMessage.objects.filter(key=f"order:{order.pk}:provision").exists()
    page = agent_client.get(response["Location"]).content.decode()
    assert "Direct: order #%d is being provisioned in billing now." % order.pk in page


def test_deferred_sale_books_a_callback_linked_to_the_contact(agent_client):
    # given the agent has just recorded the call
    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, agent=agent_client.user, reason="Asks about broadband upgrade")
    product = ProductFactory(deferred=True)
    callback_at = timezone.localtime() + timedelta(days=1)
    # when the agent books a callback from the same form
    response = agent_client.post(sale_url(customer), {
        "product": product.pk, "callback_at": callback_at.strftime("%Y-%m-%dT%H:%M"), "intent": "high", "contact": contact.pk,
    })
    # then an opportunity exists, linked to the contact, and no order
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:customer", args=[customer.pk])
    assert (opportunity.intent, opportunity.contact, opportunity.created_by) == ("high", contact, agent_client.user)
    assert not Order.objects.exists()
    assert ContactLink.objects.filter(contact=contact, object_id=opportunity.pk).exists()
    page = agent_client.get(response["Location"]).content.decode()
    assert "Callback booked for " + callback_at.strftime("%Y-%m-%d %H:%M") in page


def test_order_is_linked_to_the_contact_being_recorded(agent_client):
    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, agent=agent_client.user)
    product = ProductFactory(sim=True)
    # the form proposes the agent's latest contact with this customer
    form = agent_client.get(sale_url(customer), {"product": product.pk}).context["form"]
    assert form.initial["contact"] == contact.pk
    agent_client.post(sale_url(customer), sim_sale(product, PoolNumberFactory(), contact=contact.pk))
    order = Order.objects.get()
    assert order.contact == contact
    assert ContactLink.objects.filter(contact=contact, object_id=order.pk).exists()


@pytest.mark.parametrize("overrides, field", [
    ({"pool_number": ""}, "pool_number"),
    ({"delivery_address": " "}, "delivery_address"),
    ({"appointment_date": ""}, "appointment_date"),
    ({"appointment_date": "2001-01-01"}, "appointment_date"),
    ({"appointment_date": "not a date"}, "appointment_date"),
    ({"appointment_slot": ""}, "appointment_slot"),
    ({"appointment_slot": "midnight"}, "appointment_slot"),
])
def test_bad_sale_input_re_renders_with_the_message_and_writes_nothing(agent_client, overrides, field):
    customer = CustomerFactory()
    product = ProductFactory(sim=True)
    number = PoolNumberFactory()
    response = agent_client.post(sale_url(customer), sim_sale(product, number, **overrides), **HTMX)
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert response.content.decode().startswith('<form id="sale-form"')
    assert not Order.objects.exists()
    number.refresh_from_db()
    assert number.status == NumberStatus.AVAILABLE


def test_a_number_taken_meanwhile_is_refused_and_nothing_is_half_written(agent_client):
    # given the number the agent picked was sold to someone else a moment ago
    customer = CustomerFactory()
    product = ProductFactory(sim=True)
    number = PoolNumberFactory(number="18600008888")
    submitted_sim_order(agent_client.user)  # takes another number
    services.order_submit(
        agent=agent_client.user, customer=CustomerFactory(), product=product, pool_number="18600008888",
        delivery_address="x", appointment_date=TOMORROW, appointment_slot="morning",
    )
    # when the agent submits with it
    response = agent_client.post(sale_url(customer), sim_sale(product, number), **HTMX)
    # then the form says so and the customer has no order
    assert response.status_code == 422
    assert "18600008888 is not available" in " ".join(response.context["form"].errors["pool_number"])
    assert not Order.objects.filter(customer=customer).exists()


def test_direct_sale_to_a_line_that_is_not_the_customers_is_refused(agent_client):
    customer = SubscriptionFactory().customer
    SubscriptionFactory(service_number="13900000001")  # someone else's line
    response = agent_client.post(sale_url(customer), {"product": ProductFactory(direct=True).pk, "service_number": "13900000001"})
    assert response.status_code == 400
    assert response.context["form"].errors["service_number"]
    assert not Order.objects.exists()


def test_deferred_sale_without_a_callback_time_is_refused(agent_client):
    response = agent_client.post(sale_url(CustomerFactory()), {"product": ProductFactory(deferred=True).pk, "intent": "high"}, **HTMX)
    assert response.status_code == 422
    assert "Agree a callback time" in " ".join(response.context["form"].errors["callback_at"])
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize("product", ["", "999999", "abc"])
def test_unknown_or_missing_product_is_a_form_error(agent_client, product):
    response = agent_client.post(sale_url(CustomerFactory()), {"product": product}, **HTMX)
    assert response.status_code == 422
    assert response.context["form"].errors["product"]


def test_a_product_taken_off_sale_cannot_be_sold(agent_client):
    product = ProductFactory(sim=True, active=False)
    response = agent_client.post(sale_url(CustomerFactory()), sim_sale(product, PoolNumberFactory()), **HTMX)
    assert response.status_code == 422
    assert not Order.objects.exists()


def test_roles_that_cannot_sell_get_403(client, make_user):
    client.force_login(make_user("complaint_handler"))
    customer = CustomerFactory()
    assert client.get(sale_url(customer)).status_code == 403
    assert client.post(sale_url(customer), {"product": ProductFactory(direct=True).pk}).status_code == 403
    assert client.get(reverse("orders:sale_numbers")).status_code == 403


def test_sale_for_an_unknown_customer_is_404(agent_client):
    assert agent_client.get(reverse("orders:sale", args=[999999])).status_code == 404


def test_login_is_required_to_sell(client):
    response = client.get(sale_url(CustomerFactory()))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --- the order page ---------------------------------------------------------------------

def test_order_page_shows_the_order_and_its_history(agent_client):
    customer = CustomerFactory(name="Wang Fang", id_number="110101199003071234")
    order = submitted_sim_order(agent_client.user, customer=customer)
    response = agent_client.get(reverse("orders:detail", args=[order.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Wang Fang" in body and order.product.name in body and order.pool_number.number in body
    assert "Back-office" in body and "Submitted" in body
    assert "1101**********1234" in body and "110101199003071234" not in body  # masked for an agent
    assert "天津市和平区南京路100号3门501" in body  # agents take addresses whole
    history = response.context["history"]
    assert [(h["step"], h["to_state"], h["by"]) for h in history] == [("Submitted", "Submitted", agent_client.user)]


def test_order_page_masks_the_address_for_a_role_that_does_not_need_it(client, make_user):
    order = submitted_sim_order(make_user("agent"))
    client.force_login(make_user("manager"))
    body = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "天津市和平区****" in body
    assert "南京路100号3门501" not in body


def test_area_manager_sees_orders_of_their_areas_only(client, make_user):
    manager = make_user("area_manager")
    mine = submitted_sim_order(make_user("agent"), customer=CustomerFactory(area=ServiceAreaFactory(manager=manager)))
    theirs = submitted_sim_order(make_user("agent"))
    client.force_login(manager)
    assert client.get(reverse("orders:detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("orders:detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("orders:order_cancel", args=[theirs.pk]), {"reason": "x"}).status_code == 404


def test_unknown_order_is_404(agent_client):
    assert agent_client.get(reverse("orders:detail", args=[999999])).status_code == 404


def test_agent_cancels_an_order_with_a_reason_and_the_number_goes_back(agent_client):
    order = submitted_sim_order(agent_client.user)
    response = agent_client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "Customer changed their mind"}, follow=True)
    order.refresh_from_db()
    order.pool_number.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.closing_reason == "Customer changed their mind"
    assert order.pool_number.status == NumberStatus.AVAILABLE
    assert f"Order #{order.pk} cancelled." in response.content.decode()
    assert ("Cancelled", "Customer changed their mind") in [(h["step"], h["reason"]) for h in response.context["history"]]


def test_cancel_without_a_reason_is_refused_with_a_message(agent_client):
    order = submitted_sim_order(agent_client.user)
    response = agent_client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "  "})
    assert response.status_code == 422
    assert "Say why the order is cancelled." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_a_refused_transition_shows_the_message_and_the_allowed_states(agent_client, make_user):
    # given an order already rejected by back-office
    order = submitted_sim_order(agent_client.user)
    services.order_reject(order_id=order.pk, clerk=make_user("back_office"), reason="No ID")
    # when the agent tries to cancel it (an old tab)
    response = agent_client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "Customer asked"})
    # then 409 with why, never a 500, and nothing changes
    assert response.status_code == 409
    assert response.context["refused"]["message"]
    assert "is not possible" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.closing_reason) == (OrderStatus.REJECTED, "No ID")


def test_refusal_lists_the_states_allowed_next(client, make_user):
    # given an accepted order, urgent activation already running
    clerk = make_user("back_office")
    order = submitted_sim_order(make_user("agent"))
    services.order_accept(order_id=order.pk, clerk=clerk)
    services.order_request_urgent_activation(order_id=order.pk, by=clerk)
    client.force_login(clerk)
    # when the clerk posts "accept" again from a stale page
    response = client.post(reverse("orders:order_accept", args=[order.pk]))
    # then the page names what the order may move to instead
    assert response.status_code == 409
    assert set(response.context["refused"]["allowed"]) >= {"Handed to delivery", "Cancelled"}
    assert "Possible next states:" in response.content.decode()


def test_actions_follow_role_and_state(client, make_user):
    order = submitted_sim_order(make_user("agent"))
    url = reverse("orders:detail", args=[order.pk])
    client.force_login(make_user("agent"))
    assert client.get(url).context["actions"] == {"cancel"}
    client.force_login(make_user("back_office"))
    assert client.get(url).context["actions"] == {"accept", "reject", "cancel"}
    client.force_login(make_user("manager"))
    assert client.get(url).context["actions"] == set()


def test_urgent_activation_is_offered_after_acceptance_to_roles_that_hold_it(client, make_user, django_capture_on_commit_callbacks):
    clerk = make_user("back_office")
    order = submitted_sim_order(make_user("agent"))
    services.order_accept(order_id=order.pk, clerk=clerk)
    url = reverse("orders:detail", args=[order.pk])
    client.force_login(make_user("agent"))
    assert "urgent_activate" not in client.get(url).context["actions"]
    desk = make_user("delivery_clerk")
    client.force_login(desk)
    assert "urgent_activate" in client.get(url).context["actions"]
    # when the delivery desk asks for it, billing activates the line (the fake billing answers at once)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orders:order_urgent_activation", args=[order.pk]), {"reason": "Customer travels tomorrow"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.urgent_activation is True
    assert order.status == OrderStatus.ACTIVATED
    assert "urgent_activate" not in client.get(url).context["actions"]


def test_agent_may_not_request_urgent_activation(agent_client, make_user):
    order = submitted_sim_order(agent_client.user)
    services.order_accept(order_id=order.pk, clerk=make_user("back_office"))
    response = agent_client.post(reverse("orders:order_urgent_activation", args=[order.pk]), {"reason": "please"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.urgent_activation is False


def test_actions_only_take_post(agent_client):
    order = submitted_sim_order(agent_client.user)
    assert agent_client.get(reverse("orders:order_cancel", args=[order.pk])).status_code == 405


@pytest.mark.parametrize("params", [{"product": "abc"}, {"product": "1", "appointment_date": "31/31/2020", "pool_number": "x" * 50}, {"contact": "-1"}])
def test_sale_form_survives_garbage_in_the_query_string(agent_client, params):
    ProductFactory(sim=True)
    assert agent_client.get(sale_url(CustomerFactory()), params, **HTMX).status_code == 200


def test_order_page_query_count_does_not_grow_with_history(agent_client, make_user, django_assert_max_num_queries):
    clerk = make_user("back_office")
    order = submitted_sim_order(agent_client.user)
    services.order_accept(order_id=order.pk, clerk=clerk)
    for _ in range(10):
        services.order_request_urgent_activation(order_id=order.pk, by=clerk)  # idempotent: one record
    services.order_hand_to_delivery(order_id=order.pk, by=make_user("delivery_clerk"))
    with django_assert_max_num_queries(12):
        response = agent_client.get(reverse("orders:detail", args=[order.pk]))
    assert [h["step"] for h in response.context["history"]] == ["Submitted", "Accepted", "Urgent activation requested", "Handed to delivery"]
