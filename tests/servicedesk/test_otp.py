"""One-time sign-in codes: hashed, expiring, single use, a cap on wrong tries, rate limits, and the
same answer for numbers that are no customer's."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from servicedesk.models import (
    OneTimeCode,
    OutboxMessage,
    SmsMessage,
    SmsTemplate,
    Subscription,
)
from servicedesk.otp import SELFSERVICE_CODE, OtpRateLimited, otp_issue, otp_purge, otp_verify
from tests.concurrency import run_concurrently
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

NUMBER = "13812345678"
UNKNOWN = "13987654321"
IP = "203.0.113.7"


@pytest.fixture
def line(db):
    return SubscriptionFactory(service_number=NUMBER)


def sent_code(number: str = NUMBER) -> str:
    message = SmsMessage.objects.filter(to_number=number, template=SELFSERVICE_CODE).order_by("-id").first()
    return re.search(r"\d{6}", message.body).group(0)


def test_a_code_goes_by_sms_through_the_outbox_and_is_stored_hashed(line):
    # when a customer asks for a code
    row = otp_issue(service_number="138 1234 5678", client_ip=IP, language="zh-hans")

    # then one SMS from the default template carries it, queued in the outbox under the same key
    message = SmsMessage.objects.get(template=SELFSERVICE_CODE)
    code = sent_code()
    assert message.to_number == NUMBER
    assert OutboxMessage.objects.filter(key=message.key, kind="sms.send").exists()
    assert "验证码" in message.body and "5分钟" in message.body
    assert SmsTemplate.objects.filter(code=SELFSERVICE_CODE).count() == 2
    # and the code itself is not kept, only its keyed hash; the code stays off the customer's timeline
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert message.customer_id is None
    assert row.expires_at == row.created_at + timedelta(minutes=5)


def test_the_right_code_signs_in_once(line):
    otp_issue(service_number=NUMBER, client_ip=IP)
    code = sent_code()

    first = otp_verify(service_number=NUMBER, code=code)
    again = otp_verify(service_number=NUMBER, code=code)

    assert first.ok and first.customer_id == line.customer_id
    assert not again.ok and again.reason == "none"


def test_a_code_expires(line):
    now = timezone.now()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now)
    code = sent_code()

    late = otp_verify(service_number=NUMBER, code=code, now=now + timedelta(minutes=5))
    in_time = otp_verify(service_number=NUMBER, code=code, now=now + timedelta(minutes=4, seconds=59))

    assert not late.ok and late.reason == "expired" and "expired" in late.message
    assert in_time.ok


def test_five_wrong_tries_kill_the_code(line):
    otp_issue(service_number=NUMBER, client_ip=IP)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"

    results = [otp_verify(service_number=NUMBER, code=wrong) for _ in range(5)]
    after = otp_verify(service_number=NUMBER, code=code)

    assert [r.attempts_left for r in results] == [4, 3, 2, 1, 0]
    assert "4 more times" in results[0].message
    assert not after.ok and after.reason == "locked"
    assert OneTimeCode.objects.get().attempts == 5


def test_only_the_newest_code_counts(line):
    now = timezone.now()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now)
    old = sent_code()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now + timedelta(seconds=61))
    new = sent_code()

    if old != new:
        assert not otp_verify(service_number=NUMBER, code=old, now=now + timedelta(seconds=62)).ok
    assert otp_verify(service_number=NUMBER, code=new, now=now + timedelta(seconds=63)).ok


def test_one_code_per_number_per_minute(line):
    now = timezone.now()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now)

    with pytest.raises(OtpRateLimited) as refused:
        otp_issue(service_number=NUMBER, client_ip="198.51.100.1", now=now + timedelta(seconds=30))
    otp_issue(service_number=NUMBER, client_ip=IP, now=now + timedelta(seconds=60))

    assert refused.value.retry_at == now + timedelta(seconds=60)
    assert refused.value.wait_seconds == 30
    assert "30 seconds" in refused.value.message
    assert OneTimeCode.objects.count() == 2


def test_five_codes_per_number_per_hour(line):
    now = timezone.now()
    for n in range(5):
        otp_issue(service_number=NUMBER, client_ip=f"198.51.100.{n}", now=now + timedelta(minutes=2 * n))

    with pytest.raises(OtpRateLimited) as refused:
        otp_issue(service_number=NUMBER, client_ip="198.51.100.99", now=now + timedelta(minutes=20))
    otp_issue(service_number=NUMBER, client_ip="198.51.100.99", now=now + timedelta(minutes=60, seconds=1))

    assert refused.value.retry_at == now + timedelta(hours=1)
    assert "40 minutes" in refused.value.message


def test_twenty_codes_per_client_address_per_hour(line):
    now = timezone.now()
    numbers = [f"1390000{n:04d}" for n in range(21)]
    for n, number in enumerate(numbers[:20]):
        otp_issue(service_number=number, client_ip=IP, now=now + timedelta(seconds=n))

    with pytest.raises(OtpRateLimited) as refused:
        otp_issue(service_number=numbers[20], client_ip=IP, now=now + timedelta(minutes=10))
    otp_issue(service_number=numbers[20], client_ip="198.51.100.1", now=now + timedelta(minutes=10))

    assert refused.value.retry_at == now + timedelta(hours=1)


def test_a_shorter_resend_interval_from_settings(line, settings):
    settings.OTP_RESEND_SECONDS = 10
    now = timezone.now()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now)

    otp_issue(service_number=NUMBER, client_ip=IP, now=now + timedelta(seconds=11))

    assert OneTimeCode.objects.count() == 2


def test_a_lower_hourly_cap_from_settings(line, settings):
    settings.OTP_PER_NUMBER_PER_HOUR = 2
    now = timezone.now()
    otp_issue(service_number=NUMBER, client_ip=IP, now=now)
    otp_issue(service_number=NUMBER, client_ip=IP, now=now + timedelta(seconds=61))

    with pytest.raises(OtpRateLimited):
        otp_issue(service_number=NUMBER, client_ip=IP, now=now + timedelta(seconds=122))


def test_an_unknown_number_is_answered_alike_but_gets_no_sms_and_no_code_works(line):
    # when someone asks for a code for a number that is no customer's
    row = otp_issue(service_number=UNKNOWN, client_ip=IP)

    # then the service answers as for a customer (a code row, same expiry), but sends nothing
    assert row.service_number == UNKNOWN and row.expires_at > timezone.now()
    assert not SmsMessage.objects.filter(to_number=UNKNOWN).exists()
    # and no code verifies for it, with the same words as a wrong code for a customer
    check = otp_verify(service_number=UNKNOWN, code="123456")
    assert not check.ok and check.reason == "wrong" and check.attempts_left == 4
    # and it is rate-limited the same way
    with pytest.raises(OtpRateLimited):
        otp_issue(service_number=UNKNOWN, client_ip=IP)


def test_a_closed_line_cannot_sign_in(line):
    Subscription.objects.filter(pk=line.pk).update(status=Subscription.Status.CLOSED)

    otp_issue(service_number=NUMBER, client_ip=IP)

    assert not SmsMessage.objects.exists()
    assert not otp_verify(service_number=NUMBER, code="123456").ok


@pytest.mark.parametrize("number, code", [("not a number", "123456"), (NUMBER, ""), (NUMBER, "12ab56")])
def test_bad_input_is_a_failed_check_never_an_error(line, number, code):
    otp_issue(service_number=NUMBER, client_ip=IP)

    assert not otp_verify(service_number=number, code=code).ok


def test_english_text_when_asked_in_english(line):
    otp_issue(service_number=NUMBER, client_ip=IP, language="en")

    assert "Your self-service code is" in SmsMessage.objects.get().body


def test_old_code_rows_are_purged_daily(line, settings):
    # given codes sent 49 hours ago, 47 hours ago and now
    now = timezone.now()
    old = otp_issue(service_number=NUMBER, now=now - timedelta(hours=49))
    kept = otp_issue(service_number=NUMBER, now=now - timedelta(hours=47))
    fresh = otp_issue(service_number=NUMBER, now=now)

    # when the daily purge runs
    deleted = otp_purge(now=now)

    # then only the rows older than OTP_KEEP_HOURS (48) are gone
    assert deleted == 1
    assert set(OneTimeCode.objects.values_list("pk", flat=True)) == {kept.pk, fresh.pk}
    assert not OneTimeCode.objects.filter(pk=old.pk).exists()
    assert "servicedesk.tasks.otp_purge" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_for_one_number_send_one_code():
    SubscriptionFactory(service_number=NUMBER)

    # when eight requests for a code arrive at the same moment
    def ask(n):
        try:
            otp_issue(service_number=NUMBER, client_ip=f"198.51.100.{n}")
        except OtpRateLimited:
            return "refused"
        return "sent"

    results = run_concurrently(ask, workers=8)

    # then one code was sent and the others were told to wait
    assert sorted(results) == ["refused"] * 7 + ["sent"]
    assert OneTimeCode.objects.filter(service_number=NUMBER).count() == 1
    assert SmsMessage.objects.filter(to_number=NUMBER, template=SELFSERVICE_CODE).count() == 1
