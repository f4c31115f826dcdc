"""The web self-service hall: signing in with a code, what a signed-in customer sees and does, and that
nothing is shown or changed without a verified session or for another customer."""
import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintStatus
from delivery.models import Shipment, ShipmentStatus
from servicedesk import registry, selfservice
from servicedesk.models import (
    Channel,
    Contact,
    ContactLink,
    OneTimeCode,
    Outcome,
    SmsMessage,
)
from servicedesk.otp import SELFSERVICE_CODE
from tests.delivery.support_helpers import make_shipment
from tests.factories import (
    CallbackFactory,
    ComplaintCategoryFactory,
    ComplaintFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LINE = "13912345678"
OTHER_LINE = "13700001111"


def code_for(number: str) -> str:
    message = SmsMessage.objects.filter(to_number=number, template=SELFSERVICE_CODE).order_by("-id").first()
    return re.search(r"\d{6}", message.body).group(0)


def sign_in(client: Client, number: str = LINE) -> None:
    client.post("/self/sign-in/", {"number": number})
    response = client.post("/self/code/", {"code": code_for(number)})
    assert response.status_code == 302 and response["Location"] == "/self/"


@pytest.fixture
def mine(db):
    """The signed-in customer's SIM order with its shipment (with the carrier), and a complaint awaiting its callback."""
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=LINE)
    complaint = ComplaintFactory(customer=shipment.order.customer, status=ComplaintStatus.CALLBACK, resolution="Replaced the router")
    callback = CallbackFactory(complaint=complaint)
    return shipment, complaint, callback


@pytest.fixture
def theirs(db):
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=OTHER_LINE)
    complaint = ComplaintFactory(customer=shipment.order.customer, status=ComplaintStatus.CALLBACK)
    return shipment, complaint, CallbackFactory(complaint=complaint)


# --- Access ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, url", [
    ("get", "/self/"),
    ("get", "/self/orders/{order}/"),
    ("get", "/self/shipments/{shipment}/"),
    ("post", "/self/do/delivery.appointment/{shipment}/"),
    ("post", "/self/do/complaints.rate/{complaint}/"),
    ("post", "/self/do/complaints.file/"),
])
def test_nothing_without_a_verified_number(client, mine, method, url):
    shipment, complaint, _callback = mine
    url = url.format(order=shipment.order_id, shipment=shipment.pk, complaint=complaint.pk)
    data = {f"delivery-appointment-{shipment.pk}-date": (timezone.localdate() + timedelta(days=3)).isoformat(),
            f"delivery-appointment-{shipment.pk}-slot": "evening"}

    # given a code was asked for but never entered
    client.post("/self/sign-in/", {"number": LINE})
    response = getattr(client, method)(url, data)

    assert response.status_code == 302 and response["Location"] == "/self/sign-in/"
    assert Shipment.objects.get(pk=shipment.pk).appointment_slot == "afternoon"
    assert not Contact.objects.filter(channel=Channel.WEB_HALL).exists()


def test_another_customers_items_are_not_found(client, mine, theirs):
    their_shipment, their_complaint, their_callback = theirs
    sign_in(client)

    pages = [client.get(f"/self/orders/{their_shipment.order_id}/"), client.get(f"/self/shipments/{their_shipment.pk}/"),
             client.get(f"/self/complaints/{their_complaint.pk}/")]
    prefix = f"delivery-appointment-{their_shipment.pk}"
    change = client.post(f"/self/do/delivery.appointment/{their_shipment.pk}/",
                         {f"{prefix}-date": (timezone.localdate() + timedelta(days=3)).isoformat(), f"{prefix}-slot": "evening"})
    rate = client.post(f"/self/do/complaints.rate/{their_complaint.pk}/",
                       {f"complaints-rate-{their_complaint.pk}-satisfaction": "5", f"complaints-rate-{their_complaint.pk}-solved": "yes"})

    assert [p.status_code for p in pages] == [404, 404, 404]
    assert change.status_code == 404 and rate.status_code == 404
    assert Shipment.objects.get(pk=their_shipment.pk).appointment_slot == "afternoon"
    assert Callback.objects.get(pk=their_callback.pk).status == Callback.Status.DUE
    assert not Contact.objects.filter(channel=Channel.WEB_HALL).exists()


