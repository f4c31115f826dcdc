"""Events for integrating systems: published with the change, signed, sent to a real local HTTP
subscriber, retried, failed, and in order per object."""
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from complaints.services.work import complaint_start
from delivery.services.shipments import shipment_pick
from orders.services import order_cancel
from servicedesk import outbox, tasks, webhooks
from servicedesk.models import Channel, OutboxMessage, WebhookSubscription
from servicedesk.services import contact_record
from tests.factories import ComplaintFactory, CustomerFactory, OrderFactory, ShipmentFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
SECRET = "s3cret-of-the-subscriber-0123456789"


class Subscriber:
    """A real HTTP server on a free local port that records each POST and answers with the next planned status."""

    def __init__(self):
        self.received: list[dict] = []
        self.plan: list[int] = []  # statuses to answer with, in turn; then 200
        self.delay = 0.0
        self._lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with subscriber._lock:
                    subscriber.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "path": self.path})
                    code = subscriber.plan.pop(0) if subscriber.plan else 200
                if subscriber.delay:
                    time.sleep(subscriber.delay)
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.received]

    def event_ids(self) -> list[str]:
        return [e["id"] for e in self.events()]


@pytest.fixture
def subscriber():
    server = Subscriber()
    yield server
    server.close()


@pytest.fixture
def client_user(make_user):
    return make_user("api_client")


def subscribe(client_user, url, events=None, **kwargs) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        client=client_user, name=kwargs.pop("name", "CRM"), url=url, secret=kwargs.pop("secret", SECRET),
        events=list(webhooks.EVENT_KINDS) if events is None else events, **kwargs,
    )


def webhook_rows():
    return list(OutboxMessage.objects.filter(kind=webhooks.WEBHOOK).order_by("id"))


def deliver_all():
    """What beat's redrive does: every due message, inline."""
    return tasks.outbox_redrive.apply().get()


# --- publishing: with the change, to whoever listens ------------------------------------------


def test_an_order_state_change_publishes_one_event_per_listening_subscription(client_user, django_capture_on_commit_callbacks):
    # given two subscriptions to order events, one to complaints only, and one paused
    listening = [subscribe(client_user, "http://127.0.0.1:9/a"), subscribe(client_user, "http://127.0.0.1:9/b", [webhooks.ORDER_STATUS_CHANGED])]
    subscribe(client_user, "http://127.0.0.1:9/c", [webhooks.COMPLAINT_STATUS_CHANGED])
    subscribe(client_user, "http://127.0.0.1:9/d", active=False)
    order = OrderFactory(external_id="CRM-77")

    # when the order is cancelled (nothing is delivered: the callbacks are captured, not run)
    with django_capture_on_commit_callbacks(execute=False):
        order_cancel(order_id=order.pk, by=None, reason="customer changed their mind")

    # then one message per listening subscription, keyed and streamed by subscription and object
    record = order.transitions.get()
    event_id = f"orders.ordertransition:{record.pk}"
    rows = webhook_rows()
    assert [(r.key, r.stream, r.status) for r in rows] == [
        (f"webhook:{s.pk}:{event_id}", f"webhook:{s.pk}:order:{order.pk}", Status.PENDING) for s in listening
    ]
    event = rows[0].payload["event"]
    assert event == {
        "id": event_id, "kind": "order.status_changed", "occurred_at": record.at.isoformat(),
        "object": {"type": "order", "id": order.pk, "external_id": "CRM-77", "customer_id": order.customer_id},
        "from": "submitted", "to": "cancelled", "transition": "cancel",
    }
    assert rows[0].payload["subscription_id"] == listening[0].pk


def test_the_event_carries_no_personal_data(client_user):
    # given an order of a customer with a name, ID number, address and a service number
    subscribe(client_user, "http://127.0.0.1:9/a")
    subscription = SubscriptionFactory()
    order = OrderFactory(customer=subscription.customer, service_number=subscription.service_number, delivery_address="天津市和平区南京路1号")

    # when it changes state
    order_cancel(order_id=order.pk, by=None, reason="no longer needed")

    # then none of it is in what the subscriber will get
    text = json.dumps(webhook_rows()[0].payload, ensure_ascii=False)
    customer = order.customer
    for personal in (customer.name, customer.id_number, customer.address, subscription.service_number, "南京路", "no longer needed"):
        assert personal not in text


