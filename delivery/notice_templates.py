"""The delivery notices' default SMS texts, in Simplified Chinese and English.

They are data, not code: ``notice_templates_load()`` writes them into
``SmsTemplate`` once, and from then on they are edited in the admin (a load
never overwrites an edited text unless asked to). ``seed_demo`` and the tests
call it; ``shipment_notice`` calls it too when a notice finds no template, so
a fresh database still sends its notices.
"""

from servicedesk.sms import sms_templates_load

BEFORE_DELIVERY = "delivery.before_delivery"
FAILED = "delivery.failed"
ACTIVATED = "delivery.activated"
APPOINTMENT_CHANGED = "delivery.appointment_changed"

# What each notice fills in (the admin lists them beside the text).
PLACEHOLDERS = {
    BEFORE_DELIVERY: {
        "customer": "the customer's name", "order": "order number", "product": "what is delivered",
        "date": "appointment date", "window": "time window", "carrier": "carrier", "tracking": "tracking number",
        "amount": "amount to pay at the door (CNY)", "hotline": "support line",
    },
    FAILED: {
        "customer": "the customer's name", "order": "order number", "product": "what was delivered",
        "reason": "why the delivery failed", "carrier": "carrier", "tracking": "tracking number", "hotline": "support line",
    },
    ACTIVATED: {
        "customer": "the customer's name", "order": "order number", "number": "the line now active",
        "tariff": "tariff plan", "monthly_fee": "monthly fee (CNY)", "services": "services now active", "hotline": "support line",
    },
    APPOINTMENT_CHANGED: {
        "customer": "the customer's name", "order": "order number", "product": "what is delivered",
        "date": "new appointment date", "window": "new time window", "carrier": "carrier", "tracking": "tracking number",
        "hotline": "support line",
    },
}

# code -> (when it is sent, {language: text})
DEFAULT_TEMPLATES = {
    BEFORE_DELIVERY: (
        "Before delivery: time window, carrier, what to have ready, how to query or change the appointment",
        {
            "zh-hans": (
                "【中国联通】{customer}您好，您的订单{order}（{product}）将于{date} {window}由{carrier}送达，运单号{tracking}。"
                "请本人持身份证原件签收，并备好应付金额{amount}元（现金或移动POS刷卡）。"
                "查询或更改预约请回复本短信或致电{hotline}。"
            ),
            "en": (
                "[China Unicom] Dear {customer}, your order {order} ({product}) will be delivered on {date}, {window}, by {carrier} "
                "(tracking {tracking}). Please have your ID card ready and {amount} CNY to pay (cash or mobile POS). "
                "To query or change the appointment, reply to this SMS or call {hotline}."
            ),
        },
    ),
    FAILED: (
        "On a failed delivery: why, and what happens next",
        {
            "zh-hans": (
                "【中国联通】{customer}您好，您的订单{order}（{product}）今日未能送达，原因：{reason}。"
                "我们将在1个工作日内与您联系重新预约配送；如需改约或取消，请回复本短信或致电{hotline}。"
            ),
            "en": (
                "[China Unicom] Dear {customer}, we could not deliver your order {order} ({product}) today: {reason}. "
                "We will contact you within one working day to arrange a new delivery; to change or cancel it, "
                "reply to this SMS or call {hotline}."
            ),
        },
    ),
    ACTIVATED: (
        "After activation: the tariff and services now active",
        {
            "zh-hans": (
                "【中国联通】{customer}您好，您的号码{number}已开通。当前套餐：{tariff}（月费{monthly_fee}元）；"
                "已开通业务：{services}。如有疑问请致电{hotline}。"
            ),
            "en": (
                "[China Unicom] Dear {customer}, your line {number} is now active. Tariff: {tariff} ({monthly_fee} CNY a month); "
                "services now active: {services}. Questions? Call {hotline}."
            ),
        },
    ),
    APPOINTMENT_CHANGED: (
        "When the delivery appointment is changed",
        {
            "zh-hans": (
                "【中国联通】{customer}您好，您的订单{order}（{product}）的送货时间已改为{date} {window}，由{carrier}配送。"
                "请本人持身份证原件签收。查询或再次更改请回复本短信或致电{hotline}。"
            ),
            "en": (
                "[China Unicom] Dear {customer}, the delivery of your order {order} ({product}) is now on {date}, {window}, "
                "by {carrier}. Please have your ID card ready. To query or change it again, reply to this SMS or call {hotline}."
            ),
        },
    ),
}

# Words a notice fills in itself, per language.
FILLERS = {
    "zh-hans": {"carrier_unknown": "快递员", "tracking_unknown": "待分配", "window_any": "全天", "none": "无"},
    "en": {"carrier_unknown": "our courier", "tracking_unknown": "to be assigned", "window_any": "during the day", "none": "none"},
}


def notice_templates_load(*, overwrite: bool = False) -> int:
    """Write the default texts; an existing (possibly edited) text stays unless ``overwrite``."""
    return sms_templates_load(DEFAULT_TEMPLATES, overwrite=overwrite)
