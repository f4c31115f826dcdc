"""An area manager sees only the customers (and their subscriptions and contacts) of the areas they manage."""
import pytest
from django.contrib.auth.models import Permission

from servicedesk.models import Contact
from servicedesk.roles import Role
from tests.factories import ContactFactory, CustomerFactory, ServiceAreaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def areas(api_for):
    """An area manager with two areas of their own; a third area belongs to someone else."""
    client = api_for(Role.AREA_MANAGER)
    mine = [ServiceAreaFactory(manager=client.user), ServiceAreaFactory(manager=client.user)]
    other_manager = api_for(Role.AREA_MANAGER).user
    theirs = ServiceAreaFactory(manager=other_manager)
    own_customers = [CustomerFactory(area=mine[0], name="王一"), CustomerFactory(area=mine[1], name="王二")]
    other_customer = CustomerFactory(area=theirs, name="王三")
    unassigned_customer = CustomerFactory(area=None, name="王四")
    for i, customer in enumerate([*own_customers, other_customer, unassigned_customer]):
        subscription = SubscriptionFactory(customer=customer, service_number=f"1391234{i:04d}")
        ContactFactory(customer=customer, service_number=subscription.service_number)
    return {"client": client, "own": own_customers, "other": other_customer, "unassigned": unassigned_customer}


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_customer_list_holds_only_the_managers_own_areas(areas):
    # when the area manager lists customers
    response = areas["client"].get("/api/v1/customers/")

    # then exactly the customers of both their areas come back: not another manager's, not unassigned ones
    assert _ids(response) == {c.pk for c in areas["own"]}
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"name": "王"}, id="name"),
        pytest.param({"service_number": "13912340002"}, id="service-number"),
        pytest.param({"id_number": None}, id="id-number"),
    ],
)
def test_customer_filters_never_reach_outside_the_managers_areas(areas, query):
    # given a filter that matches the other area's customer (and, for the name, everyone)
    if "id_number" in query:
        query = {"id_number": areas["other"].id_number}

    # when the area manager filters
    found = _ids(areas["client"].get("/api/v1/customers/", query))

    # then the other area's and the unassigned customers are never among the results
    assert areas["other"].pk not in found
    assert areas["unassigned"].pk not in found
    if "name" in query:
        assert found == {c.pk for c in areas["own"]}


@pytest.mark.parametrize("who", ["other", "unassigned"])
def test_retrieving_a_customer_outside_the_managers_areas_is_404(areas, who):
    # when the area manager asks for a customer outside their areas by id
    response = areas["client"].get(f"/api/v1/customers/{areas[who].pk}/")

    # then it is not found (404, not 403: the API does not confirm the customer exists)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_retrieving_an_own_customer_works(areas):
    response = areas["client"].get(f"/api/v1/customers/{areas['own'][1].pk}/")

    assert response.status_code == 200
    assert response.json()["subscriptions"][0]["service_number"] == "13912340001"


def test_subscriptions_are_scoped_like_customers(areas):
    # when the area manager lists all subscriptions and asks for another area's one
    listed = areas["client"].get("/api/v1/subscriptions/")
    other_subscription = areas["other"].subscriptions.get()
    detail = areas["client"].get(f"/api/v1/subscriptions/{other_subscription.pk}/")
    by_customer = areas["client"].get("/api/v1/subscriptions/", {"customer": areas["other"].pk})

    # then only their own customers' subscriptions exist for them
    assert {row["customer"] for row in listed.json()["results"]} == {c.pk for c in areas["own"]}
    assert detail.status_code == 404
    assert _ids(by_customer) == set()


def test_contacts_are_scoped_like_customers(areas):
    # given a contact with another area's customer
    other_contact = areas["other"].contacts.get()

    # when the area manager lists that customer's contacts, by id and by number, and reads the contact itself
    by_customer = areas["client"].get("/api/v1/contacts/", {"customer": areas["other"].pk})
    by_number = areas["client"].get("/api/v1/contacts/", {"service_number": "13912340002"})
    detail = areas["client"].get(f"/api/v1/contacts/{other_contact.pk}/")
    own = areas["client"].get("/api/v1/contacts/", {"customer": areas["own"][0].pk})

    # then none of it is visible, while their own customer's contacts are
    assert _ids(by_customer) == set()
    assert _ids(by_number) == set()
    assert detail.status_code == 404
    assert _ids(own) == {areas["own"][0].contacts.get().pk}


def test_area_manager_role_alone_may_not_record_contacts(areas):
    # given the area manager's role, which reads but does not take calls
    before = Contact.objects.count()

    # when they try to record a contact even for their own customer
    response = areas["client"].post("/api/v1/contacts/", {"customer": areas["own"][0].pk, "reason": "Visit"}, format="json")

    # then the role's missing add_contact refuses it before any lookup (403)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Contact.objects.count() == before


@pytest.fixture
def recording_area_manager(areas):
    """The area manager given ``add_contact`` personally, so that the area check itself is what decides."""
    user = areas["client"].user
    user.user_permissions.add(Permission.objects.get(content_type__app_label="servicedesk", codename="add_contact"))
    return areas


def test_area_manager_with_add_contact_may_record_for_own_customer(recording_area_manager):
    areas = recording_area_manager
    response = areas["client"].post("/api/v1/contacts/", {"customer": areas["own"][0].pk, "reason": "Visit"}, format="json")

    assert response.status_code == 201, response.content
    assert Contact.objects.get(pk=response.json()["id"]).customer == areas["own"][0]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # By id the customer is looked up among the visible ones only, so it is "not found" (404),
        # exactly like GET /customers/<id>/: the API does not confirm that the customer exists.
        pytest.param({"customer": "other"}, 404, "not_found", id="by-customer-id"),
        pytest.param({"customer": "unassigned"}, 404, "not_found", id="unassigned-by-id"),
        # By service number the service finds the owning customer first and then refuses (403).
        pytest.param({"service_number": "13912340002"}, 403, "permission_denied", id="by-service-number"),
    ],
)
def test_recording_a_contact_for_another_areas_customer_is_refused(recording_area_manager, body, status, code):
    # given an area manager allowed to record contacts
    areas = recording_area_manager
    if "customer" in body:
        body = {"customer": areas[body["customer"]].pk}
    before = Contact.objects.count()

    # when they record one for a customer outside their areas
    response = areas["client"].post("/api/v1/contacts/", {**body, "reason": "Visit"}, format="json")

    # then it is refused and nothing is written
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert Contact.objects.count() == before


def test_area_manager_without_areas_sees_nobody(api_for, areas):
    # given a second area manager who manages no area
    client = api_for(Role.AREA_MANAGER)

    # then the customer list is empty and every customer is 404
    assert _ids(client.get("/api/v1/customers/")) == set()
    assert client.get(f"/api/v1/customers/{areas['own'][0].pk}/").status_code == 404


def test_agent_sees_every_area(api_for, areas):
    # given an agent, who serves the whole customer base
    client = api_for(Role.AGENT)

    # then every customer is listed, unassigned ones included
    assert _ids(client.get("/api/v1/customers/")) == {*(c.pk for c in areas["own"]), areas["other"].pk, areas["unassigned"].pk}
