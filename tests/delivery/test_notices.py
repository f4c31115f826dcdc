"""Shipment notices: the editable templates in Chinese and English, each notice's content, where it
goes, and one SMS per notice."""
from datetime import date

import pytest

from delivery import notice_templates
from delivery.models import Shipment, ShipmentStatus
from delivery.services import notices
from orders.models import Order
from servicedesk.models import OutboxMessage, SmsMessage, SmsTemplate
from tests.delivery.support_helpers import make_shipment, move
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

LINE = "13912345678"
NEW_NUMBER = "18612348888"
DAY = date(2031, 5, 6)


@pytest.fixture
def shipment():
    """Handed to the carrier, appointment on 6 May 2031 in the afternoon, ¥50.00 to collect."""
    made = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line=LINE, new_number=NEW_NUMBER)
    Shipment.objects.filter(pk=made.pk).update(appointment_date=DAY, appointment_slot=Order.Slot.AFTERNOON)
    return Shipment.objects.get(pk=made.pk)


def test_loading_the_defaults_writes_every_notice_in_both_languages_once_and_keeps_edits():
    # when the defaults are loaded
    assert notice_templates.notice_templates_load() == 8
    codes = set(SmsTemplate.objects.values_list("code", "language"))
    assert codes == {(code, lang) for code in notices.TEMPLATES.values() for lang in ("zh-hans", "en")}

    # and one is edited, then the defaults are loaded again
    SmsTemplate.objects.filter(code=notice_templates.FAILED, language="en").update(body="Sorry {customer}.")
    assert notice_templates.notice_templates_load() == 0

    # then the edit stays, unless the defaults are loaded over it
    assert SmsTemplate.objects.get(code=notice_templates.FAILED, language="en").body == "Sorry {customer}."
    notice_templates.notice_templates_load(overwrite=True)
    assert SmsTemplate.objects.get(code=notice_templates.FAILED, language="en").body.startswith("[China Unicom]")


def test_every_default_text_uses_only_the_placeholders_its_notice_fills():
    from servicedesk.sms import placeholders_in

    for code, (_description, bodies) in notice_templates.DEFAULT_TEMPLATES.items():
        for body in bodies.values():
            assert set(placeholders_in(body)) <= set(notice_templates.PLACEHOLDERS[code]), code


def test_before_delivery_says_when_who_what_to_have_ready_and_how_to_change_it(shipment):
    message = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)
    customer = shipment.order.customer.name
    assert message.body == (
        f"【中国联通】{customer}您好，您的订单{shipment.order_id}（5G SIM 129）将于5月6日 12:00–18:00由SF Express送达，"
        f"运单号{shipment.tracking_number}。请本人持身份证原件签收，并备好应付金额50.00元（现金或移动POS刷卡）。"
        "查询或更改预约请回复本短信或致电10010。"
    )


def test_before_delivery_in_english(shipment):
    message = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY, language="en")
    assert "will be delivered on 6 May 2031, 12:00–18:00, by SF Express" in message.body
    assert "have your ID card ready and 50.00 CNY to pay" in message.body
    assert "reply to this SMS or call 10010" in message.body


def test_failure_says_why_and_what_happens_next(shipment):
    move(shipment, "out", by=UserFactory(roles=["delivery_clerk"]))
    failed = move(shipment, "fail", by=UserFactory(roles=["delivery_clerk"]))
    message = SmsMessage.objects.get(key=f"shipment:{shipment.pk}:failed:1")
    assert "今日未能送达，原因：nobody home" in message.body
    assert "1个工作日内与您联系重新预约" in message.body and "10010" in message.body
    en = notices.shipment_notice(shipment=failed, kind=notices.FAILED, language="en", key_suffix="en")
    assert "we could not deliver your order" in en.body and ": nobody home." in en.body
    assert "within one working day" in en.body


def test_activation_names_the_line_the_tariff_and_the_services_now_active(shipment):
    message = notices.shipment_notice(shipment=shipment, kind=notices.ACTIVATED)
    assert message.to_number == NEW_NUMBER
    assert f"您的号码{NEW_NUMBER}已开通" in message.body
    assert "当前套餐：5G Bundle 129（月费129.00元）" in message.body and "已开通业务：5G SIM 129" in message.body
    en = notices.shipment_notice(shipment=shipment, kind=notices.ACTIVATED, language="en", key_suffix="en")
    assert f"your line {NEW_NUMBER} is now active. Tariff: 5G Bundle 129 (129.00 CNY a month); services now active: 5G SIM 129" in en.body