def test_the_home_page_shows_only_the_customers_own_items(client, mine, theirs):
    shipment, complaint, _callback = mine
    sign_in(client)

    page = client.get("/self/").content.decode()

    assert f'data-testid="order-{shipment.order_id}"' in page
    assert f'data-testid="shipment-{shipment.pk}"' in page and shipment.tracking_number in page and "SF Express" in page
    assert f'data-testid="complaint-{complaint.pk}"' in page
    assert f"order-{theirs[0].order_id}\"" not in page and theirs[0].tracking_number not in page
    assert "139****5678" in page  # the number is shown masked


def test_an_order_page_shows_its_shipment(client, mine):
    shipment, _complaint, _callback = mine
    sign_in(client)

    page = client.get(f"/self/orders/{shipment.order_id}/").content.decode()

    assert f'data-testid="order-{shipment.order_id}"' in page and f'data-testid="shipment-{shipment.pk}"' in page


def test_the_page_is_for_a_phone_and_loads_nothing_from_elsewhere(client, mine):
    sign_in(client)

    page = client.get("/self/").content.decode()

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "/static/selfservice/hall.css" in page and "base.html" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


# --- Signing in --------------------------------------------------------------------------------

def test_a_known_and_an_unknown_number_get_the_same_answer(mine):
    known, unknown = Client(), Client()

    answers = [c.post("/self/sign-in/", {"number": n}, follow=True) for c, n in ((known, LINE), (unknown, "13600009999"))]

    texts = [re.sub(r"1[0-9]{2}(\*{4}|[0-9]{4})[0-9]{4}", "NUMBER", a.content.decode()) for a in answers]
    texts = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", t) for t in texts]
    assert texts[0] == texts[1]
    assert [a.redirect_chain for a in answers] == [[("/self/code/", 302)], [("/self/code/", 302)]]
    assert SmsMessage.objects.filter(template=SELFSERVICE_CODE).count() == 1
    assert OneTimeCode.objects.count() == 2


def test_a_wrong_code_is_refused_with_the_tries_left(client, mine):
    client.post("/self/sign-in/", {"number": LINE})
    right = code_for(LINE)

    response = client.post("/self/code/", {"code": "000000" if right != "000000" else "111111"})

    assert response.status_code == 200 and "4 more times" in response.content.decode()
    assert client.get("/self/").status_code == 302


@pytest.mark.parametrize("code, error", [
    ("", "This field is required"), ("12345", "Enter the 6 digits"), ("abcdef", "Enter the 6 digits"), ("1234567", "Enter the 6 digits"),
])
def test_a_malformed_code_is_a_form_error_and_costs_no_try(client, mine, code, error):
    client.post("/self/sign-in/", {"number": LINE})

    response = client.post("/self/code/", {"code": code})

    assert response.status_code == 200 and error in response.content.decode()
    assert OneTimeCode.objects.get().attempts == 0


@pytest.mark.parametrize("number", ["", "12345", "not a number", "4008123123"])
def test_a_bad_number_is_a_form_error(client, number):
    response = client.post("/self/sign-in/", {"number": number})

    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not OneTimeCode.objects.exists()


def test_asking_again_too_soon_says_when_to_try_again(client, mine):
    client.post("/self/sign-in/", {"number": LINE})

    response = client.post("/self/sign-in/", {"number": LINE})

    assert response.status_code == 429
    assert "Please try again in" in response.content.decode()
    assert OneTimeCode.objects.count() == 1


def test_the_signed_in_session_lasts_thirty_minutes(client, mine):
    sign_in(client)
    session = client.session
    session[selfservice.SESSION_KEY]["at"] -= django_settings.SELF_SERVICE_SESSION_SECONDS + 1
    session.save()

    response = client.get("/self/", follow=True)

    assert response.redirect_chain[-1] == ("/self/sign-in/", 302)
    assert "Your session has ended" in response.content.decode()


def test_signing_out_forgets_the_number(client, mine):
    sign_in(client)

    client.post("/self/sign-out/")

    assert client.get("/self/").status_code == 302
    assert selfservice.SESSION_KEY not in client.session


def test_a_post_without_the_csrf_token_is_refused(mine):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/self/sign-in/", {"number": LINE})

    assert response.status_code == 403
    assert not OneTimeCode.objects.exists()


# --- Actions -----------------------------------------------------------------------------------

def appointment_data(shipment, day, slot="evening"):
    prefix = f"delivery-appointment-{shipment.pk}"
    return {f"{prefix}-date": day.isoformat(), f"{prefix}-slot": slot, "next": "/self/"}


