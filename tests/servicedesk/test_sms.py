"""The SMS gateway adapter (built-in and HTTP), sending through the outbox, the SMS page and timeline."""
import json
import logging
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from django.urls import reverse

from servicedesk import registry, sms
from servicedesk.models import OutboxMessage, SmsMessage, SmsTemplate
from servicedesk.outbox import TransientDeliveryError
from tests.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

NUMBER = "13912345678"


@pytest.fixture
def template(db):
    SmsTemplate.objects.create(code="test.hello", language="zh-hans", body="{name}您好，验证码{code}。")
    SmsTemplate.objects.create(code="test.hello", language="en", body="Hello {name}, your code is {code}.")
    return "test.hello"


@pytest.fixture
def send(template, django_capture_on_commit_callbacks):
    """``send(key=..., ...)``: sms_send with the outbox work run after commit, as in production."""

    def do(*, key="k-1", to_number=NUMBER, language="en", customer=None, context=None):
        with django_capture_on_commit_callbacks(execute=True):
            return sms.sms_send(
                to_number=to_number, template=template, context=context or {"name": "Li", "code": "4711"},
                language=language, key=key, customer=customer,
            )

    return do


class Recording(sms.SmsGateway):
    """A gateway that records what it was asked to send and answers as told."""

    def __init__(self, *failures: Exception):
        self.sent: list[tuple[str, str, str]] = []
        self.failures = list(failures)

    def send(self, *, key, to_number, body):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((key, to_number, body))
        return sms.SmsResult(reference=f"GW-{len(self.sent)}")


@pytest.fixture
def gateway(monkeypatch):
    def use(*failures):
        fake = Recording(*failures)
        monkeypatch.setattr("servicedesk.sms.sms_gateway", lambda: fake)
        return fake

    return use


# --- the built-in gateway ------------------------------------------------------------

def test_builtin_gateway_stores_the_message_and_answers_with_its_reference():
    # when a message is sent through the built-in gateway without sms_send
    result = sms.BuiltinSmsGateway().send(key="direct-1", to_number=NUMBER, body="hi")

    # then it is stored, and asking again with the key returns the same reference and stores nothing more
    message = SmsMessage.objects.get(key="direct-1")
    assert (message.to_number, message.body) == (NUMBER, "hi")
    assert result.reference == f"SD{message.pk:010d}"
    assert sms.BuiltinSmsGateway().send(key="direct-1", to_number=NUMBER, body="hi").reference == result.reference
    assert SmsMessage.objects.count() == 1


def test_the_builtin_gateway_is_the_default(settings):
    sms.sms_gateway.cache_clear()
    try:
        assert isinstance(sms.sms_gateway(), sms.BuiltinSmsGateway)
        settings.SMS_GATEWAY, settings.SMS_GATEWAY_URL = "http", "http://127.0.0.1:9"
        sms.sms_gateway.cache_clear()
        assert isinstance(sms.sms_gateway(), sms.HttpSmsGateway)
    finally:
        sms.sms_gateway.cache_clear()


def test_sms_send_queues_the_message_and_the_outbox_sends_it_after_commit(send):
    # given a customer
    customer = CustomerFactory()

    # when an SMS is sent with the built-in gateway
    message = send(key="notice-1", customer=customer)

    # then it was rendered, queued under the key, and sent after commit with a reference
    message.refresh_from_db()
    assert message.body == "Hello Li, your code is 4711."
    assert (message.to_number, message.template, message.customer) == (NUMBER, "test.hello", customer)
    assert message.status == SmsMessage.Status.SENT
    assert message.gateway_reference == f"SD{message.pk:010d}" and message.sent_at is not None
    outbox = OutboxMessage.objects.get(key="notice-1")
    assert (outbox.kind, outbox.status, outbox.payload) == ("sms.send", OutboxMessage.Status.SENT, {"message_id": message.pk})


def test_nothing_is_sent_before_commit_and_nothing_at_all_if_the_change_rolls_back(template, gateway):
    # given a gateway that records what it sends
    fake = gateway()

    # when a change that sends an SMS is rolled back
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        sms.sms_send(to_number=NUMBER, template=template, context={}, language="en", key="rolled-back")
        raise RuntimeError("the change failed")

    # then no message exists and nothing was sent
    assert not SmsMessage.objects.filter(key="rolled-back").exists()
    assert fake.sent == []


def test_the_same_key_sends_one_sms_however_often_it_is_asked(send, gateway):
    # given a gateway that records what it sends
    fake = gateway()

    # when the same notice is asked for twice, even with different text
    first = send(key="shipment:1:before_delivery:1")
    second = send(key="shipment:1:before_delivery:1", context={"name": "Wang", "code": "0000"})

    # then one message, one outbox row, one send
    assert first.pk == second.pk
    assert SmsMessage.objects.count() == 1 and OutboxMessage.objects.filter(kind="sms.send").count() == 1
    assert fake.sent == [("shipment:1:before_delivery:1", NUMBER, "Hello Li, your code is 4711.")]


