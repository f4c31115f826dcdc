"""The complaints app's part of the self-service halls: the complaints section, filing and rating in the
web hall, and complaints from the IVR and the app hall through the same intake."""
import pytest
from django.conf import settings

from complaints.models import Callback, Complaint, ComplaintStatus, WorkOrder
from complaints.selfservice import RATE, file_complaint, rate_callback
from servicedesk import selfservice
from servicedesk.models import Channel, Contact, ContactLink, Outcome, VipTier
from servicedesk.roles import Role
from tests.factories import (
    CallbackFactory,
    ComplaintCategoryFactory,
    ComplaintFactory,
    CustomerFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/self-service/complaints/"
LINE = "13912345678"


@pytest.fixture
def customer(db):
    return SubscriptionFactory(service_number=LINE).customer


@pytest.fixture
def ivr(api_for):
    return api_for(Role.API_CLIENT)


def asking(customer):
    return selfservice.ActionRequest(customer=customer, service_number=LINE)


@pytest.mark.parametrize("status, callback_status, offered", [
    (ComplaintStatus.CALLBACK, Callback.Status.DUE, True),
    (ComplaintStatus.CALLBACK, Callback.Status.COMPLETED, False),
    (ComplaintStatus.IN_PROGRESS, None, False),
    (ComplaintStatus.CLOSED, Callback.Status.COMPLETED, False),
])
def test_the_rating_is_offered_while_the_satisfaction_callback_is_due(customer, status, callback_status, offered):
    complaint = ComplaintFactory(customer=customer, status=status)
    if callback_status:
        CallbackFactory(complaint=complaint, status=callback_status)

    item = selfservice.section("complaints").item(customer, complaint.pk)

    assert (RATE in item.actions) is offered
    assert item.data["callback_due"] is offered


def test_the_section_lists_only_the_customers_complaints_open_first_if_asked(customer):
    open_one = ComplaintFactory(customer=customer, status=ComplaintStatus.ASSIGNED)
    closed = ComplaintFactory(customer=customer, status=ComplaintStatus.CLOSED)
    theirs = ComplaintFactory(status=ComplaintStatus.ASSIGNED)
    section = selfservice.section("complaints")

    assert {i.id for i in section.items(customer, False)} == {open_one.pk, closed.pk}
    assert [i.id for i in section.items(customer, True)] == [open_one.pk]
    assert section.item(customer, theirs.pk) is None


def test_a_web_hall_complaint_is_owned_by_the_halls_account_and_routed(customer):
    category = ComplaintCategoryFactory(name="Billing", is_fault=True)

    message = file_complaint(asking(customer), None, {"category": category, "description": "Charged twice"})

    complaint = Complaint.objects.get()
    assert (complaint.channel, complaint.status, complaint.service_number) == (Channel.WEB_HALL, ComplaintStatus.ASSIGNED, LINE)
    assert complaint.first_ask_owner.username == settings.SELF_SERVICE_USERNAME
    assert set(WorkOrder.objects.filter(complaint=complaint).values_list("kind", flat=True)) == {"handling", "repair"}
    assert f"#{complaint.pk}" in message
    contact = Contact.objects.get()
    assert contact.reason == "Complaint: Billing" and ContactLink.objects.get(contact=contact).target == complaint


def test_a_vip_customers_web_complaint_is_escalated_as_on_the_phone(customer):
    customer.vip_tier = VipTier.GOLD
    customer.save()

    file_complaint(asking(customer), None, {"category": ComplaintCategoryFactory(), "description": "Slow"})

    assert Complaint.objects.get().escalated


def test_rating_another_customers_complaint_does_not_exist(customer):
    theirs = ComplaintFactory(status=ComplaintStatus.CALLBACK)
    callback = CallbackFactory(complaint=theirs)

    with pytest.raises(Complaint.DoesNotExist):
        rate_callback(asking(customer), theirs.pk, {"satisfaction": 5, "solved": True})

    assert Callback.objects.get(pk=callback.pk).status == Callback.Status.DUE


def test_rating_records_the_score_by_the_halls_account(customer):
    complaint = ComplaintFactory(customer=customer, status=ComplaintStatus.CALLBACK)
    callback = CallbackFactory(complaint=complaint)

    rate_callback(asking(customer), complaint.pk, {"satisfaction": 2, "solved": True})

    callback = Callback.objects.get(pk=callback.pk)
    assert (callback.satisfaction, callback.reached, callback.by.username) == (2, True, settings.SELF_SERVICE_USERNAME)
    assert Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.CLOSED


@pytest.mark.parametrize("channel", [Channel.IVR, Channel.APP_HALL])
def test_a_complaint_from_a_self_service_channel_goes_through_intake(ivr, customer, channel):
    category = ComplaintCategoryFactory(code="NET", name="Network")

    response = ivr.post(URL, {
        "channel": channel, "customer": customer.pk, "category": "NET", "description": "No signal at home", "service_number": LINE,
    }, format="json")

    assert response.status_code == 201, response.json()
    complaint = Complaint.objects.get()
    assert (complaint.channel, complaint.first_ask_owner_id, complaint.department_id) == (channel, ivr.user.pk, category.department_id)
    contact = Contact.objects.get()
    assert (contact.channel, contact.agent, contact.outcome) == (channel, None, Outcome.COMPLAINT_OPENED)
    assert complaint.contact_id == contact.pk and ContactLink.objects.get(contact=contact).target == complaint
    assert response.json()["contact"] == contact.pk and response.json()["channel"] == channel


@pytest.mark.parametrize("change, field", [
    ({"channel": "web_hall"}, "channel"),
    ({"category": "NOPE"}, "category"),
    ({"description": ""}, "description"),
    ({"service_number": "13700000000"}, "service_number"),
    ({"customer": 999999}, "customer"),
])
def test_a_bad_complaint_is_400_naming_the_field_and_writes_nothing(ivr, customer, change, field):
    ComplaintCategoryFactory(code="NET")
    body = {"channel": "ivr", "customer": customer.pk, "category": "NET", "description": "No signal", **change}

    response = ivr.post(URL, body, format="json")

    assert response.status_code == 400 and field in response.json()["detail"], response.json()
    assert not Complaint.objects.exists() and not Contact.objects.exists()


def test_an_inactive_category_cannot_be_filed(ivr, customer):
    ComplaintCategoryFactory(code="OLD", active=False)

    response = ivr.post(URL, {"channel": "ivr", "customer": customer.pk, "category": "OLD", "description": "x"}, format="json")

    assert response.status_code == 400 and "category" in response.json()["detail"]


def test_another_customer_is_not_touched_by_a_status_read(ivr, customer):
    other = CustomerFactory()
    ComplaintFactory(customer=other)

    body = ivr.get(f"/api/v1/self-service/callers/{customer.pk}/status/").json()

    assert [s["items"] for s in body["sections"] if s["key"] == "complaints"] == [[]]


def test_the_complaint_card_says_when_it_was_taken_in_chinese_not_goods_received(customer):
    from django.utils import translation

    from complaints.selfservice import complaint_item

    complaint = ComplaintFactory(customer=customer)
    with translation.override("zh-hans"):
        labels = [label for label, _value in complaint_item(complaint).fields]

    assert "受理时间" in labels and "确认收货" not in labels
