"""ID numbers and addresses come whole only to the roles whose work needs them."""
import pytest

from servicedesk.roles import Role
from tests.factories import CustomerFactory, ServiceAreaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

ID_NUMBER = "110101199003071234"
MASKED_ID_NUMBER = "1101**********1234"
ADDRESS = "天津市和平区南京路100号3门501"
MASKED_ADDRESS = "天津市和平区****"

# Written out by hand: which roles see what whole.
WHOLE_ID_NUMBER = {Role.BACK_OFFICE, Role.DELIVERY_CLERK, Role.ADMIN}
WHOLE_ADDRESS = {Role.AGENT, Role.BACK_OFFICE, Role.DELIVERY_CLERK, Role.AREA_MANAGER, Role.ADMIN}



@pytest.fixture
def customer_seen_by(api_for):
    def make(role):
        client = api_for(role)
        # The area is the reader's own, so that an area manager may read the customer at all.
        customer = CustomerFactory(id_number=ID_NUMBER, address=ADDRESS, area=ServiceAreaFactory(manager=client.user))
        SubscriptionFactory(customer=customer, service_number="13812345678")
        return client, customer

    return make


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("endpoint", ["detail", "list", "filter-by-id-number"])
def test_id_number_and_address_are_masked_by_role(customer_seen_by, role, endpoint):
    # given a customer and a reader of this role
    client, customer = customer_seen_by(role)

    # when the reader gets the customer through the detail, the list or the ID-number filter
    if endpoint == "detail":
        row = client.get(f"/api/v1/customers/{customer.pk}/").json()
    else:
        query = {"id_number": ID_NUMBER} if endpoint == "filter-by-id-number" else {}
        (row,) = client.get("/api/v1/customers/", query).json()["results"]

    # then the ID number and address are whole only for the roles that need them
    assert row["id"] == customer.pk
    assert row["id_number"] == (ID_NUMBER if role in WHOLE_ID_NUMBER else MASKED_ID_NUMBER)
    assert row["address"] == (ADDRESS if role in WHOLE_ADDRESS else MASKED_ADDRESS)


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010119900307123X", "1101**********123X"),
        ("110101900307123", "1101*******7123"),  # old 15-digit card
        ("E12345678", "E123*5678"),  # passport
    ],
)
def test_masking_keeps_the_shape_of_other_documents(api_for, id_number, masked):
    # given an agent (masked) and a customer with another kind of document number
    client = api_for(Role.AGENT)
    customer = CustomerFactory(id_number=id_number)

    # when the agent reads the customer
    row = client.get(f"/api/v1/customers/{customer.pk}/").json()

    # then only the ends show, and the whole number is nowhere in the response
    assert row["id_number"] == masked
    assert id_number not in str(row)


def test_a_role_holder_granted_the_permission_personally_sees_it_whole(api_for):
    # given an agent who was given view_full_id_number directly (not through a role)
    from django.contrib.auth.models import Permission

    client = api_for(Role.AGENT)
    client.user.user_permissions.add(Permission.objects.get(codename="view_full_id_number"))
    customer = CustomerFactory(id_number=ID_NUMBER)

    # when they read the customer, then the permission, not the role name, decides
    assert client.get(f"/api/v1/customers/{customer.pk}/").json()["id_number"] == ID_NUMBER