def test_a_repeated_outbox_delivery_does_not_send_again(send, gateway):
    # given a message already sent
    fake = gateway()
    message = send(key="once")

    # when the handler runs again for it (a re-driven or duplicated delivery)
    sms.deliver_sms({"message_id": message.pk}, key="once")

    # then the gateway saw it once
    assert len(fake.sent) == 1


def test_a_transient_failure_is_retried_later_and_then_sent(send, gateway):
    # given a gateway that times out once
    fake = gateway(TransientDeliveryError("timeout"))

    # when the SMS is sent
    message = send(key="flaky")

    # then the outbox waits to retry it and the message is still queued
    outbox = OutboxMessage.objects.get(key="flaky")
    assert (outbox.status, outbox.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert outbox.next_attempt_at > outbox.created_at
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.QUEUED

    # when the retry is due and runs
    from servicedesk.outbox import outbox_deliver

    OutboxMessage.objects.filter(pk=outbox.pk).update(next_attempt_at=outbox.created_at)
    outbox_deliver(message_id=outbox.pk)

    # then it is sent once
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT and message.gateway_reference == "GW-1"
    assert len(fake.sent) == 1


def test_a_permanent_refusal_fails_the_message_and_the_outbox_row(send, gateway):
    # given a gateway that refuses the number for good
    gateway(sms.SmsRejected("HTTP 400"))

    # when the SMS is sent
    message = send(key="refused")

    # then both record the failure (an admin may retry the outbox row)
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.FAILED
    assert OutboxMessage.objects.get(key="refused").status == OutboxMessage.Status.FAILED


def test_giving_up_after_the_last_transient_attempt_fails_the_message(send, gateway, settings):
    # given one attempt allowed and a gateway that is down
    settings.OUTBOX_MAX_ATTEMPTS = 1
    gateway(TransientDeliveryError("down"))

    # when the SMS is sent
    message = send(key="given-up")

    # then the message is marked failed with its outbox row
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.FAILED
    assert OutboxMessage.objects.get(key="given-up").status == OutboxMessage.Status.FAILED


def test_phone_numbers_never_reach_the_log(send, gateway, caplog):
    # given a gateway that refuses the message (the outbox logs the failure with its traceback)
    gateway(sms.SmsRejected("SMS gateway refused the message: HTTP 400"))

    # when the SMS is sent
    with caplog.at_level(logging.DEBUG):
        send(key="logged")

    # then something was logged, but not the number
    assert caplog.records
    assert NUMBER not in caplog.text
    assert all(NUMBER not in (r.exc_text or "") for r in caplog.records)


def test_sms_send_refuses_something_that_is_not_a_number(template):
    with pytest.raises(ValueError) as refused:
        sms.sms_send(to_number="12", template=template, context={}, language="en", key="bad")
    assert not SmsMessage.objects.exists()
    assert "12" not in str(refused.value)


# --- templates -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Hello Li, your code is 4711."),
        ("zh-hans", "Li您好，验证码4711。"),
        ("fr", "Li您好，验证码4711。"),  # no French text: the default language's
    ],
)
def test_the_template_is_rendered_in_the_language_asked_with_fallback_to_chinese(send, language, expected):
    message = send(key=f"lang-{language}", language=language)
    assert message.body == expected


def test_a_missing_english_text_falls_back_to_chinese(send, template):
    SmsTemplate.objects.filter(code=template, language="en").delete()
    assert send(key="fallback", language="en").body == "Li您好，验证码4711。"


def test_with_the_chinese_text_deleted_the_other_language_is_used_rather_than_nothing(send, template):
    SmsTemplate.objects.filter(code=template, language="zh-hans").delete()
    assert send(key="only-english", language="zh-hans").body == "Hello Li, your code is 4711."


def test_a_missing_template_is_an_error_and_nothing_is_queued():
    with pytest.raises(sms.SmsTemplateMissing):
        sms.sms_send(to_number=NUMBER, template="no.such", context={}, language="en", key="missing")
    assert not SmsMessage.objects.exists() and not OutboxMessage.objects.exists()


def test_rendering_fills_known_placeholders_and_leaves_anything_else_as_written():
    body = "Hi {name}, {unknown} {name.__class__} {0} {{literal}}"
    assert sms.sms_render(body, {"name": "Li"}) == "Hi Li, {unknown} {name.__class__} {0} {{literal}}"


