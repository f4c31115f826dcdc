"""The outbound pages through Django's test client: the worklist, an opportunity and its actions, search and export."""
import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import CallbackAttempt, Flow, Intent, NumberStatus, Opportunity, Order
from servicedesk.models import StaffNotice
from tests.factories import (
    CallbackAttemptFactory, CustomerFactory, OpportunityFactory, PoolNumberFactory, ProductCategoryFactory, ProductFactory,
    ServiceAreaFactory, SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)


@pytest.fixture
def client_for(client, make_user):
    def login(*roles, user=None):
        user = user or make_user(*roles)
        client.force_login(user)
        client.user = user
        return client

    return login


@pytest.fixture
def outbound_client(client_for):
    return client_for("outbound")


def local_input(when) -> str:
    """How a datetime-local field posts a time."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


# --- permissions ---------------------------------------------------------------------

def test_pages_need_a_login(client):
    opportunity = OpportunityFactory()
    for url in (reverse("orders:outbound"), reverse("orders:opportunity", args=[opportunity.pk]), reverse("orders:opportunity_search")):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(("role", "status"), [("outbound", 200), ("manager", 200), ("admin", 200), ("agent", 403), ("area_manager", 403), ("back_office", 403)])
def test_the_worklist_is_for_roles_that_work_callbacks(client_for, role, status):
    assert client_for(role).get(reverse("orders:outbound")).status_code == status


def test_an_agent_may_view_any_opportunity_of_a_customer_but_not_act_on_it(client_for, make_user):
    agent = make_user("agent")
    mine = OpportunityFactory(created_by=agent)
    SubscriptionFactory(customer=mine.customer, service_number="13812345678")
    someone_elses = OpportunityFactory()
    client = client_for(user=agent)

    response = client.get(reverse("orders:opportunity", args=[mine.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "138****5678" in body and "13812345678" not in body  # the agent does not call back: masked
    assert 'id="attempt-form"' not in body and 'id="convert-form"' not in body
    # a colleague's booking of the same kind is visible too (the customer screen links to it)
    assert client.get(reverse("orders:opportunity", args=[someone_elses.pk])).status_code == 200
    response = client.post(reverse("orders:opportunity_attempt", args=[someone_elses.pk]), {"result": "reached"})
    assert response.status_code == 403


def test_an_area_manager_sees_only_their_areas_and_may_not_act(client_for, make_user):
    manager = make_user("area_manager")
    area = ServiceAreaFactory(manager=manager)
    theirs = OpportunityFactory(customer=CustomerFactory(area=area))
    elsewhere = OpportunityFactory()
    client = client_for(user=manager)

    assert client.get(reverse("orders:opportunity", args=[theirs.pk])).status_code == 200
    assert client.get(reverse("orders:opportunity", args=[elsewhere.pk])).status_code == 404
    response = client.post(reverse("orders:opportunity_attempt", args=[theirs.pk]), {"result": "reached"})
    assert response.status_code == 403
    assert not CallbackAttempt.objects.exists()
    results = client.get(reverse("orders:opportunity_search")).context["page"].object_list
    assert [op.pk for op in results] == [theirs.pk]


def test_unknown_opportunity_is_404(outbound_client):
    assert outbound_client.get(reverse("orders:opportunity", args=[999_999])).status_code == 404
    assert outbound_client.post(reverse("orders:opportunity_lost", args=[999_999]), {"reason": "x"}).status_code == 404


# --- the worklist ----------------------------------------------------------------------

def test_worklist_puts_overdue_first_highlighted_then_upcoming(outbound_client):
    now = timezone.now()
    upcoming = OpportunityFactory(callback_at=now + timedelta(hours=2), customer__name="Upcoming Li")
    overdue = OpportunityFactory(callback_at=now - timedelta(hours=2), overdue=True, customer__name="Overdue Wang")
    due = OpportunityFactory(callback_at=now - timedelta(minutes=1), customer__name="Due Zhang")
    OpportunityFactory(callback_at=now - timedelta(hours=9), status=Opportunity.Status.LOST, customer__name="Lost Zhao")

    response = outbound_client.get(reverse("orders:outbound"))

    body = response.content.decode()
    assert [op.pk for op in response.context["page"].object_list] == [overdue.pk, due.pk, upcoming.pk]
    assert body.index("Overdue Wang") < body.index("Due Zhang") < body.index("Upcoming") < body.index("Upcoming Li")
    assert body.index("Due now and overdue") < body.index("Overdue Wang")
    assert 'class="overdue"' in body and "Lost Zhao" not in body
    assert (response.context["due_count"], response.context["overdue_count"]) == (2, 1)


def test_worklist_filters_by_intent_assignee_and_product(outbound_client, make_user):
    mine_high = OpportunityFactory(intent=Intent.HIGH, assigned_to=outbound_client.user)
    unassigned_high = OpportunityFactory(intent=Intent.HIGH)
    colleagues_low = OpportunityFactory(intent=Intent.LOW, assigned_to=make_user("outbound"))

    def listed(**params):
        return {op.pk for op in outbound_client.get(reverse("orders:outbound"), params).context["page"].object_list}

    assert listed(intent="high") == {mine_high.pk, unassigned_high.pk}
    assert listed(assigned="me") == {mine_high.pk}
    assert listed(assigned="none") == {unassigned_high.pk}
    assert listed(product=colleagues_low.product_id) == {colleagues_low.pk}


@pytest.mark.parametrize("params", [{"intent": "bogus"}, {"product": "abc"}, {"product": "999999"}, {"assigned": "x"}, {"page": "-1"}, {"page": "zz"}])
def test_worklist_reports_bad_filters_instead_of_failing(outbound_client, params):
    OpportunityFactory()
    response = outbound_client.get(reverse("orders:outbound"), params)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1
    if "page" not in params:
        assert "not understood" in response.content.decode()


def test_worklist_is_paginated_and_keeps_filters_in_the_pager(outbound_client):
    for minutes in range(30):
        OpportunityFactory(callback_at=timezone.now() + timedelta(minutes=minutes + 1), intent=Intent.HIGH)

    first = outbound_client.get(reverse("orders:outbound"), {"intent": "high"})
    second = outbound_client.get(reverse("orders:outbound"), {"intent": "high", "page": "2"})

    assert len(first.context["page"].object_list) == 25 and len(second.context["page"].object_list) == 5
    assert "?intent=high&amp;page=2" in first.content.decode() or "?intent=high&page=2" in first.content.decode()
    assert not {op.pk for op in first.context["page"].object_list} & {op.pk for op in second.context["page"].object_list}


def test_worklist_query_count_does_not_grow_with_rows(outbound_client, django_assert_max_num_queries):
    for _ in range(20):
        opportunity = OpportunityFactory(assigned_to=outbound_client.user)
        SubscriptionFactory(customer=opportunity.customer)
    with django_assert_max_num_queries(14):
        assert outbound_client.get(reverse("orders:outbound")).status_code == 200


def test_worklist_shows_my_unread_notices_and_marks_them_read(outbound_client, make_user):
    mine = StaffNotice.objects.create(recipient=outbound_client.user, key="k1", text="3 callbacks are overdue.", url="/outbound/")
    StaffNotice.objects.create(recipient=outbound_client.user, key="k2", text="1 callbacks are overdue.")
    theirs = StaffNotice.objects.create(recipient=make_user("outbound"), key="k1", text="Someone else's notice")

    body = outbound_client.get(reverse("orders:outbound")).content.decode()
    assert "3 callbacks are overdue." in body and "Someone else&#x27;s notice" not in body and "Someone else's notice" not in body

    # marking another's notice is a no-op; one's own goes, then the rest
    outbound_client.post(reverse("orders:notice_read", args=[theirs.pk]))
    assert StaffNotice.objects.get(pk=theirs.pk).read_at is None
    response = outbound_client.post(reverse("orders:notice_read", args=[mine.pk]))
    assert response.status_code == 302
    assert StaffNotice.objects.get(pk=mine.pk).read_at is not None
    outbound_client.post(reverse("orders:notices_read"))
    assert not StaffNotice.objects.filter(recipient=outbound_client.user, read_at__isnull=True).exists()
    assert "callbacks are overdue" not in outbound_client.get(reverse("orders:outbound")).content.decode()


# --- one opportunity and its actions -------------------------------------------------------

def test_opportunity_page_shows_what_the_caller_needs(outbound_client):
    opportunity = OpportunityFactory(notes="wants the family plan", intent=Intent.HIGH, customer__id_number="110101199003071234")
    SubscriptionFactory(customer=opportunity.customer, service_number="13812345678")
    CallbackAttemptFactory(opportunity=opportunity, result=CallbackAttempt.Result.NO_ANSWER, notes="no answer at noon")

    body = outbound_client.get(reverse("orders:opportunity", args=[opportunity.pk])).content.decode()

    assert "13812345678" in body  # outbound dials it
    assert "1101**********1234" in body and "110101199003071234" not in body
    for text in ("wants the family plan", "High", "No answer", "no answer at noon", opportunity.product.name):
        assert text in body
    assert 'id="attempt-form"' in body and 'id="convert-form"' in body and 'id="lost-form"' in body


def test_record_an_attempt_with_a_new_time(outbound_client):
    opportunity = OpportunityFactory()
    later = timezone.now() + timedelta(days=2)

    response = outbound_client.post(
        reverse("orders:opportunity_attempt", args=[opportunity.pk]),
        {"result": "call_back_later", "next_callback_at": local_input(later), "notes": "busy, try Friday"}, follow=True,
    )

    assert response.status_code == 200
    assert "Attempt recorded." in messages_of(response)
    opportunity.refresh_from_db()
    assert opportunity.callback_at == later.replace(second=0, microsecond=0)
    assert opportunity.attempts.get().notes == "busy, try Friday"


@pytest.mark.parametrize(
    "data",
    [
        {"result": "call_back_later"},
        {"result": "call_back_later", "next_callback_at": local_input(timezone.now() - timedelta(hours=1))},
        {"result": "call_back_later", "next_callback_at": "next friday"},
        {"result": "hung_up"},
        {},
    ],
    ids=["no-time", "past-time", "garbage-time", "unknown-result", "empty"],
)
def test_bad_attempt_is_shown_on_the_form_and_writes_nothing(outbound_client, data):
    opportunity = OpportunityFactory()
    response = outbound_client.post(reverse("orders:opportunity_attempt", args=[opportunity.pk]), data)
    assert response.status_code == 422
    assert response.context["attempt_form"].errors
    assert 'class="error"' in response.content.decode()
    assert not CallbackAttempt.objects.exists()


def test_convert_a_direct_product_goes_to_the_order_page(outbound_client):
    subscription = SubscriptionFactory()
    opportunity = OpportunityFactory(customer=subscription.customer)

    response = outbound_client.post(reverse("orders:opportunity_convert", args=[opportunity.pk]), {"service_number": subscription.service_number})

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.flow, order.service_number, order.channel) == (Flow.DIRECT, subscription.service_number, "outbound")
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.CONVERTED


def test_convert_form_asks_only_what_the_product_needs(outbound_client):
    direct = OpportunityFactory()
    sim = OpportunityFactory(product=ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED)))
    PoolNumberFactory(number="18600001111")

    direct_form = outbound_client.get(reverse("orders:opportunity", args=[direct.pk])).context["convert_form"]
    sim_page = outbound_client.get(reverse("orders:opportunity", args=[sim.pk]))

    assert set(direct_form.fields) == {"service_number", "notes"}
    assert {"pool_number", "address_on_file", "delivery_address", "appointment_date", "appointment_slot"} <= set(sim_page.context["convert_form"].fields)
    assert "18600001111" in sim_page.content.decode()  # offered from the pool


def test_convert_a_sim_to_the_address_on_file_without_showing_it(outbound_client):
    # given a SIM opportunity for a customer whose address outbound may only see masked
    customer = CustomerFactory(address="天津市和平区南京路100号3门501")
    opportunity = OpportunityFactory(customer=customer, product=ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED)))
    number = PoolNumberFactory()
    page = outbound_client.get(reverse("orders:opportunity", args=[opportunity.pk])).content.decode()
    assert "天津市和平区****" in page and "南京路100号" not in page

    # when the agent converts it to the address on file
    response = outbound_client.post(
        reverse("orders:opportunity_convert", args=[opportunity.pk]),
        {"pool_number": number.number, "address_on_file": "on", "appointment_date": TOMORROW.isoformat(), "appointment_slot": "evening"},
    )

    # then the back-office order carries the whole address and holds the number
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.flow, order.delivery_address, order.appointment_slot) == (Flow.BACK_OFFICE, customer.address, "evening")
    number.refresh_from_db()
    assert (number.status, number.order) == (NumberStatus.RESERVED, order)


def test_convert_form_is_prefilled_with_the_whole_address_for_roles_that_may_read_it(client_for):
    customer = CustomerFactory(address="天津市和平区南京路100号3门501")
    opportunity = OpportunityFactory(customer=customer, product=ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED)))
    form = client_for("admin").get(reverse("orders:opportunity", args=[opportunity.pk])).context["convert_form"]
    assert "address_on_file" not in form.fields
    assert form["delivery_address"].value() == customer.address


@pytest.mark.parametrize(
    "data",
    [
        {"address_on_file": "on", "appointment_date": TOMORROW.isoformat()},
        {"pool_number": "TAKEN", "address_on_file": "on", "appointment_date": TOMORROW.isoformat()},
        {"pool_number": "12", "address_on_file": "on", "appointment_date": TOMORROW.isoformat()},
        {"pool_number": "FREE", "appointment_date": TOMORROW.isoformat()},
        {"pool_number": "FREE", "address_on_file": "on", "appointment_date": (timezone.localdate() - timedelta(days=1)).isoformat()},
        {"pool_number": "FREE", "address_on_file": "on", "appointment_date": "soon"},
    ],
    ids=["no-number", "number-taken", "malformed-number", "no-address", "past-date", "garbage-date"],
)
def test_bad_conversion_is_shown_on_the_form_and_writes_nothing(outbound_client, data):
    product = ProductFactory(sim=True, category=ProductCategoryFactory(flow=Flow.DEFERRED))
    opportunity = OpportunityFactory(product=product)
    free = PoolNumberFactory()
    taken = PoolNumberFactory(status=NumberStatus.QUARANTINED)
    data = {k: {"FREE": free.number, "TAKEN": taken.number}.get(v, v) for k, v in data.items()}

    response = outbound_client.post(reverse("orders:opportunity_convert", args=[opportunity.pk]), data)

    assert response.status_code == 422
    assert response.context["convert_form"].errors
    assert not Order.objects.exists()
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.OPEN
    assert PoolNumberFactory._meta.model.objects.get(pk=free.pk).status == NumberStatus.AVAILABLE


def test_close_as_lost_needs_a_reason_then_shows_the_outcome(outbound_client):
    opportunity = OpportunityFactory()
    url = reverse("orders:opportunity_lost", args=[opportunity.pk])

    refused = outbound_client.post(url, {"reason": "  "})
    assert refused.status_code == 422 and refused.context["lost_form"].errors
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.OPEN

    page = outbound_client.post(url, {"reason": "chose a competitor"}, follow=True)
    body = page.content.decode()
    assert "Closed as lost." in messages_of(page)
    assert "chose a competitor" in body and 'data-testid="outcome"' in body
    assert 'id="attempt-form"' not in body and 'id="convert-form"' not in body


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("orders:opportunity_attempt", {"result": "reached"}),
        ("orders:opportunity_convert", {"service_number": "13800000000"}),
        ("orders:opportunity_lost", {"reason": "again"}),
        ("orders:opportunity_edit", {"callback_at": local_input(timezone.now() + timedelta(days=1)), "intent": "high"}),
    ],
)
def test_a_closed_opportunity_refuses_actions_with_a_message(outbound_client, name, data):
    opportunity = OpportunityFactory(status=Opportunity.Status.CONVERTED, closed_at=timezone.now())
    SubscriptionFactory(customer=opportunity.customer, service_number="13800000000")

    response = outbound_client.post(reverse(name, args=[opportunity.pk]), data, follow=True)

    assert response.status_code == 200
    assert any("already closed" in m for m in messages_of(response))
    assert response.redirect_chain[-1][0] == reverse("orders:opportunity", args=[opportunity.pk])
    assert not CallbackAttempt.objects.exists() and not Order.objects.exists()
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.CONVERTED


def test_a_closed_opportunity_refused_by_the_service_in_a_race_shows_the_message(outbound_client, monkeypatch):
    # given the page was loaded while open, and someone closes it before the post lands
    opportunity = OpportunityFactory()
    from orders import selectors

    real = selectors.opportunity_detail

    def stale(**kwargs):
        found = real(**kwargs)
        Opportunity.objects.filter(pk=found.pk).update(status=Opportunity.Status.LOST, lost_reason="by a colleague")
        return found

    monkeypatch.setattr(selectors, "opportunity_detail", stale)
    response = outbound_client.post(reverse("orders:opportunity_attempt", args=[opportunity.pk]), {"result": "reached"})

    assert response.status_code == 302
    monkeypatch.undo()
    assert any("already closed (Lost)" in m for m in messages_of(outbound_client.get(response["Location"])))
    assert not CallbackAttempt.objects.exists()


def test_edit_callback_intent_and_notes(outbound_client):
    opportunity = OpportunityFactory(overdue=True, callback_at=timezone.now() - timedelta(hours=1))
    url = reverse("orders:opportunity_edit", args=[opportunity.pk])
    later = timezone.now() + timedelta(days=1)

    form = outbound_client.get(url).context["form"]
    assert form.initial["intent"] == opportunity.intent

    past = outbound_client.post(url, {"callback_at": local_input(timezone.now() - timedelta(days=1)), "intent": "high"})
    assert past.status_code == 422 and "callback_at" in past.context["form"].errors

    response = outbound_client.post(url, {"callback_at": local_input(later), "intent": "high", "notes": "decides after payday"})
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.intent, opportunity.notes, opportunity.overdue) == (Intent.HIGH, "decides after payday", False)
    assert opportunity.callback_at == later.replace(second=0, microsecond=0)


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("outbound", 302), ("manager", 302)])
def test_delete_is_confirmed_and_only_for_permitted_roles(client_for, make_user, role, status):
    user = make_user(role)
    opportunity = OpportunityFactory(created_by=user)  # even the agent who took it may not delete it
    client = client_for(user=user)
    url = reverse("orders:opportunity_delete", args=[opportunity.pk])

    confirm = client.get(url)
    assert confirm.status_code == (200 if status == 302 else 403)
    if status == 302:
        assert 'data-testid="confirm-delete"' in confirm.content.decode()
        assert Opportunity.objects.filter(pk=opportunity.pk).exists()  # the GET deletes nothing

    response = client.post(url)
    assert response.status_code == status
    assert Opportunity.objects.filter(pk=opportunity.pk).exists() is (status == 403)


# --- search and export -------------------------------------------------------------------

def test_search_by_name_number_status_and_intent(outbound_client):
    zhao = OpportunityFactory(customer=CustomerFactory(name="赵大伟"), intent=Intent.HIGH)
    SubscriptionFactory(customer=zhao.customer, service_number="13911112222")
    qian = OpportunityFactory(customer=CustomerFactory(name="钱小红"), status=Opportunity.Status.LOST)

    def found(**params):
        return [op.pk for op in outbound_client.get(reverse("orders:opportunity_search"), params).context["page"].object_list]

    assert found(q="赵") == [zhao.pk]
    assert found(q="139-1111-2222") == [zhao.pk]
    assert found(status="lost") == [qian.pk]
    assert found(intent="high") == [zhao.pk]
    assert set(found()) == {zhao.pk, qian.pk}


@pytest.mark.parametrize(
    "params",
    [{"q": "12345678901"}, {"callback_from": "2025-13-01"}, {"callback_from": "2030-01-02", "callback_to": "2030-01-01"}, {"status": "won"}, {"product": "x"}],
    ids=["invalid-number", "bad-date", "reversed-range", "unknown-status", "bad-product"],
)
def test_search_reports_bad_input_instead_of_failing(outbound_client, params):
    OpportunityFactory()
    response = outbound_client.get(reverse("orders:opportunity_search"), params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'class="error"' in response.content.decode()
    if "q" in params:
        assert response.context["page"].paginator.count == 0  # a mistyped number finds nobody, not everybody


def test_search_is_paginated(outbound_client):
    for _ in range(27):
        OpportunityFactory(intent=Intent.LOW)
    page2 = outbound_client.get(reverse("orders:opportunity_search"), {"intent": "low", "page": 2})
    assert page2.context["page"].paginator.count == 27
    assert len(page2.context["page"].object_list) == 2


def test_export_streams_the_whole_search_result(outbound_client):
    # given more matches than fit on a page, and one that does not match
    for n in range(30):
        opportunity = OpportunityFactory(customer=CustomerFactory(name=f"王{n:02d}"), intent=Intent.HIGH)
        SubscriptionFactory(customer=opportunity.customer, service_number=f"1391111{n:04d}")
    OpportunityFactory(customer=CustomerFactory(name="李四"), intent=Intent.LOW)

    response = outbound_client.get(reverse("orders:opportunity_export"), {"q": "王", "intent": "high"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:4] == ["Opportunity", "Customer", "Service numbers", "Product"]
    assert len(rows) == 30
    assert rows[0][1] == "王00" and rows[0][2] == "13911110000" and rows[0][4] == "High"
    assert "李四" not in {row[1] for row in rows}


def test_export_masks_numbers_and_defuses_formulas_for_other_roles(client_for, make_user):
    agent = make_user("agent")
    opportunity = OpportunityFactory(created_by=agent, customer=CustomerFactory(name="=HYPERLINK(\"x\")"))
    SubscriptionFactory(customer=opportunity.customer, service_number="13812345678")
    OpportunityFactory(customer=CustomerFactory(name="someone else"))

    header, *rows = csv_rows(client_for(user=agent).get(reverse("orders:opportunity_export"), {"q": "="}))

    assert len(rows) == 1
    assert rows[0][2] == "138****5678"
    assert rows[0][1] == "'=HYPERLINK(\"x\")"


def test_follow_up_list_has_the_open_high_intent_customers(outbound_client):
    wanted = OpportunityFactory(intent=Intent.HIGH, customer__name="高意向")
    SubscriptionFactory(customer=wanted.customer, service_number="13812345678")
    OpportunityFactory(intent=Intent.HIGH, status=Opportunity.Status.LOST, customer__name="已流失")
    OpportunityFactory(intent=Intent.MEDIUM, customer__name="一般")

    header, *rows = csv_rows(outbound_client.get(reverse("orders:opportunity_follow_up")))

    assert header[:4] == ["Customer", "Service numbers", "Product", "Callback at"]
    assert [row[:3] for row in rows] == [["高意向", "13812345678", wanted.product.name]]
    assert rows[0][3] == timezone.localtime(wanted.callback_at).strftime("%Y-%m-%d %H:%M")


def test_follow_up_list_masks_numbers_for_an_area_manager(client_for, make_user):
    manager = make_user("area_manager")
    wanted = OpportunityFactory(intent=Intent.HIGH, customer=CustomerFactory(area=ServiceAreaFactory(manager=manager)))
    SubscriptionFactory(customer=wanted.customer, service_number="13812345678")
    OpportunityFactory(intent=Intent.HIGH)  # another area

    _header, *rows = csv_rows(client_for(user=manager).get(reverse("orders:opportunity_follow_up")))

    assert [row[1] for row in rows] == ["138****5678"]


def test_the_follow_up_view_is_the_search_preset(outbound_client):
    wanted = OpportunityFactory(intent=Intent.HIGH)
    OpportunityFactory(intent=Intent.HIGH, status=Opportunity.Status.CONVERTED)
    body = outbound_client.get(reverse("orders:outbound")).content.decode()
    assert "?status=open&amp;intent=high" in body
    found = outbound_client.get(reverse("orders:opportunity_search"), {"status": "open", "intent": "high"}).context["page"].object_list
    assert [op.pk for op in found] == [wanted.pk]