@pytest.mark.parametrize("kind, change, object_type", [
    (webhooks.SHIPMENT_STATUS_CHANGED, lambda: shipment_pick(shipment_id=ShipmentFactory(tracking_number="SF123456").pk, by=None), "shipment"),
    (webhooks.COMPLAINT_STATUS_CHANGED, lambda: complaint_start(complaint_id=ComplaintFactory(external_id="T-9").pk, by=None), "complaint"),
])
def test_shipment_and_complaint_changes_publish_their_kind(client_user, kind, change, object_type):
    subscription = subscribe(client_user, "http://127.0.0.1:9/a", [kind])

    changed = change()

    (row,) = webhook_rows()
    event = row.payload["event"]
    assert event["kind"] == kind
    assert event["object"]["type"] == object_type and event["object"]["id"] == changed.pk
    assert row.stream == f"webhook:{subscription.pk}:{object_type}:{changed.pk}"
    assert event["id"] == f"{changed.transitions.model._meta.label_lower}:{changed.transitions.get().pk}"
    expected_refs = {"order_id": changed.order_id, "tracking_number": "SF123456"} if object_type == "shipment" else {"external_id": "T-9", "customer_id": changed.customer_id}
    assert {k: v for k, v in event["object"].items() if k not in ("type", "id")} == expected_refs


@pytest.mark.parametrize("label, publishes", [
    ("orders.Order", True), ("delivery.Shipment", True), ("complaints.Complaint", True),
    ("delivery.Transfer", False), ("delivery.DailyReport", False),
])
def test_only_the_registered_models_publish(label, publishes):
    assert (label in webhooks._status_publishers) is publishes


def test_an_unregistered_model_publishes_nothing(client_user):
    # given a subscriber to everything and a record of a model no app registered
    subscribe(client_user, "http://127.0.0.1:9/a")
    customer = CustomerFactory()  # any model: what matters is that it is not in the registry

    # when its change reaches the hook
    published = webhooks.status_changed(instance=customer, record=None, transition="whatever")

    # then nothing is written
    assert published == 0
    assert webhook_rows() == []


def test_a_rolled_back_change_publishes_nothing(client_user):
    subscribe(client_user, "http://127.0.0.1:9/a")
    order = OrderFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        order_cancel(order_id=order.pk, by=None, reason="oops")
        raise RuntimeError("the rest of the change failed")

    assert webhook_rows() == []


def test_a_new_contact_publishes_contact_created_without_personal_data(client_user, make_user):
    subscription = subscribe(client_user, "http://127.0.0.1:9/a", [webhooks.CONTACT_CREATED])
    line = SubscriptionFactory()

    contact = contact_record(agent=make_user("agent"), channel=Channel.SMS_HALL, reason="余额查询", service_number=line.service_number)

    (row,) = webhook_rows()
    event = row.payload["event"]
    assert row.key == f"webhook:{subscription.pk}:servicedesk.contact:{contact.pk}"
    assert event["kind"] == "contact.created"
    assert event["object"] == {"type": "contact", "id": contact.pk, "customer_id": line.customer_id, "channel": "sms_hall", "outcome": contact.outcome}
    assert line.service_number not in json.dumps(event) and "余额" not in json.dumps(event, ensure_ascii=False)


def test_publishing_the_same_event_twice_writes_it_once(client_user):
    subscribe(client_user, "http://127.0.0.1:9/a")
    event = {"id": "x:1", "kind": webhooks.CONTACT_CREATED, "occurred_at": timezone.now().isoformat(), "object": {"type": "contact", "id": 1}}

    webhooks.publish(event)
    webhooks.publish(event)

    assert len(webhook_rows()) == 1


# --- delivery: signed POST, outcome by status ------------------------------------------------


def test_delivery_posts_the_signed_event_after_commit(client_user, subscriber, django_capture_on_commit_callbacks):
    # given a subscription and an order change
    subscribe(client_user, subscriber.url)
    order = OrderFactory()

    # when the change commits (the worker runs in-process here)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, by=None, reason="changed mind")

    # then the subscriber got one POST with the event and verifiable headers
    (request,) = subscriber.received
    headers, body = request["headers"], request["body"]
    event = json.loads(body)
    assert event["kind"] == "order.status_changed" and event["object"]["id"] == order.pk
    assert headers["content-type"] == "application/json"
    assert headers["x-servicedesk-event"] == "order.status_changed"
    assert headers["x-servicedesk-event-id"] == event["id"]
    stamp = headers["x-servicedesk-timestamp"]
    assert abs(int(stamp) - time.time()) < 60
    assert headers["x-servicedesk-signature"].startswith("sha256=")
    assert webhooks.signature_valid(secret=SECRET, timestamp=stamp, body=body, signature_header=headers["x-servicedesk-signature"])
    assert not webhooks.signature_valid(secret="another-secret-0123456789", timestamp=stamp, body=body,
                                        signature_header=headers["x-servicedesk-signature"])
    (row,) = webhook_rows()
    assert row.status == Status.SENT and row.attempts == 1 and row.result["http_status"] == 200


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # the scheme written out, as a receiver in another language would compute it
    import hashlib
    import hmac

    body = b'{"id":"x:1"}'
    expected = "sha256=" + hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature(secret="k" * 16, timestamp="1700000000", body=body) == expected


