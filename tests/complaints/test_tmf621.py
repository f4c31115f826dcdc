"""TMF621 Trouble Ticket v4 over our complaints: create, retrieve, list, fields, headers, filters, PATCH, errors, statuses."""
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintNote, ComplaintStatus, Severity
from complaints.services import callbacks
from complaints.tmf621 import TMF_STATUS, TMF_STATUSES
from servicedesk.roles import Role
from tests.factories import ComplaintCategoryFactory, CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

TICKETS = "/tmf-api/troubleTicket/v4/troubleTicket"
NUMBER = "13800138000"

# Written out by hand from the mapping table in complaints/tmf621.py.
EXPECTED_STATUS = {
    "received": "acknowledged",
    "assigned": "acknowledged",
    "in_progress": "inProgress",
    "resolved": "resolved",
    "callback": "resolved",
    "closed": "closed",
}
ERROR_KEYS = {"code", "reason", "message", "status", "@type"}


@pytest.fixture
def category():
    return ComplaintCategoryFactory(code="network", name="Network", time_limit_hours=48)


@pytest.fixture
def customer():
    customer = CustomerFactory()
    SubscriptionFactory(customer=customer, service_number=NUMBER)
    return customer


@pytest.fixture
def client(api_for):
    return api_for(Role.API_CLIENT)


@pytest.fixture
def handler(api_for, make_user, category):
    return api_for(user=make_user(Role.COMPLAINT_HANDLER, department=category.department))


def ticket(who, **changes):
    return {
        "description": "No signal at home since Monday.",
        "severity": "normal",
        "ticketType": "network",
        "externalId": "CRM-1",
        "channel": {"id": "app_hall"},
        "relatedParty": [{"id": str(who.pk), "role": "Customer", "@referredType": "Individual"}],
        "relatedEntity": [{"id": NUMBER, "role": "serviceNumber", "@referredType": "Subscription"}],
        "note": [{"text": "Customer prefers SMS."}],
        **changes,
    }