def test_the_admin_refuses_a_placeholder_the_notice_does_not_fill():
    # given a notice code whose placeholders are declared
    from servicedesk.admin_sms import SmsTemplateForm

    sms.register_template_placeholders("test.declared", {"name": "the name"})

    # when a template text uses an unknown one
    form = SmsTemplateForm(data={"code": "test.declared", "language": "en", "description": "", "body": "Hi {name}, {nickname}"})

    # then it is refused, naming what may be used
    assert not form.is_valid()
    assert "{nickname}" in form.errors["body"][0] and "{name}" in form.errors["body"][0]
    assert SmsTemplateForm(data={"code": "test.declared", "language": "en", "description": "", "body": "Hi {name}"}).is_valid()


def test_templates_are_edited_in_the_admin(client, make_user, template):
    # given an administrator (staff) and the admin's SMS pages
    import servicedesk.admin_sms  # noqa: F401  (registered with the admin site)

    admin_user = make_user("admin", is_staff=True)
    client.force_login(admin_user)
    edited = SmsTemplate.objects.get(code=template, language="en")

    # when the English text is changed
    response = client.post(
        reverse("admin:servicedesk_smstemplate_change", args=[edited.pk]),
        {"code": template, "language": "en", "description": "a test", "body": "Hi {name}: {code}"},
    )

    # then it is saved
    assert response.status_code == 302
    edited.refresh_from_db()
    assert edited.body == "Hi {name}: {code}"


# --- the HTTP gateway ----------------------------------------------------------------------