def test_appointment_changed_gives_the_new_date_and_window(shipment):
    Shipment.objects.filter(pk=shipment.pk).update(appointment_date=date(2031, 5, 9), appointment_slot=Order.Slot.MORNING)
    message = notices.shipment_notice(shipment=shipment, kind=notices.APPOINTMENT_CHANGED, key_suffix="1")
    assert "送货时间已改为5月9日 09:00–12:00，由SF Express配送" in message.body
    assert "查询或再次更改请回复本短信或致电10010" in message.body


def test_notices_before_activation_go_to_the_customers_existing_line_the_activation_to_the_new_one(shipment):
    before = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)
    activated = notices.shipment_notice(shipment=shipment, kind=notices.ACTIVATED)
    assert (before.to_number, activated.to_number) == (LINE, NEW_NUMBER)
    assert before.customer_id == activated.customer_id == shipment.order.customer_id


def test_a_customer_with_no_other_line_is_told_on_the_new_number():
    shipment = make_shipment(ShipmentStatus.HANDED_TO_CARRIER, line="", new_number=NEW_NUMBER)
    assert notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY).to_number == NEW_NUMBER


def test_a_closed_line_is_not_used(shipment):
    from servicedesk.models import Subscription

    Subscription.objects.filter(service_number=LINE).update(status=Subscription.Status.CLOSED)
    other = SubscriptionFactory(customer=shipment.order.customer, service_number="13800000002")
    assert notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY).to_number == other.service_number


def test_no_number_at_all_sends_nothing(shipment):
    from servicedesk.models import Subscription

    Subscription.objects.filter(customer=shipment.order.customer).delete()
    Order.objects.filter(pk=shipment.order_id).update(pool_number=None)
    assert notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY) is None
    assert not SmsMessage.objects.exists()


def test_the_same_notice_of_the_same_attempt_is_one_sms_a_new_attempt_another(shipment, django_capture_on_commit_callbacks):
    # when the before-delivery notice is asked for twice for the first attempt
    Shipment.objects.filter(pk=shipment.pk).update(attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)
        again = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)
    # and once for the second attempt
    Shipment.objects.filter(pk=shipment.pk).update(attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        second = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)

    # then two messages, keyed by shipment, kind and attempt, each sent once
    assert first.pk == again.pk != second.pk
    assert [m.key for m in SmsMessage.objects.order_by("id")] == [
        f"shipment:{shipment.pk}:before_delivery:1", f"shipment:{shipment.pk}:before_delivery:2",
    ]
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {SmsMessage.Status.SENT}
    assert OutboxMessage.objects.filter(kind="sms.send").count() == 2


def test_going_out_for_delivery_sends_the_before_delivery_notice_once_per_attempt(shipment):
    clerk = UserFactory(roles=["delivery_clerk"])
    move(shipment, "out", by=clerk)
    move(shipment, "fail", by=clerk)
    move(shipment, "out", by=clerk)
    keys = set(SmsMessage.objects.filter(key__contains="before_delivery").values_list("key", flat=True))
    assert keys == {f"shipment:{shipment.pk}:before_delivery:1", f"shipment:{shipment.pk}:before_delivery:2"}


def test_an_edited_template_is_what_the_customer_gets(shipment):
    notice_templates.notice_templates_load()
    SmsTemplate.objects.filter(code=notice_templates.BEFORE_DELIVERY, language="zh-hans").update(body="{customer}：{date}{window}送达，请备{amount}元。")
    message = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY)
    assert message.body == f"{shipment.order.customer.name}：5月6日12:00–18:00送达，请备50.00元。"


def test_a_missing_language_falls_back_to_chinese(shipment):
    notice_templates.notice_templates_load()
    SmsTemplate.objects.filter(language="en").delete()
    message = notices.shipment_notice(shipment=shipment, kind=notices.BEFORE_DELIVERY, language="en")
    assert message.body.startswith("【中国联通】")


def test_an_unknown_kind_is_a_programming_error(shipment):
    with pytest.raises(ValueError):
        notices.shipment_notice(shipment=shipment, kind="birthday")


def test_the_placeholders_are_declared_to_the_admin():
    from servicedesk.sms import template_placeholders

    notices.register()
    assert set(template_placeholders(notice_templates.BEFORE_DELIVERY)) >= {"date", "window", "carrier", "amount", "hotline"}