def test_changing_the_appointment_moves_it_sends_the_sms_and_records_the_contact(client, mine):
    shipment, _complaint, _callback = mine
    sign_in(client)
    day = timezone.localdate() + timedelta(days=3)

    response = client.post(f"/self/do/delivery.appointment/{shipment.pk}/", appointment_data(shipment, day), follow=True)

    shipment = Shipment.objects.select_related("order").get(pk=shipment.pk)
    assert (shipment.appointment_date, shipment.appointment_slot) == (day, "evening")
    assert (shipment.order.appointment_date, shipment.order.appointment_slot) == (day, "evening")
    assert "An SMS confirms it" in response.content.decode()
    assert SmsMessage.objects.filter(template="delivery.appointment_changed", to_number=LINE).exists()
    contact = Contact.objects.get(channel=Channel.WEB_HALL, reason="Changed the delivery appointment")
    assert contact.customer_id == shipment.order.customer_id and contact.agent is None and contact.service_number == LINE
    assert ContactLink.objects.get(contact=contact).target == shipment
    assert shipment.transitions.filter(transition="change_appointment").get().by.username == django_settings.SELF_SERVICE_USERNAME


def test_the_console_timeline_shows_the_web_hall_step(client, mine):
    shipment, _complaint, _callback = mine
    sign_in(client)
    client.post(f"/self/do/delivery.appointment/{shipment.pk}/", appointment_data(shipment, timezone.localdate() + timedelta(days=2)))

    entries = registry.timeline_for(shipment.order.customer, UserFactory(roles=["agent"]), limit=50)

    step = next(e for e in entries if e.kind == "contact" and e.title == "Changed the delivery appointment")
    assert step.channel == "Web hall"


def test_a_refused_change_shows_the_support_desks_reason_and_changes_nothing(client):
    shipment = make_shipment(ShipmentStatus.OUT_FOR_DELIVERY, line=LINE)
    sign_in(client)

    page = client.get("/self/").content.decode()
    response = client.post(f"/self/do/delivery.appointment/{shipment.pk}/",
                           appointment_data(shipment, timezone.localdate() + timedelta(days=3)), follow=True)

    assert "courier is already on the way" in page and f"delivery-appointment-{shipment.pk}-date" not in page
    assert "courier is already on the way" in response.content.decode()
    assert Shipment.objects.get(pk=shipment.pk).appointment_slot == "afternoon"
    assert not Contact.objects.filter(channel=Channel.WEB_HALL).exists()


@pytest.mark.parametrize("days, slot, error", [
    (-1, "evening", "cannot be in the past"),
    (45, "evening", "at most 30 days ahead"),
    (3, "night", "Select a valid choice"),
])
def test_a_bad_appointment_is_shown_on_the_form(client, mine, days, slot, error):
    shipment, _complaint, _callback = mine
    sign_in(client)

    response = client.post(f"/self/do/delivery.appointment/{shipment.pk}/",
                           appointment_data(shipment, timezone.localdate() + timedelta(days=days), slot))

    assert response.status_code == 400 and error in response.content.decode()
    assert 'name="next" value="/self/"' in response.content.decode()
    assert Shipment.objects.get(pk=shipment.pk).appointment_slot == "afternoon"
    assert not Contact.objects.filter(channel=Channel.WEB_HALL).exists()


def test_filing_a_complaint_goes_through_intake_with_the_web_hall_channel(client, mine):
    shipment, _complaint, _callback = mine
    category = ComplaintCategoryFactory(name="Delivery")
    ComplaintCategoryFactory(name="Retired", active=False)
    sign_in(client)

    page = client.get("/self/").content.decode()
    response = client.post("/self/do/complaints.file/", {
        "complaints-file-0-category": category.pk, "complaints-file-0-description": "The courier never called", "next": "/self/",
    }, follow=True)

    assert "Delivery" in page and "Retired" not in page
    complaint = Complaint.objects.exclude(pk=_complaint.pk).get()
    assert complaint.customer_id == shipment.order.customer_id and complaint.channel == Channel.WEB_HALL
    assert complaint.status == ComplaintStatus.ASSIGNED and complaint.department_id == category.department_id
    assert complaint.first_ask_owner.username == django_settings.SELF_SERVICE_USERNAME
    assert complaint.service_number == LINE
    assert not complaint.first_ask_owner.has_usable_password()
    assert f"Your complaint #{complaint.pk} is received" in response.content.decode()
    contact = Contact.objects.get(channel=Channel.WEB_HALL)
    assert contact.outcome == Outcome.COMPLAINT_OPENED and ContactLink.objects.get(contact=contact).target == complaint
    assert complaint.contact_id == contact.pk