class FakeGateway(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict]]] = []
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeGateway.received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        status, answer = FakeGateway.answers.pop(0)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_gateway():
    FakeGateway.answers, FakeGateway.received = [], []
    server = HTTPServer(("127.0.0.1", 0), FakeGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sms.HttpSmsGateway(url=f"http://127.0.0.1:{server.server_port}/", token="t0ken", timeout=5)
    server.shutdown()
    server.server_close()


def test_http_gateway_posts_the_message_with_the_key_and_returns_the_reference(fake_gateway):
    FakeGateway.answers = [(200, {"reference": "GW-42"})]

    result = fake_gateway.send(key="shipment:1:failed:1", to_number=NUMBER, body="您好")

    assert result.reference == "GW-42"
    request = FakeGateway.received[0]
    assert request["path"] == "/messages"
    assert request["body"] == {"to": NUMBER, "text": "您好", "reference": "shipment:1:failed:1"}
    assert request["headers"]["Idempotency-Key"] == "shipment:1:failed:1"
    assert request["headers"]["Authorization"] == "Bearer t0ken"


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_http_gateway_server_errors_are_transient(fake_gateway, status):
    FakeGateway.answers = [(status, {"error": f"echo {NUMBER}"})]
    with pytest.raises(TransientDeliveryError) as failure:
        fake_gateway.send(key="k", to_number=NUMBER, body="x")
    assert NUMBER not in str(failure.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_http_gateway_refusals_are_permanent(fake_gateway, status):
    FakeGateway.answers = [(status, {"error": f"bad number {NUMBER}"})]
    with pytest.raises(sms.SmsRejected) as failure:
        fake_gateway.send(key="k", to_number=NUMBER, body="x")
    assert NUMBER not in str(failure.value)


@pytest.mark.parametrize("error", [TimeoutError("timed out"), urllib.error.URLError("connection refused"), ConnectionResetError()])
def test_http_gateway_timeouts_and_unreachable_gateways_are_transient(monkeypatch, error):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("urllib.request.urlopen", failing)
    with pytest.raises(TransientDeliveryError):
        sms.HttpSmsGateway(url="http://gateway.invalid", token="t").send(key="k", to_number=NUMBER, body="x")


def test_http_gateway_through_the_outbox_retries_a_5xx_then_sends(fake_gateway, monkeypatch, send):
    # given the HTTP gateway, answering 503 then 200
    monkeypatch.setattr("servicedesk.sms.sms_gateway", lambda: fake_gateway)
    FakeGateway.answers = [(503, {}), (200, {"reference": "GW-7"})]

    # when an SMS is sent, and the retry runs once due
    message = send(key="via-http")
    outbox = OutboxMessage.objects.get(key="via-http")
    assert outbox.status == OutboxMessage.Status.PENDING
    from servicedesk.outbox import outbox_deliver

    OutboxMessage.objects.filter(pk=outbox.pk).update(next_attempt_at=outbox.created_at)
    outbox_deliver(message_id=outbox.pk)

    # then it was posted twice with the same idempotency key, and is sent
    assert [r["headers"]["Idempotency-Key"] for r in FakeGateway.received] == ["via-http", "via-http"]
    message.refresh_from_db()
    assert (message.status, message.gateway_reference) == (SmsMessage.Status.SENT, "GW-7")


# --- the SMS page and the customer timeline ---------------------------------------------------

def _messages(customer, count, *, number=NUMBER):
    return SmsMessage.objects.bulk_create([
        SmsMessage(to_number=number, body=f"您的号码{number}第{i}条", key=f"page-{customer.pk}-{number}-{i}", customer=customer, status="sent")
        for i in range(count)
    ])


@pytest.mark.parametrize("role, status", [("agent", 200), ("delivery_clerk", 200), ("manager", 200), ("complaint_handler", 403), ("area_manager", 403)])
def test_the_sms_page_needs_view_smsmessage(client, make_user, role, status):
    client.force_login(make_user(role))
    assert client.get(reverse("sms:list")).status_code == status


def test_the_sms_page_filters_by_number_and_by_customer_and_paginates(client, make_user):
    # given two customers with messages
    wang, li = CustomerFactory(name="Wang"), CustomerFactory(name="Li")
    _messages(wang, 30)
    _messages(li, 2, number="13800000001")
    client.force_login(make_user("delivery_clerk"))

    # when filtered by Li's number, or by Wang
    by_number = client.get(reverse("sms:list"), {"number": "138 0000 0001"})
    by_customer = client.get(reverse("sms:list"), {"customer": wang.pk})
    second_page = client.get(reverse("sms:list"), {"customer": wang.pk, "page": 2})

    # then each shows only theirs, 25 to a page, newest first
    assert len(by_number.context["rows"]) == 2
    assert {r["message"].customer_id for r in by_number.context["rows"]} == {li.pk}
    assert len(by_customer.context["rows"]) == 25 and by_customer.context["page"].paginator.count == 30
    assert by_customer.context["rows"][0]["message"].key == f"page-{wang.pk}-{NUMBER}-29"
    assert len(second_page.context["rows"]) == 5
    assert f"customer={wang.pk}&amp;page=2" in by_customer.content.decode()


@pytest.mark.parametrize("params", [{"number": "12345"}, {"number": "not a number"}, {"customer": "abc"}, {"customer": "-1"}, {"page": "x"}])
def test_bad_filters_are_explained_never_a_500(client, make_user, params):
    _messages(CustomerFactory(), 1)
    client.force_login(make_user("agent"))
    response = client.get(reverse("sms:list"), params)
    assert response.status_code == 200
    if "page" not in params:
        assert response.context["form"].errors
        assert response.context["rows"] == []


def test_numbers_are_masked_for_roles_that_do_not_talk_to_customers(client, make_user):
    # given a message with the number in its text
    _messages(CustomerFactory(), 1)

    # when a manager and an agent look
    client.force_login(make_user("manager"))
    as_manager = client.get(reverse("sms:list")).content.decode()
    client.force_login(make_user("agent"))
    as_agent = client.get(reverse("sms:list")).content.decode()

    # then the manager sees it masked, in the number column and in the text, and the agent whole
    assert NUMBER not in as_manager and "139****5678" in as_manager
    assert NUMBER in as_agent


def test_sms_appear_in_the_customer_timeline(make_user):
    # given a customer with a line and an SMS sent to it
    subscription = SubscriptionFactory(service_number=NUMBER)
    _messages(subscription.customer, 1)

    # when a manager and a complaint handler (no SMS permission) look at the timeline
    as_manager = registry.timeline_for(subscription.customer, make_user("manager"), limit=10)
    as_handler = registry.timeline_for(subscription.customer, make_user("complaint_handler"), limit=10)

    # then the manager sees the SMS, number masked; the handler does not see it
    entries = [e for e in as_manager if e.kind == "sms"]
    assert len(entries) == 1
    assert entries[0].title == "SMS to 139****5678" and NUMBER not in entries[0].detail
    assert entries[0].url == reverse("sms:list") + f"?customer={subscription.customer.pk}"
    assert [e for e in as_handler if e.kind == "sms"] == []


def test_the_customer_screen_shows_the_sms(client, make_user):
    subscription = SubscriptionFactory(service_number=NUMBER)
    _messages(subscription.customer, 1)
    client.force_login(make_user("agent"))
    response = client.get(reverse("console:customer", args=[subscription.customer.pk]))
    assert f"您的号码{NUMBER}第0条" in response.content.decode()


# --- real concurrency (PostgreSQL) --------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_notice_asked_for_at_the_same_moment_is_sent_once(template, gateway):
    # given a gateway that records what it sends
    from django.db import transaction

    from tests.concurrency import run_concurrently

    fake = gateway()

    # when eight connections ask for the same notice at once, each in its own transaction
    def ask(n):
        with transaction.atomic():
            return sms.sms_send(to_number=NUMBER, template=template, context={"name": str(n), "code": "1"}, language="en", key="race").pk

    ids = run_concurrently(ask, workers=8)

    # then all got the one message, queued once and sent once
    assert len(set(ids)) == 1
    assert SmsMessage.objects.count() == 1 and OutboxMessage.objects.filter(key="race").count() == 1
    assert len(fake.sent) == 1
    assert SmsMessage.objects.get().status == SmsMessage.Status.SENT

