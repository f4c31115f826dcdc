"""The console's pages through Django's test client: search, the customer screen, recording."""
import pytest
from django.urls import reverse

from servicedesk.models import Contact
from tests.factories import ContactFactory, CustomerFactory, ScriptFactory, ServiceAreaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, make_user):
    user = make_user("agent")
    client.force_login(user)
    client.user = user
    return client


def test_login_is_required(client):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000"])
def test_exact_service_number_opens_the_customer(agent_client, typed):
    subscription = SubscriptionFactory(service_number="13800138000")
    response = agent_client.get(reverse("console:home"), {"q": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:customer", args=[subscription.customer_id]) + "?number=13800138000"


def test_id_number_search_opens_the_customer(agent_client):
    customer = CustomerFactory(id_number="12010119850101123X")
    response = agent_client.get(reverse("console:home"), {"q": "12010119850101123x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:customer", args=[customer.pk]))


def test_name_search_lists_matches_paginated(agent_client):
    for n in range(25):
        CustomerFactory(name=f"Zhao {n:02d}")
    CustomerFactory(name="Qian")
    response = agent_client.get(reverse("console:home"), {"q": "Zhao"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 25
    assert len(response.context["page"].object_list) == 20
    assert "Qian" not in response.content.decode()


@pytest.mark.parametrize("typed", ["1380013", "12345678901", "99999999999"])
def test_malformed_numbers_get_a_message_not_an_error(agent_client, typed):
    response = agent_client.get(reverse("console:home"), {"q": typed})
    assert response.status_code == 200
    assert response.context["search"].error or response.context["page"].paginator.count == 0


def test_customer_screen_shows_identity_masked_for_an_agent(agent_client):
    subscription = SubscriptionFactory(customer__id_number="110101199003071234")
    response = agent_client.get(reverse("console:customer", args=[subscription.customer_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "1101**********1234" in body
    assert "110101199003071234" not in body
    assert subscription.service_number in body


def test_customer_screen_shows_whole_id_to_back_office(client, make_user):
    user = make_user("back_office")
    client.force_login(user)
    subscription = SubscriptionFactory(customer__id_number="110101199003071234")
    body = client.get(reverse("console:customer", args=[subscription.customer_id])).content.decode()
    assert "110101199003071234" in body


def test_customer_screen_query_count_does_not_grow_with_history(agent_client, django_assert_max_num_queries):
    subscription = SubscriptionFactory()
    for _ in range(30):
        ContactFactory(customer=subscription.customer, agent=agent_client.user)
    # fixed costs: the core's reads (recent channels among them), plus each app's panel and timeline source (orders, shipments, SMS, complaints)
    with django_assert_max_num_queries(20):
        agent_client.get(reverse("console:customer", args=[subscription.customer_id]))


def test_timeline_is_paginated_newest_first(agent_client):
    subscription = SubscriptionFactory()
    contacts = [ContactFactory(customer=subscription.customer, reason=f"reason {n:02d}") for n in range(25)]
    url = reverse("console:customer_timeline", args=[subscription.customer_id])
    first = agent_client.get(url).context
    assert [e.title for e in first["entries"]][0] == contacts[-1].reason
    assert first["has_older"] is True
    second = agent_client.get(url, {"page": 2}).context
    assert len(second["entries"]) == 5
    assert second["has_older"] is False


def test_area_manager_cannot_open_another_areas_customer(client, make_user):
    manager = make_user("area_manager")
    own = CustomerFactory(area=ServiceAreaFactory(manager=manager))
    other = CustomerFactory()
    client.force_login(manager)
    assert client.get(reverse("console:customer", args=[own.pk])).status_code == 200
    assert client.get(reverse("console:customer", args=[other.pk])).status_code == 404
    assert client.post(reverse("console:contact_create", args=[other.pk]), {"reason": "x"}).status_code == 404


def test_recording_a_contact_with_htmx_returns_the_new_timeline(agent_client):
    subscription = SubscriptionFactory()
    response = agent_client.post(
        reverse("console:contact_create", args=[subscription.customer_id]),
        {"reason": "Data pack", "outcome": "order_opened", "channel": "hotline", "service_number": subscription.service_number},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="timeline" hx-swap-oob' in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.reason, contact.outcome, contact.agent) == ("Data pack", "order_opened", agent_client.user)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"reason": "x" * 201, "outcome": "resolved", "channel": "hotline"}, "reason"),
        ({"reason": "", "outcome": "resolved", "channel": "hotline"}, "reason"),
        ({"reason": "ok", "outcome": "bogus", "channel": "hotline"}, "outcome"),
        ({"reason": "ok", "outcome": "resolved", "channel": "hotline", "service_number": "13999999999"}, "service_number"),
        ({"reason": "ok", "outcome": "resolved", "channel": "hotline", "notes": "n" * 2001}, "notes"),
    ],
)
def test_bad_contact_input_is_refused_with_the_field_named(agent_client, data, field):
    subscription = SubscriptionFactory()
    response = agent_client.post(reverse("console:contact_create", args=[subscription.customer_id]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert Contact.objects.count() == 0


def test_roles_without_contact_permission_cannot_record(client, make_user):
    user = make_user("manager")
    client.force_login(user)
    subscription = SubscriptionFactory()
    response = client.post(reverse("console:contact_create", args=[subscription.customer_id]), {"reason": "x"})
    assert response.status_code == 403
    assert Contact.objects.count() == 0


def test_script_search_from_the_console_finds_chinese_words(agent_client):
    ScriptFactory(title="5G套餐变更", body="套餐变更次月生效", category="5G套餐")
    ScriptFactory(title="宽带报修", body="请提供宽带账号", category="宽带")
    response = agent_client.get(reverse("console:scripts"), {"q": "套餐 变更"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "5G套餐变更" in body
    assert "宽带报修" not in body


def test_health_endpoint(client):
    assert client.get("/healthz").json() == {"status": "ok"}
