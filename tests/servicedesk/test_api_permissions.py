"""Who may read and who may create through the core API, for every role and every endpoint.

The expectations are written out here by hand (not derived from ``roles.granted``)
so that a change to the grant table has to be a deliberate change to this file too.
"""
import pytest
from rest_framework.test import APIClient

from servicedesk.models import Contact
from servicedesk.roles import Role
from tests.factories import ContactFactory, CustomerFactory, ScriptFactory, ServiceAreaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


ALL_ROLES = list(Role)
MAY_RECORD_CONTACTS = {
    Role.AGENT,
    Role.ADMIN,
    Role.BACK_OFFICE,
    Role.OUTBOUND,
    Role.DELIVERY_CLERK,
    Role.COMPLAINT_HANDLER,
    Role.API_CLIENT,
}

# (name, method, path template). {customer}, {subscription}, {contact}, {script} and
# {number} are filled from the fixture below.
READS = [
    ("customers-list", "/api/v1/customers/"),
    ("customers-filter", "/api/v1/customers/?service_number={number}"),
    ("customers-detail", "/api/v1/customers/{customer}/"),
    ("subscriptions-list", "/api/v1/subscriptions/?customer={customer}"),
    ("subscriptions-detail", "/api/v1/subscriptions/{subscription}/"),
    ("contacts-list", "/api/v1/contacts/?customer={customer}"),
    ("contacts-detail", "/api/v1/contacts/{contact}/"),
    ("scripts-list", "/api/v1/scripts/?q=balance"),
    ("scripts-detail", "/api/v1/scripts/{script}/"),
]
READ_IDS = [name for name, _path in READS]
READ_PATHS = [path for _name, path in READS]
CREATE_PATHS = ["/api/v1/customers/", "/api/v1/subscriptions/", "/api/v1/contacts/", "/api/v1/scripts/"]


@pytest.fixture
def world():
    """One customer with a subscription and a contact, plus one script, in an area with no manager yet."""
    area = ServiceAreaFactory()
    customer = CustomerFactory(area=area)
    subscription = SubscriptionFactory(customer=customer, service_number="13812340001")
    contact = ContactFactory(customer=customer, service_number=subscription.service_number)
    script = ScriptFactory(title="Balance enquiry", body="Read the balance back to the caller.")
    return {
        "area": area,
        "customer": customer.pk,
        "subscription": subscription.pk,
        "contact": contact.pk,
        "script": script.pk,
        "number": subscription.service_number,
    }


def _client_for(api_for, world, role):
    client = api_for(role)
    if role == Role.AREA_MANAGER:
        # An area manager reads only their own areas: make the fixture's area theirs.
        world["area"].manager = client.user
        world["area"].save()
    return client


def _assert_error_shape(body):
    assert set(body) == {"code", "message", "detail"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("path", READ_PATHS, ids=READ_IDS)
@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_every_role_may_read_every_endpoint(api_for, world, role, path):
    # given a staff member of this role (an area manager owning the customer's area)
    client = _client_for(api_for, world, role)

    # when they read
    response = client.get(path.format(**world))

    # then it is allowed and returns the data
    assert response.status_code == 200, response.content
    body = response.json()
    if "results" in body:
        assert body["count"] >= 1
    else:
        assert body["id"] in {world["customer"], world["subscription"], world["contact"], world["script"]}


@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_only_contact_recording_roles_may_create_contacts(api_for, world, role):
    # given a staff member of this role who can see the customer
    client = _client_for(api_for, world, role)
    before = Contact.objects.count()

    # when they record a contact
    response = client.post("/api/v1/contacts/", {"customer": world["customer"], "reason": "Bill query"}, format="json")

    # then only the roles that take calls may; the others are refused with the error shape and nothing is written
    if role in MAY_RECORD_CONTACTS:
        assert response.status_code == 201, response.content
        assert response.json()["agent"] == client.user.username
        assert Contact.objects.count() == before + 1
    else:
        assert response.status_code == 403, response.content
        _assert_error_shape(response.json())
        assert response.json()["code"] == "permission_denied"
        assert Contact.objects.count() == before


@pytest.mark.parametrize("path", CREATE_PATHS[:2] + CREATE_PATHS[3:])
@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_no_role_may_write_to_read_only_endpoints(api_for, world, role, path):
    # given any staff member
    client = _client_for(api_for, world, role)

    # when they try to create a customer, subscription or script through the API
    response = client.post(path, {"name": "x", "title": "x"}, format="json")

    # then it is refused (403 without the model permission, 405 with it) in the error shape
    assert response.status_code in (403, 405), response.content
    _assert_error_shape(response.json())


@pytest.mark.parametrize("path", READ_PATHS + ["/api/v1/contacts/"], ids=READ_IDS + ["contacts-create"])
def test_anonymous_client_gets_401_with_the_error_shape(world, path):
    # given a client without credentials
    client = APIClient()

    # when it reads (or, for the last case, creates)
    url = path.format(**world)
    if path == "/api/v1/contacts/":
        response = client.post(url, {"customer": world["customer"], "reason": "x"}, format="json")
    else:
        response = client.get(url)

    # then it is told to authenticate, in the error shape
    assert response.status_code == 401, response.content
    body = response.json()
    _assert_error_shape(body)
    assert body["code"] == "not_authenticated"
    assert response.has_header("WWW-Authenticate")
    assert Contact.objects.count() == 1


def test_a_wrong_token_gets_401_with_the_error_shape(world):
    # given a client with a token that does not exist
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    # when it reads
    response = client.get("/api/v1/customers/")

    # then the credentials are refused
    assert response.status_code == 401
    _assert_error_shape(response.json())
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("path", READ_PATHS + ["/api/v1/contacts/"], ids=READ_IDS + ["contacts-create"])
def test_user_without_a_role_gets_403(api_for, world, path):
    # given an authenticated user who is in no role group
    client = api_for()
    assert not client.user.groups.exists()

    # when they read (or create)
    url = path.format(**world)
    if path == "/api/v1/contacts/":
        response = client.post(url, {"customer": world["customer"], "reason": "x"}, format="json")
    else:
        response = client.get(url)

    # then they are refused, in the error shape, and nothing is written
    assert response.status_code == 403, response.content
    _assert_error_shape(response.json())
    assert response.json()["code"] == "permission_denied"
    assert Contact.objects.count() == 1


def test_session_login_works_for_the_api_too(make_user, world):
    # given a staff member logged in to the console (session, not token)
    user = make_user(Role.AGENT)
    client = APIClient()
    client.force_login(user)

    # when the console's own JavaScript reads the API
    response = client.get(f"/api/v1/customers/{world['customer']}/")

    # then the session is accepted
    assert response.status_code == 200