def test_a_complaint_without_a_description_is_refused_on_the_form(client, mine):
    category = ComplaintCategoryFactory()
    sign_in(client)

    response = client.post("/self/do/complaints.file/", {"complaints-file-0-category": category.pk, "complaints-file-0-description": " "})

    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert Complaint.objects.count() == 1


@pytest.mark.parametrize("solved, status", [("yes", ComplaintStatus.CLOSED), ("no", ComplaintStatus.IN_PROGRESS)])
def test_rating_the_callback_completes_it(client, mine, solved, status):
    _shipment, complaint, callback = mine
    sign_in(client)
    prefix = f"complaints-rate-{complaint.pk}"

    page = client.get("/self/").content.decode()
    response = client.post(f"/self/do/complaints.rate/{complaint.pk}/", {f"{prefix}-satisfaction": "4", f"{prefix}-solved": solved}, follow=True)

    assert f"{prefix}-satisfaction" in page
    callback = Callback.objects.get(pk=callback.pk)
    assert callback.status == Callback.Status.COMPLETED and callback.satisfaction == 4 and callback.solved is (solved == "yes")
    assert Complaint.objects.get(pk=complaint.pk).status == status
    assert "Thank you for your rating" in response.content.decode()
    contact = Contact.objects.get(channel=Channel.WEB_HALL)
    assert contact.reason == "Rated the complaint callback: 4 of 5" and ContactLink.objects.get(contact=contact).target == complaint


def test_a_callback_already_rated_is_refused_with_a_message(client, mine):
    _shipment, complaint, callback = mine
    Callback.objects.filter(pk=callback.pk).update(status=Callback.Status.COMPLETED, satisfaction=5, solved=True)
    sign_in(client)
    prefix = f"complaints-rate-{complaint.pk}"

    response = client.post(f"/self/do/complaints.rate/{complaint.pk}/", {f"{prefix}-satisfaction": "1", f"{prefix}-solved": "no"}, follow=True)

    assert "already been recorded" in response.content.decode()
    assert Callback.objects.get(pk=callback.pk).satisfaction == 5
    assert not Contact.objects.filter(channel=Channel.WEB_HALL).exists()


@pytest.mark.parametrize("score", ["0", "6", "x", ""])
def test_a_score_outside_one_to_five_is_refused(client, mine, score):
    _shipment, complaint, callback = mine
    sign_in(client)
    prefix = f"complaints-rate-{complaint.pk}"

    response = client.post(f"/self/do/complaints.rate/{complaint.pk}/", {f"{prefix}-satisfaction": score, f"{prefix}-solved": "yes"})

    assert response.status_code == 400
    assert Callback.objects.get(pk=callback.pk).status == Callback.Status.DUE


@pytest.mark.parametrize("url", ["/self/do/no.such/", "/self/do/complaints.file/5/", "/self/do/complaints.rate/", "/self/nothing/1/"])
def test_unknown_actions_and_sections_are_not_found(client, mine, url):
    sign_in(client)

    assert getattr(client, "post" if "/do/" in url else "get")(url).status_code == 404


def test_the_next_page_must_be_in_the_hall(client, mine):
    shipment, _complaint, _callback = mine
    sign_in(client)
    data = appointment_data(shipment, timezone.localdate() + timedelta(days=2))

    response = client.post(f"/self/do/delivery.appointment/{shipment.pk}/", {**data, "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == "/self/"


@pytest.mark.parametrize("header, forwarded, counted", [
    ("", "198.51.100.1, 203.0.113.9", "127.0.0.1"),
    ("HTTP_X_FORWARDED_FOR", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
    ("HTTP_X_FORWARDED_FOR", "not an address", "127.0.0.1"),
])
def test_the_client_address_the_limit_counts(client, settings, mine, header, forwarded, counted):
    settings.OTP_CLIENT_IP_HEADER = header

    client.post("/self/sign-in/", {"number": LINE}, HTTP_X_FORWARDED_FOR=forwarded)

    assert OneTimeCode.objects.get().client_ip == counted