def test_a_stale_timestamp_does_not_verify():
    body = b"{}"
    old = str(int(time.time()) - 3600)
    sig = webhooks.signature(secret=SECRET, timestamp=old, body=body)
    assert not webhooks.signature_valid(secret=SECRET, timestamp=old, body=body, signature_header=sig)


@pytest.mark.parametrize("code", [200, 201, 202, 204])
def test_any_2xx_is_delivered(client_user, subscriber, code):
    subscriber.plan = [code]
    subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")

    deliver_all()

    assert webhook_rows()[0].status == Status.SENT


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_retryable_answers_go_back_to_pending_with_backoff(client_user, subscriber, settings, code):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 15
    subscriber.plan = [code]
    subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")

    deliver_all()

    (row,) = webhook_rows()
    assert row.status == Status.PENDING and row.attempts == 1
    assert row.last_error == f"HTTP {code}"
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=10)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 410, 422, 301, 302, 307])
def test_other_answers_fail_at_once(client_user, subscriber, code):
    subscriber.plan = [code]
    subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")

    deliver_all()

    (row,) = webhook_rows()
    assert row.status == Status.FAILED and row.attempts == 1
    assert f"HTTP {code}" in row.last_error
    assert len(subscriber.received) == 1  # a redirect is not followed


def test_a_refused_connection_is_retried(client_user, subscriber):
    url = subscriber.url
    subscriber.close()  # nobody listens there any more
    subscribe(client_user, url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")

    deliver_all()

    (row,) = webhook_rows()
    assert row.status == Status.PENDING and row.attempts == 1 and "Connection" in row.last_error


def test_a_slow_subscriber_times_out_and_is_retried(client_user, subscriber, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    subscriber.delay = 1.5
    subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")

    started = time.monotonic()
    deliver_all()

    assert time.monotonic() - started < 1.2
    (row,) = webhook_rows()
    assert row.status == Status.PENDING and row.attempts == 1 and "timed out" in row.last_error


def test_after_the_last_attempt_it_fails_and_an_admin_retry_sends_the_same_event(client_user, subscriber, settings, monkeypatch):
    # given a subscriber that answers 503 to every attempt the outbox allows
    settings.OUTBOX_MAX_ATTEMPTS = 3
    subscriber.plan = [503, 503, 503]
    subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])

    # when the outbox retries after each backoff
    for _ in range(3):
        deliver_all()
        clock[0] += timedelta(hours=2)

    # then it gave up
    (row,) = webhook_rows()
    assert row.status == Status.FAILED and row.attempts == 3 and "gave up" in row.last_error

    # and an admin's retry sends the very same event (same id: the receiver deduplicates)
    outbox.outbox_retry(message_id=row.pk)
    deliver_all()
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(set(subscriber.event_ids())) == 1 and len(subscriber.received) == 4


@pytest.mark.parametrize("gone", ["deleted", "inactive"])
def test_events_of_a_deleted_or_paused_subscription_fail_instead_of_being_sent(client_user, subscriber, gone):
    subscription = subscribe(client_user, subscriber.url)
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")
    if gone == "deleted":
        subscription.delete()
    else:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)

    deliver_all()

    (row,) = webhook_rows()
    assert row.status == Status.FAILED and gone in row.last_error
    assert subscriber.received == []


# --- in order per object ------------------------------------------------------------------


