"""The complaints pages: permissions, bad input, pagination, the customer screen's button and panel."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintStatus, WorkOrder
from complaints.views import work as work_views
from tests.factories import ComplaintCategoryFactory, CustomerFactory, DepartmentFactory, SubscriptionFactory, UserFactory

from .helpers_c1 import given_complaint, given_handler, given_resolved

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def test_the_customer_screen_offers_new_complaint_to_agents_only_and_shows_open_complaints(client):
    # given a customer with an open complaint
    complaint = given_complaint()
    customer_url = reverse("console:customer", args=[complaint.customer_id])

    # when an agent opens the customer screen, then the button and the panel are there
    body = _client(client, UserFactory(roles=["agent"])).get(customer_url).content.decode()
    assert reverse("complaints:new", args=[complaint.customer_id]) in body
    assert reverse("complaints:detail", args=[complaint.pk]) in body

    # when a delivery clerk does, then there is no button
    body = _client(client, UserFactory(roles=["delivery_clerk"])).get(customer_url).content.decode()
    assert reverse("complaints:new", args=[complaint.customer_id]) not in body


def test_the_form_prefills_the_category_template_and_offers_the_customers_lines(client):
    # given a customer with a line and a category with a template
    line = SubscriptionFactory(service_number="13912345678")
    category = ComplaintCategoryFactory(template="Since when? Indoors or outdoors?")
    client = _client(client, UserFactory(roles=["agent"]))
    url = reverse("complaints:new", args=[line.customer_id])

    # when the category is picked (HTMX)
    response = client.get(url, {"category": category.pk, "number": "13912345678"}, HTTP_HX_REQUEST="true")

    # then the form comes back alone with the template as the description and the line offered
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Since when? Indoors or outdoors?" in body
    assert 'value="13912345678" selected' in body


def test_taking_a_complaint_through_the_page_routes_it_and_redirects(client):
    line = SubscriptionFactory()
    category = ComplaintCategoryFactory()
    client = _client(client, UserFactory(roles=["agent"]))

    response = client.post(reverse("complaints:new", args=[line.customer_id]), {
        "category": category.pk, "severity": "high", "channel": "hotline", "service_number": line.service_number, "description": "Dropped calls",
    })

    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("complaints:detail", args=[complaint.pk])
    assert (complaint.status, complaint.service_number, complaint.severity) == (ComplaintStatus.ASSIGNED, line.service_number, "high")


@pytest.mark.parametrize("data", [
    {"category": "", "severity": "normal", "channel": "hotline", "description": "x"},
    {"category": "999999", "severity": "normal", "channel": "hotline", "description": "x"},
    {"category": "CAT", "severity": "huge", "channel": "hotline", "description": ""},
    {"category": "CAT", "severity": "normal", "channel": "hotline", "description": "x", "service_number": "19900000000"},
])
def test_bad_input_comes_back_with_422_and_nothing_is_written(client, data):
    customer = CustomerFactory()
    category = ComplaintCategoryFactory()
    data = {k: (str(category.pk) if v == "CAT" else v) for k, v in data.items()}
    response = _client(client, UserFactory(roles=["agent"])).post(reverse("complaints:new", args=[customer.pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert 'class="error"' in response.content.decode()
    assert not Complaint.objects.exists()


def test_roles_without_permission_get_403(client):
    customer = CustomerFactory()
    complaint = given_complaint(customer=customer)
    clerk = _client(client, UserFactory(roles=["delivery_clerk"]))
    assert clerk.get(reverse("complaints:new", args=[customer.pk])).status_code == 403
    assert clerk.get(reverse("complaints:queue")).status_code == 403
    assert clerk.get(reverse("complaints:callbacks")).status_code == 403
    assert clerk.post(reverse("complaints:start", args=[complaint.pk])).status_code == 403
    agent = _client(client, UserFactory(roles=["agent"]))
    assert agent.post(reverse("complaints:start", args=[complaint.pk])).status_code == 403
    assert Complaint.objects.get().status == ComplaintStatus.ASSIGNED


def test_an_unknown_complaint_or_customer_is_404(client):
    client = _client(client, UserFactory(roles=["agent"]))
    assert client.get(reverse("complaints:detail", args=[999999])).status_code == 404
    assert client.get(reverse("complaints:new", args=[999999])).status_code == 404


def test_the_complaint_page_shows_actions_by_permission_and_state(client):
    complaint = given_complaint()
    handler = given_handler(complaint.department)
    url = reverse("complaints:detail", args=[complaint.pk])

    body = _client(client, handler).get(url).content.decode()
    assert 'data-testid="start"' in body and 'data-testid="resolve"' not in body and 'data-testid="transfer"' in body

    body = _client(client, UserFactory(roles=["agent"])).get(url).content.decode()
    assert 'data-testid="start"' not in body and 'data-testid="add-note"' in body


def test_start_and_resolve_through_the_page_and_a_missing_resolution_is_422(client):
    complaint = given_complaint()
    client = _client(client, given_handler(complaint.department))

    assert client.post(reverse("complaints:start", args=[complaint.pk])).status_code == 302
    response = client.post(reverse("complaints:resolve", args=[complaint.pk]), {"resolution": ""})
    assert response.status_code == 422
    assert Complaint.objects.get().status == ComplaintStatus.IN_PROGRESS
    assert client.post(reverse("complaints:resolve", args=[complaint.pk]), {"resolution": "Fixed"}).status_code == 302
    assert Complaint.objects.get().status == ComplaintStatus.CALLBACK


def test_a_refused_step_is_409_with_the_reason_on_the_page(client):
    complaint = given_complaint()
    client = _client(client, given_handler(complaint.department))
    response = client.post(reverse("complaints:resolve", args=[complaint.pk]), {"resolution": "Fixed"})
    assert response.status_code == 409
    assert "not possible while the record is" in response.content.decode()


def test_the_department_queue_lists_only_the_users_department_by_deadline_breaches_flagged_and_paginated(client, monkeypatch):
    # given three complaints for the handler's department (one past due) and one for another department
    monkeypatch.setattr(work_views, "PER_PAGE", 2)
    department = DepartmentFactory()
    category = ComplaintCategoryFactory(department=department)
    complaints = [given_complaint(category=category) for _ in range(3)]
    other = given_complaint()
    WorkOrder.objects.filter(complaint=complaints[2]).update(due_at=timezone.now() - timedelta(hours=1))
    client = _client(client, given_handler(department))

    # when the handler opens the queue
    first = client.get(reverse("complaints:queue")).content.decode()
    second = client.get(reverse("complaints:queue"), {"page": "2"}).content.decode()

    # then the breached one comes first and is flagged; two pages; the other department's is absent
    assert first.index(f"#{complaints[2].pk} ") < first.index(f"#{complaints[0].pk} ")
    assert "breached" in first and "Page 1 of 2" in first
    assert f"#{complaints[1].pk} " in second
    assert f'data-work-order="{other.work_orders.get().pk}"' not in first + second

    # and the breached filter and a nonsense page and filter do not fail
    only = client.get(reverse("complaints:queue"), {"breached_only": "1"}).content.decode()
    assert f"#{complaints[2].pk} " in only and f"#{complaints[0].pk} " not in only
    response = client.get(reverse("complaints:queue"), {"page": "abc", "category": "nope", "kind": "x"})
    assert response.status_code == 200 and "not understood" in response.content.decode()


def test_the_callback_queue_and_recording_a_result(client):
    complaint, _ = given_resolved()
    callback = Callback.objects.get(complaint=complaint)
    client = _client(client, UserFactory(roles=["agent"]))

    body = client.get(reverse("complaints:callbacks")).content.decode()
    assert f'data-callback="{callback.pk}"' in body

    response = client.post(reverse("complaints:callback_record", args=[callback.pk]), {"reached": "yes", "satisfaction": "", "solved": "yes"})
    assert response.status_code == 422 and Complaint.objects.get().status == ComplaintStatus.CALLBACK

    response = client.post(reverse("complaints:callback_record", args=[callback.pk]), {"reached": "yes", "satisfaction": "5", "solved": "yes"})
    assert response.status_code == 302 and Complaint.objects.get().status == ComplaintStatus.CLOSED

    response = client.post(reverse("complaints:callback_record", args=[callback.pk]), {"reached": "no"})
    assert response.status_code == 409


def test_my_complaints_lists_the_owners_complaints_with_breaches(client):
    agent = UserFactory(roles=["agent"])
    mine = given_complaint(agent=agent)
    theirs = given_complaint()
    Complaint.objects.filter(pk=mine.pk).update(due_at=timezone.now() - timedelta(hours=1))

    body = _client(client, agent).get(reverse("complaints:mine")).content.decode()

    assert f"#{mine.pk} " in body and f"#{theirs.pk} " not in body and "breached" in body
