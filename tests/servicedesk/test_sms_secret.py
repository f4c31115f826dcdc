"""A sign-in code is the customer's alone: no member of staff reads it on the SMS pages."""
import pytest

from servicedesk.models import SmsMessage
from servicedesk.sms import sms_for_display


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
def test_staff_never_see_a_sign_in_code(make_user, role):
    message = SmsMessage.objects.create(
        to_number="13800000001", body="您的验证码 482913，5 分钟内有效。", template="selfservice_code", key="otp-test-1",
    )
    shown = sms_for_display(message, make_user(role))["body"]
    assert "482913" not in shown
    assert "******" in shown


def test_other_notices_are_shown_as_sent_to_those_who_talk_to_customers(make_user):
    message = SmsMessage.objects.create(to_number="13800000001", body="订单 1234 已发货。", template="before_delivery", key="n-1")
    assert sms_for_display(message, make_user("agent"))["body"] == "订单 1234 已发货。"
