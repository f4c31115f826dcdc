"""The complaints REST API: create (idempotent), read, list with filters, transitions, notes, history, roles, masking, errors."""
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Complaint, ComplaintNote, ComplaintStatus, ComplaintTransition
from servicedesk.roles import Role
from tests.factories import ComplaintCategoryFactory, CustomerFactory, DepartmentFactory, ServiceAreaFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/complaints/"
NUMBER = "13800138000"


@pytest.fixture
def category():
    return ComplaintCategoryFactory(code="network", name="Network")


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


def body(who, **changes):
    return {
        "customer": who.pk, "category": "network", "severity": "high",
        "description": f"No signal at home since Monday; call {NUMBER}", "service_number": NUMBER,
        "channel": "app_hall", **changes,
    }


def assert_error(response, http_status, code):
    assert response.status_code == http_status, response.content
    assert set(response.json()) == {"code", "message", "detail"}
    assert response.json()["code"] == code
    assert response.json()["message"]


def take(client, customer, **changes):
    response = client.post(URL, body(customer, **changes), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- create ---------------------------------------------------------------------------------

def test_create_takes_and_routes_the_complaint_with_the_caller_as_first_ask_owner(client, customer, category):
    # given an API client and a customer with a line
    # when it submits a complaint
    response = client.post(URL, body(customer), format="json")
    # then the complaint is assigned to the category's department, with a deadline, owned by the caller
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "assigned"
    assert data["category"] == "network"
    assert data["department"] == category.department.code
    assert data["severity"] == "high"
    assert data["first_ask_owner"] == client.user.username
    assert response["Location"].endswith(f"{URL}{data['id']}/")
    complaint = Complaint.objects.get(pk=data["id"])
    assert complaint.channel == "app_hall" and complaint.service_number == NUMBER


def test_create_with_the_same_idempotency_key_returns_the_first_complaint(client, customer, category):
    # given a complaint submitted with an Idempotency-Key
    first = client.post(URL, body(customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # when the client retries with the same key and body
    again = client.post(URL, body(customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then the first answer comes back and nothing new is created
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Complaint.objects.count() == 1
    # and the same key with another body is refused in the one shape
    other = client.post(URL, body(customer, description="Another"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(other, 422, "idempotency_key_reused")


def test_create_with_the_same_external_id_returns_the_first_complaint(client, customer, category):
    first = take(client, customer, external_id="CRM-1")
    again = client.post(URL, body(customer, external_id="CRM-1"), format="json")
    assert again.json()["id"] == first["id"]
    assert first["external_id"] == "CRM-1"
    assert Complaint.objects.count() == 1


@pytest.mark.parametrize("changes, field", [
    ({"category": "nope"}, "category"),
    ({"severity": "urgent"}, "severity"),
    ({"description": ""}, "description"),
    ({"channel": "pigeon"}, "channel"),
    ({"service_number": "123"}, "service_number"),
    ({"service_number": "13900000000"}, "service_number"),  # not one of the customer's lines
    ({"customer": 999999}, "customer"),
])
def test_create_with_bad_fields_is_a_400_naming_the_field_and_creates_nothing(client, customer, category, changes, field):
    response = client.post(URL, body(customer, **changes), format="json")
    assert_error(response, 400, "invalid")
    assert field in response.json()["detail"]
    assert not Complaint.objects.exists()


def test_a_role_that_may_not_take_complaints_gets_403(api_for, customer, category):
    response = api_for(Role.DELIVERY_CLERK).post(URL, body(customer), format="json")
    assert_error(response, 403, "permission_denied")
    assert not Complaint.objects.exists()


def test_anonymous_callers_are_refused(customer, category):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code in (401, 403)


# --- read and list ----------------------------------------------------------------------------

def test_read_and_unknown_id(client, customer, category):
    created = take(client, customer)
    assert client.get(f"{URL}{created['id']}/").json()["id"] == created["id"]
    assert_error(client.get(f"{URL}999999/"), 404, "not_found")


def test_list_filters(client, handler, customer, category, api_for):
    # given complaints of two categories, severities and customers, one escalated and one started
    ComplaintCategoryFactory(code="billing", department=DepartmentFactory(code="BILL"))
    other_customer = CustomerFactory()
    SubscriptionFactory(customer=other_customer, service_number="13900139000")
    network = take(client, customer)
    billing = take(client, other_customer, category="billing", severity="low", service_number="13900139000")
    started = take(client, customer, severity="normal")
    handler.post(f"{URL}{started['id']}/transition/", {"action": "start"}, format="json")
    handler.post(f"{URL}{network['id']}/transition/", {"action": "escalate", "reason": "regulator"}, format="json")
    future = (timezone.now() + timedelta(days=10)).isoformat()
    handler.post(f"{URL}{network['id']}/transition/", {"action": "appeal", "due_at": future}, format="json")

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    # then each filter narrows the list
    assert ids() == {network["id"], billing["id"], started["id"]}
    assert ids(status="in_progress") == {started["id"]}
    assert ids(category="billing") == {billing["id"]}
    assert ids(department="BILL") == {billing["id"]}
    assert ids(severity="low") == {billing["id"]}
    # (the second complaint of the same customer within 30 days is escalated on intake as a repeat)
    assert ids(escalated="true") == {network["id"], started["id"]}
    assert ids(escalated="false") == {billing["id"]}
    assert ids(appeal="true") == {network["id"]}
    assert ids(customer=other_customer.pk) == {billing["id"]}
    assert ids(service_number="13900139000") == {billing["id"]}
    assert ids(received_after=(timezone.now() + timedelta(minutes=1)).isoformat()) == set()
    assert ids(received_before=(timezone.now() + timedelta(minutes=1)).isoformat()) == {network["id"], billing["id"], started["id"]}


@pytest.mark.parametrize("params, field", [
    ({"status": "lost"}, "status"), ({"severity": "x"}, "severity"), ({"customer": "abc"}, "customer"),
    ({"service_number": "12"}, "service_number"), ({"received_after": "yesterday"}, "received_after"),
])
def test_bad_filters_are_a_400_naming_the_filter(client, params, field):
    response = client.get(URL, params)
    assert_error(response, 400, "invalid")
    assert field in response.json()["detail"]


def test_area_managers_see_only_their_areas_complaints(client, api_for, make_user, customer, category):
    # given a complaint of a customer in an area managed by one area manager
    complaint = take(client, customer)
    manager = make_user(Role.AREA_MANAGER)
    customer.area.manager = manager
    customer.area.save()
    stranger = api_for(Role.AREA_MANAGER)
    # then the manager sees it and another area's manager does not
    assert [row["id"] for row in api_for(user=manager).get(URL).json()["results"]] == [complaint["id"]]
    assert stranger.get(URL).json()["results"] == []
    assert_error(stranger.get(f"{URL}{complaint['id']}/"), 404, "not_found")


def test_numbers_are_masked_for_roles_that_do_not_call_the_customer(client, handler, api_for, customer, category):
    complaint = take(client, customer)
    masked = api_for(Role.MANAGER).get(f"{URL}{complaint['id']}/").json()
    assert masked["service_number"] == "138****8000"
    assert NUMBER not in masked["description"]
    whole = handler.get(f"{URL}{complaint['id']}/").json()
    assert whole["service_number"] == NUMBER and NUMBER in whole["description"]


# --- transitions --------------------------------------------------------------------------------

def test_the_department_starts_and_resolves_and_the_history_records_it(client, handler, customer, category):
    complaint = take(client, customer)
    url = f"{URL}{complaint['id']}/transition/"
    started = handler.post(url, {"action": "start"}, format="json")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "in_progress"
    resolved = handler.post(url, {"action": "resolve", "resolution": "Replaced the cell's antenna."}, format="json")
    # resolving moves straight on to the callback
    assert resolved.json()["status"] == "callback"
    assert resolved.json()["resolution"] == "Replaced the cell's antenna."
    history = client.get(f"{URL}{complaint['id']}/history/").json()["results"]
    assert [h["transition"] for h in history] == ["take", "assign", "start", "resolve", "await_callback"]
    assert history[2]["by"] == handler.user.username


def test_transfer_moves_it_to_another_department(client, handler, customer, category):
    complaint = take(client, customer)
    target = DepartmentFactory(code="FIX")
    response = handler.post(f"{URL}{complaint['id']}/transition/", {"action": "transfer", "department": "FIX", "reason": "Fibre cut"},
                            format="json")
    assert response.status_code == 200, response.content
    assert response.json()["department"] == target.code
    assert ComplaintTransition.objects.filter(complaint_id=complaint["id"], transition="transfer").exists()


def test_a_refused_transition_is_409_with_the_allowed_states_and_changes_nothing(client, handler, customer, category):
    complaint = take(client, customer)
    response = handler.post(f"{URL}{complaint['id']}/transition/", {"action": "resolve", "resolution": "Done"}, format="json")
    assert_error(response, 409, "transition_not_allowed")
    assert "in_progress" in response.json()["detail"]["allowed"]
    assert response.json()["detail"]["current"] == "assigned"
    assert Complaint.objects.get(pk=complaint["id"]).status == ComplaintStatus.ASSIGNED


@pytest.mark.parametrize("payload, field", [
    ({"action": "fly"}, "action"),
    ({"action": "resolve"}, "resolution"),
    ({"action": "transfer", "reason": "x"}, "department"),
    ({"action": "transfer", "department": "NOPE", "reason": "x"}, "department"),
    ({"action": "escalate", "reason": "bored"}, "reason"),
    ({"action": "appeal"}, "due_at"),
])
def test_bad_transition_requests_are_a_400_naming_the_field(client, handler, customer, category, payload, field):
    complaint = take(client, customer)
    response = handler.post(f"{URL}{complaint['id']}/transition/", payload, format="json")
    assert_error(response, 400, "invalid")
    assert field in response.json()["detail"]


def test_roles_without_the_transitions_permission_get_403(client, api_for, customer, category):
    complaint = take(client, customer)
    # the API client may take complaints but not work them
    assert_error(client.post(f"{URL}{complaint['id']}/transition/", {"action": "start"}, format="json"), 403, "permission_denied")
    # a manager may escalate but not start
    manager = api_for(Role.MANAGER)
    assert_error(manager.post(f"{URL}{complaint['id']}/transition/", {"action": "start"}, format="json"), 403, "permission_denied")
    escalated = manager.post(f"{URL}{complaint['id']}/transition/", {"action": "escalate", "reason": "regulator"}, format="json")
    assert escalated.status_code == 200 and escalated.json()["escalated"] is True


def test_a_handler_of_another_department_may_not_start_it(client, api_for, make_user, customer, category):
    complaint = take(client, customer)
    other = api_for(user=make_user(Role.COMPLAINT_HANDLER, department=DepartmentFactory()))
    assert_error(other.post(f"{URL}{complaint['id']}/transition/", {"action": "start"}, format="json"), 403, "permission_denied")


def test_transition_of_an_unknown_complaint_is_404(handler):
    assert_error(handler.post(f"{URL}999999/transition/", {"action": "start"}, format="json"), 404, "not_found")


# --- notes ----------------------------------------------------------------------------------------

def test_notes_are_added_and_listed(client, customer, category):
    complaint = take(client, customer)
    url = f"{URL}{complaint['id']}/notes/"
    added = client.post(url, {"text": "Customer called again."}, format="json")
    assert added.status_code == 201, added.content
    assert added.json()["by"] == client.user.username
    assert [n["text"] for n in client.get(url).json()["results"]] == ["Customer called again."]
    assert_error(client.post(url, {"text": ""}, format="json"), 400, "invalid")
    assert ComplaintNote.objects.count() == 1


def test_roles_without_the_notes_permission_may_read_but_not_add(client, api_for, customer, category):
    complaint = take(client, customer)
    clerk = api_for(Role.DELIVERY_CLERK)
    assert clerk.get(f"{URL}{complaint['id']}/notes/").status_code == 200
    assert_error(clerk.post(f"{URL}{complaint['id']}/notes/", {"text": "x"}, format="json"), 403, "permission_denied")


def test_notes_of_a_complaint_outside_the_area_are_404(client, api_for, customer, category):
    complaint = take(client, customer)
    customer.area = ServiceAreaFactory()
    customer.save()
    assert_error(api_for(Role.AREA_MANAGER).get(f"{URL}{complaint['id']}/notes/"), 404, "not_found")


def test_the_list_reads_in_a_fixed_number_of_queries(client, customer, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    take(client, customer)
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for _ in range(4):
        take(client, customer)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(URL).json()["results"]) == 5
    assert len(five) == len(one)