def test_events_about_one_object_arrive_in_order_even_after_a_failed_attempt(client_user, subscriber, settings, monkeypatch):
    # given an order that is accepted, handed to delivery and cancelled, and a subscriber that
    # answers the first attempt with a 503
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 15
    subscribe(client_user, subscriber.url, [webhooks.ORDER_STATUS_CHANGED])
    order = OrderFactory(status="accepted")
    from orders.services import order_hand_to_delivery

    subscriber.plan = [503]
    order_hand_to_delivery(order_id=order.pk, by=None)
    order_cancel(order_id=order.pk, by=None, reason="x")
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])

    # when the outbox runs: the first fails transiently, so the second must wait for it
    deliver_all()
    first, second = webhook_rows()
    assert (first.status, second.status) == (Status.PENDING, Status.PENDING)
    assert second.attempts == 0  # it was not even tried
    assert outbox.outbox_deliver(message_id=second.pk) is None
    assert outbox.outbox_due_ids() == []  # the redrive does not spin on it either

    # and after the backoff
    clock[0] += timedelta(minutes=5)
    deliver_all()

    # then both arrived, in the order they happened
    assert [e["transition"] for e in subscriber.events()] == ["hand_to_delivery", "hand_to_delivery", "cancel"]
    assert {r.status for r in webhook_rows()} == {Status.SENT}


def test_a_failing_subscriber_does_not_hold_up_another(client_user, subscriber):
    # given two subscribers, one of them rejecting everything
    good = Subscriber()
    try:
        subscribe(client_user, subscriber.url, name="broken")
        subscribe(client_user, good.url, name="good")
        subscriber.plan = [503] * 10

        # when three orders change
        for _ in range(3):
            order_cancel(order_id=OrderFactory().pk, by=None, reason="x")
        deliver_all()

        # then the good one got all three
        assert len(good.received) == 3
    finally:
        good.close()


def test_publishing_does_not_wait_for_the_subscriber(client_user, subscriber, django_capture_on_commit_callbacks, settings):
    # a subscriber taking seconds does not slow the change itself: the POST happens after commit
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    subscriber.delay = 2
    subscribe(client_user, subscriber.url)
    order = OrderFactory()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_cancel(order_id=order.pk, by=None, reason="x")
    assert time.monotonic() - started < 1
    assert subscriber.received == [] and len(callbacks) == 1


def test_user_who_made_the_change_is_not_in_the_event(client_user, make_user):
    subscribe(client_user, "http://127.0.0.1:9/a")
    clerk = UserFactory(roles=["back_office"], username="clerk-zhang")

    order_cancel(order_id=OrderFactory().pk, by=clerk, reason="x")

    assert "clerk-zhang" not in json.dumps(webhook_rows()[0].payload)


# --- the admin: delivered / pending / failing per subscription, and retry ----------------------


def test_the_admin_shows_counts_per_subscription_and_retries_the_failing(client, make_user, client_user, subscriber):
    from django.urls import reverse

    # given a subscription with one delivered, one failed and one pending event, and another subscription
    subscription = subscribe(client_user, subscriber.url, name="CRM")
    subscribe(client_user, "http://127.0.0.1:9/other", name="Billing", events=[webhooks.CONTACT_CREATED])
    subscriber.plan = [200, 404]
    for _ in range(2):
        order_cancel(order_id=OrderFactory().pk, by=None, reason="x")
    deliver_all()
    order_cancel(order_id=OrderFactory().pk, by=None, reason="x")
    client.force_login(make_user(is_superuser=True, is_staff=True))

    # when an admin opens the subscriptions list
    page = client.get(reverse("admin:servicedesk_webhooksubscription_changelist")).content.decode()

    # then each count links to the outbox messages of that subscription in that state
    outbox_url = reverse("admin:servicedesk_outboxmessage_changelist")
    assert f'<a href="{outbox_url}?webhook={subscription.pk}&amp;status__in=sent">1</a>' in page
    assert f'<a href="{outbox_url}?webhook={subscription.pk}&amp;status__in=failed">1</a>' in page
    assert f'<a href="{outbox_url}?webhook={subscription.pk}&amp;status__in=pending,sending">1</a>' in page

    # and following the links lists just those messages
    failed = OutboxMessage.objects.get(status=Status.FAILED)
    for statuses, expected in (("failed", [failed]), ("pending,sending", list(OutboxMessage.objects.filter(status=Status.PENDING)))):
        listed = client.get(outbox_url, {"webhook": subscription.pk, "status__in": statuses})
        assert listed.status_code == 200
        assert list(listed.context["cl"].queryset) == expected

    # and the retry action sends it again
    response = client.post(reverse("admin:servicedesk_webhooksubscription_changelist"),
                           {"action": "retry_failing", "_selected_action": [subscription.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Status.PENDING and failed.attempts == 0