def create(client, customer, **changes):
    response = client.post(TICKETS, ticket(customer, **changes), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def assert_tmf_error(response, http_status, code):
    assert response.status_code == http_status, response.content
    data = response.json()
    assert ERROR_KEYS <= set(data)
    assert data["@type"] == "Error" and data["status"] == str(http_status) and data["code"] == code
    return data


def test_status_mapping_covers_every_state_with_spec_names():
    assert {k.value if hasattr(k, "value") else k: v for k, v in TMF_STATUS.items()} == EXPECTED_STATUS
    assert set(TMF_STATUSES) == {"acknowledged", "rejected", "pending", "held", "inProgress", "cancelled", "closed", "resolved"}
    assert set(EXPECTED_STATUS) == set(ComplaintStatus.values)


def test_create_answers_a_trouble_ticket(client, customer, category):
    # when a client creates a trouble ticket
    response = client.post(TICKETS, ticket(customer), format="json")
    # then a complaint is taken and routed, and answered in TMF shape
    assert response.status_code == 201, response.content
    data = response.json()
    complaint = Complaint.objects.get(pk=int(data["id"]))
    assert data["@type"] == "TroubleTicket"
    assert data["href"].endswith(f"{TICKETS}/{complaint.pk}") and response["Location"] == data["href"]
    assert data["status"] == "acknowledged"
    assert data["ticketType"] == "network" and data["severity"] == "normal" and data["name"] == "Network"
    assert data["externalId"] == "CRM-1"
    assert data["relatedParty"][0]["id"] == str(customer.pk) and data["relatedParty"][0]["role"] == "Customer"
    assert data["channel"]["id"] == "app_hall"
    assert data["note"][0]["text"] == "Customer prefers SMS." and data["note"][0]["author"] == client.user.username
    assert data["creationDate"] and data["expectedResolutionDate"] and "resolutionDate" not in data
    assert data["statusChangeHistory"][0]["status"] == "acknowledged"
    assert complaint.service_number == NUMBER and complaint.first_ask_owner == client.user and complaint.channel == "app_hall"
    assert ComplaintNote.objects.filter(complaint=complaint).count() == 1


def test_create_is_idempotent(client, customer, category):
    first = client.post(TICKETS, ticket(customer), format="json", HTTP_IDEMPOTENCY_KEY="tt-1")
    again = client.post(TICKETS, ticket(customer), format="json", HTTP_IDEMPOTENCY_KEY="tt-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Complaint.objects.count() == 1 and ComplaintNote.objects.count() == 1
    assert_tmf_error(client.post(TICKETS, ticket(customer, description="Other"), format="json", HTTP_IDEMPOTENCY_KEY="tt-1"),
                     422, "idempotency_key_reused")


@pytest.mark.parametrize("changes, path", [
    ({"ticketType": "nope"}, "ticketType"),
    ({"severity": "urgent"}, "severity"),
    ({"relatedParty": []}, "relatedParty"),
    ({"relatedParty": [{"id": "999999", "role": "Customer"}]}, "relatedParty[0].id"),
    ({"channel": {"id": "pigeon"}}, "channel.id"),
    ({"relatedEntity": [{"id": "12", "role": "serviceNumber"}]}, "relatedEntity[0].id"),
    ({"relatedEntity": [{"id": "13900000000", "role": "serviceNumber"}]}, "relatedEntity"),
    ({"description": ""}, "description"),
])
def test_create_with_bad_attributes_is_a_tmf_400_naming_the_path(client, customer, category, changes, path):
    data = assert_tmf_error(client.post(TICKETS, ticket(customer, **changes), format="json"), 400, "invalid")
    assert path in data["message"]
    assert not Complaint.objects.exists()


def test_retrieve_with_fields_and_unknown_ids(client, customer, category):
    created = create(client, customer)
    full = client.get(f"{TICKETS}/{created['id']}")
    assert full.status_code == 200 and full.json()["id"] == created["id"]
    narrow = client.get(f"{TICKETS}/{created['id']}", {"fields": "status,severity"}).json()
    assert set(narrow) == {"id", "href", "@type", "status", "severity"}
    assert_tmf_error(client.get(f"{TICKETS}/999999"), 404, "not_found")
    assert_tmf_error(client.get(f"{TICKETS}/abc"), 404, "not_found")
    assert "fields" in assert_tmf_error(client.get(f"{TICKETS}/{created['id']}", {"fields": "colour"}), 400, "invalid")["message"]


def test_list_window_and_headers(client, customer, category):
    ids = [create(client, customer, externalId=f"CRM-{i}")["id"] for i in range(3)]
    response = client.get(TICKETS, {"offset": 1, "limit": 1, "fields": "status"})
    assert response.status_code == 200
    assert response["X-Total-Count"] == "3" and response["X-Result-Count"] == "1"
    assert response.json() == [{"id": ids[1], "href": response.json()[0]["href"], "status": "acknowledged", "@type": "TroubleTicket"}]
    assert_tmf_error(client.get(TICKETS, {"limit": "-1"}), 400, "invalid")
    assert_tmf_error(client.get(TICKETS, {"limit": "999"}), 400, "invalid")
    assert_tmf_error(client.get(TICKETS, {"colour": "red"}), 400, "invalid")


def test_list_filters(client, handler, customer, category):
    other_customer = CustomerFactory()
    ComplaintCategoryFactory(code="billing", department=category.department)
    network = create(client, customer, externalId="A")
    billing = create(client, other_customer, externalId="B", ticketType="billing", severity="high", relatedEntity=[])
    started = create(client, customer, externalId="C")
    assert handler.patch(f"{TICKETS}/{started['id']}", {"status": "inProgress"}, format="json").status_code == 200

    def ids(**params):
        response = client.get(TICKETS, params)
        assert response.status_code == 200, response.content
        assert response["X-Total-Count"] == str(len(response.json()))
        return {row["id"] for row in response.json()}

    assert ids() == {network["id"], billing["id"], started["id"]}
    assert ids(status="inProgress") == {started["id"]}
    assert ids(status="acknowledged,resolved") == {network["id"], billing["id"]}
    assert ids(status="closed") == set()
    assert ids(severity="high") == {billing["id"]}
    assert ids(ticketType="billing") == {billing["id"]}
    assert ids(externalId="B") == {billing["id"]}
    assert ids(**{"relatedParty.id": str(other_customer.pk)}) == {billing["id"]}
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert ids(**{"creationDate.gt": later}) == set()
    assert ids(**{"creationDate.lt": later}) == {network["id"], billing["id"], started["id"]}
    for params in ({"status": "lost"}, {"severity": "x"}, {"relatedParty.id": "x"}, {"creationDate.gt": "soon"}):
        assert_tmf_error(client.get(TICKETS, params), 400, "invalid")


def test_external_id_is_shown_and_filterable_only_for_the_client_that_gave_it(client, api_for, customer, category):
    created = create(client, customer)
    other = api_for(Role.API_CLIENT)
    assert "externalId" not in other.get(f"{TICKETS}/{created['id']}").json()
    assert other.get(TICKETS, {"externalId": "CRM-1"}).json() == []


def test_personal_data_is_masked_for_roles_that_do_not_call_back(client, handler, api_for, customer, category):
    created = create(client, customer, description=f"Call me on {NUMBER}")
    masked = api_for(Role.MANAGER).get(f"{TICKETS}/{created['id']}").json()
    assert NUMBER not in str(masked)
    assert masked["relatedEntity"][0]["id"] == "138****8000"
    assert NUMBER in handler.get(f"{TICKETS}/{created['id']}").json()["description"]


def test_area_managers_see_only_their_areas_tickets(client, api_for, customer, category):
    created = create(client, customer)
    stranger = api_for(Role.AREA_MANAGER)
    assert stranger.get(TICKETS).json() == []
    assert_tmf_error(stranger.get(f"{TICKETS}/{created['id']}"), 404, "not_found")


def test_a_role_without_the_permission_may_not_create(api_for, customer, category):
    assert_tmf_error(api_for(Role.DELIVERY_CLERK).post(TICKETS, ticket(customer), format="json"), 403, "permission_denied")


def test_delete_is_not_offered(handler, client, customer, category):
    created = create(client, customer)
    assert_tmf_error(handler.delete(f"{TICKETS}/{created['id']}"), 405, "method_not_allowed")


# --- PATCH ----------------------------------------------------------------------------------------

def test_patch_status_walks_the_mapped_transitions_and_records_history(client, handler, customer, category):
    created = create(client, customer)
    url = f"{TICKETS}/{created['id']}"
    started = handler.patch(url, {"status": "inProgress"}, format="json")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "inProgress"
    resolved = handler.patch(url, {"status": "resolved", "statusChangeReason": "Antenna replaced."}, format="json").json()
    assert resolved["status"] == "resolved" and resolved["resolutionDate"]
    assert [h["status"] for h in resolved["statusChangeHistory"]] == ["acknowledged", "inProgress", "resolved"]
    assert Complaint.objects.get(pk=int(created["id"])).status == ComplaintStatus.CALLBACK
    assert Complaint.objects.get(pk=int(created["id"])).resolution == "Antenna replaced."


def test_patch_to_a_status_that_does_not_map_or_is_not_next_is_409_naming_the_allowed(client, handler, customer, category):
    created = create(client, customer)
    url = f"{TICKETS}/{created['id']}"
    data = assert_tmf_error(handler.patch(url, {"status": "closed"}, format="json"), 409, "transition_not_allowed")
    assert "inProgress" in data["message"]
    data = assert_tmf_error(handler.patch(url, {"status": "resolved", "statusChangeReason": "x"}, format="json"), 409, "transition_not_allowed")
    assert Complaint.objects.get(pk=int(created["id"])).status == ComplaintStatus.ASSIGNED


def test_closed_tickets_map_to_closed(client, handler, customer, category):
    created = create(client, customer)
    url = f"{TICKETS}/{created['id']}"
    handler.patch(url, {"status": "inProgress"}, format="json")
    handler.patch(url, {"status": "resolved", "statusChangeReason": "Fixed."}, format="json")
    complaint = Complaint.objects.get(pk=int(created["id"]))
    callback = complaint.callbacks.get(kind="satisfaction")
    callbacks.callback_record(callback_id=callback.pk, by=handler.user, reached=True, satisfaction=5, solved=True)
    assert client.get(url).json()["status"] == "closed"


def test_patch_description_severity_and_notes(client, handler, customer, category):
    created = create(client, customer)
    url = f"{TICKETS}/{created['id']}"
    before = Complaint.objects.get(pk=int(created["id"])).due_at
    response = handler.patch(url, {"description": "No signal at all.", "severity": "critical", "note": [{"text": "Checked the cell."}]},
                             format="json")
    assert response.status_code == 200, response.content
    complaint = Complaint.objects.get(pk=int(created["id"]))
    assert complaint.description == "No signal at all." and complaint.severity == Severity.CRITICAL
    # a critical complaint gets a quarter of the time limit
    assert complaint.due_at == complaint.received_at + timedelta(hours=12) and complaint.due_at < before
    assert complaint.work_orders.get(status="open", kind="handling").due_at == complaint.due_at
    assert [n["text"] for n in response.json()["note"]] == ["Customer prefers SMS.", "Checked the cell."]


@pytest.mark.parametrize("changes, path", [
    ({"externalId": "NEW"}, "externalId"),
    ({"ticketType": "billing"}, "ticketType"),
    ({"severity": "urgent"}, "severity"),
    ({"status": "lost"}, "status"),
    ({"status": "resolved"}, "statusChangeReason"),
])
def test_patch_of_attributes_that_may_not_change_is_a_400(client, handler, customer, category, changes, path):
    created = create(client, customer)
    data = assert_tmf_error(handler.patch(f"{TICKETS}/{created['id']}", changes, format="json"), 400, "invalid")
    assert path in data["message"]
    assert Complaint.objects.get(pk=int(created["id"])).external_id == "CRM-1"


def test_patch_needs_the_permission_of_each_attribute(client, customer, category):
    created = create(client, customer)
    url = f"{TICKETS}/{created['id']}"
    # the API client may append a note but not change the severity nor the status
    assert client.patch(url, {"note": [{"text": "More detail."}]}, format="json").status_code == 200
    assert_tmf_error(client.patch(url, {"severity": "high"}, format="json"), 403, "permission_denied")
    assert_tmf_error(client.patch(url, {"status": "inProgress"}, format="json"), 403, "permission_denied")
    assert Complaint.objects.get(pk=int(created["id"])).severity == "normal"


def test_patch_of_an_unknown_ticket_is_404(handler):
    assert_tmf_error(handler.patch(f"{TICKETS}/999999", {"severity": "high"}, format="json"), 404, "not_found")


def test_the_list_reads_in_a_fixed_number_of_queries(client, customer, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    create(client, customer, externalId="X0")
    with CaptureQueriesContext(connection) as one:
        assert client.get(TICKETS).status_code == 200
    for i in range(4):
        create(client, customer, externalId=f"X{i + 1}")
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(TICKETS).json()) == 5
    assert len(five) == len(one)
