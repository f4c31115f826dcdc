"""The SMS hall's core: reading the text, the language of the reply, unknown senders, free text
for an agent, one answer per gateway message, contacts on the timeline, and a dispatcher that
never lets a handler's failure reach the customer."""
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils import timezone

from servicedesk import registry, sms_hall
from servicedesk.models import Channel, Contact, ContactLink, InboundSms, OutboxMessage, SmsMessage, Subscription
from servicedesk.sms_hall import SmsAnswer, parse_sms, register_sms_command, sms_inbound_receive
from tests.factories import ContactFactory, CustomerFactory, SubscriptionFactory, UserFactory
from tests.sms_hall import receive

ANSWERED, FOR_AGENT, UNKNOWN, MALFORMED = (InboundSms.Outcome.ANSWERED, InboundSms.Outcome.FOR_AGENT,
                                           InboundSms.Outcome.UNKNOWN_SENDER, InboundSms.Outcome.MALFORMED)


def reply_sms(inbound: InboundSms) -> SmsMessage:
    return SmsMessage.objects.get(key=f"sms_hall:{inbound.gateway_id}")


@pytest.fixture
def sender(db):
    return SubscriptionFactory(service_number="13912345678")


@pytest.fixture
def own_commands(monkeypatch):
    """A registry of the hall's commands that a test may add to without touching the real one."""
    monkeypatch.setattr(sms_hall, "_commands", list(sms_hall._commands))
    monkeypatch.setattr(sms_hall, "_by_keyword", dict(sms_hall._by_keyword))


# --- Reading the text ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, command, args, language",
    [
        ("ORDER 12", "order", ["12"], "en"),
        ("order 12", "order", ["12"], "en"),
        ("ＯＲＤＥＲ\u3000１２", "order", ["12"], "en"),  # full-width letters, digits and space
        ("ORDER12", "order", ["12"], "en"),
        ("order 12?", "order", ["12"], "en"),
        ("订单123", "order", ["123"], "zh-hans"),
        ("订单 １２３号", "order", ["123"], "zh-hans"),
        ("dd", "order", [], "zh-hans"),  # pinyin initials: written by Chinese speakers
        ("SHIP SF0001", "ship", ["SF0001"], "en"),
        ("快递", "ship", [], "zh-hans"),
        ("改约明天上午", "change", ["明天上午"], "zh-hans"),
        ("改约11月28日下午 12", "change", ["11-28", "下午", "12"], "zh-hans"),
        ("CHANGE 2026-11-28 AM", "change", ["2026-11-28", "AM"], "en"),
        ("评价 4", "score", ["4"], "zh-hans"),
        ("5", "score", ["5"], None),  # a digit has no language of its own
        ("5分", "score", ["5"], "zh-hans"),
        ("?", "help", [], None),
        ("？", "help", [], None),
        ("帮助", "help", [], "zh-hans"),
        ("Help", "help", [], "en"),
        ("hello, is anyone there", None, ["hello", "is", "anyone", "there"], "en"),
        ("你好", None, ["你好"], "zh-hans"),
        ("12345", None, ["12345"], None),
        ("", None, [], None),
    ],
)
def test_parse_reads_command_arguments_and_language(db, text, command, args, language):
    # when
    parsed = parse_sms(text)
    # then
    assert (parsed.command.name if parsed.command else None, parsed.args, parsed.language) == (command, args, language)


def test_a_keyword_taken_twice_is_a_configuration_error(own_commands):
    # given
    def handler(request):
        return SmsAnswer(reply="x")

    # when / then
    with pytest.raises(ImproperlyConfigured):
        register_sms_command(("ORDER",), handler, "ORDER: something else", name="other")


def test_registering_the_same_command_again_changes_nothing(own_commands):
    # given
    def handler(request):
        return SmsAnswer(reply="x")

    first = register_sms_command(("PING",), handler, "PING: test")
    # when
    again = register_sms_command(("PING",), handler, "PING: test")
    # then
    assert again is first
    assert [c.name for c in sms_hall.sms_commands()].count("ping") == 1


# --- Senders ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, language, greeting",
    [("ORDER", "en", "[China Unicom]"), ("我的订单到哪了", "zh-hans", "【中国联通】")],
)
def test_an_unknown_sender_gets_a_helpful_reply_in_their_language_and_no_contact(db, settings, text, language, greeting):
    # given
    settings.SMS_HOTLINE = "10010"
    # when
    inbound = receive(text, "+86 139 0000 1111")
    # then
    assert inbound.outcome == UNKNOWN
    assert inbound.customer is None and inbound.contact is None
    assert inbound.language == language
    assert ("not registered" in inbound.reply or "未在我司登记" in inbound.reply) and "10010" in inbound.reply
    message = reply_sms(inbound)
    assert message.to_number == "13900001111"
    assert message.body.startswith(greeting)
    assert Contact.objects.count() == 0


def test_a_closed_line_is_an_unknown_sender(db):
    # given
    SubscriptionFactory(service_number="13912340000", status=Subscription.Status.CLOSED)
    # when
    inbound = receive("ORDER", "13912340000")
    # then
    assert inbound.outcome == UNKNOWN


def test_free_text_from_a_customer_waits_for_an_agent(sender):
    # given
    text = "My internet has been slow since Monday, please call me " + "x" * 300
    # when
    inbound = receive(text, sender.service_number)
    # then
    assert inbound.outcome == FOR_AGENT
    assert inbound.reply.startswith("Received; an agent will contact you")
    contact = inbound.contact
    assert (contact.customer, contact.channel, contact.awaiting_agent, contact.agent) == (sender.customer, Channel.SMS_HALL, True, None)
    assert contact.service_number == sender.service_number
    assert contact.reason.startswith("My internet has been slow") and len(contact.reason) <= 200


def test_help_lists_every_command_and_is_answered(sender):
    # when
    inbound = receive("HELP", sender.service_number)
    # then
    assert inbound.outcome == ANSWERED
    for keyword in ("ORDER", "SHIP", "CONFIRM", "CHANGE", "COMPLAINT", "SCORE"):
        assert keyword in inbound.reply
    assert inbound.contact.awaiting_agent is False
    assert inbound.contact.outcome == "resolved"
    assert inbound.contact.business == "HELP"


def test_help_with_a_plea_in_words_goes_to_an_agent(sender):
    # when
    inbound = receive("help my phone has no signal at all", sender.service_number)
    # then
    assert inbound.outcome == FOR_AGENT
    assert inbound.contact.awaiting_agent is True


def test_a_request_in_words_that_starts_with_a_keyword_goes_to_an_agent(sender):
    # when
    inbound = receive("投诉信号一直不好", sender.service_number)
    # then
    assert inbound.outcome == FOR_AGENT
    assert inbound.contact.reason == "投诉信号一直不好"


def test_an_empty_sms_gets_the_help_hint(sender):
    # when
    inbound = receive("  ", sender.service_number)
    # then
    assert inbound.outcome == MALFORMED
    assert "HELP" in inbound.reply or "帮助" in inbound.reply
    assert inbound.contact.reason == "(empty SMS)"


# --- Language ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, language",
    [("HELP", "en"), ("help", "en"), ("帮助", "zh-hans"), ("where is my parcel", "en"), ("你好", "zh-hans"), ("DD", "zh-hans")],
)
def test_the_reply_is_in_the_language_of_the_message(sender, text, language):
    # when
    inbound = receive(text, sender.service_number)
    # then
    assert inbound.language == language
    assert reply_sms(inbound).body.startswith("[China Unicom]" if language == "en" else "【中国联通】")


@pytest.mark.parametrize("earlier, language", [("HELP", "en"), ("帮助", "zh-hans"), (None, "zh-hans")])
def test_a_message_without_language_is_answered_in_the_senders_last_language(sender, settings, earlier, language):
    # given
    settings.SMS_DEFAULT_LANGUAGE = "zh-hans"
    if earlier:
        receive(earlier, sender.service_number, received_at=timezone.now() - timedelta(minutes=5))
    # when
    inbound = receive("?", sender.service_number)
    # then
    assert inbound.language == language


# --- One answer per gateway message ---------------------------------------------------------------

def test_a_repeated_message_gets_the_first_answer_and_sends_nothing_again(sender):
    # given
    first, created = sms_inbound_receive(message_id="GW-1", from_number=sender.service_number, text="where is my parcel")
    # when
    again, created_again = sms_inbound_receive(message_id="GW-1", from_number=sender.service_number, text="where is my parcel")
    # then
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.reply == first.reply and again.outcome == first.outcome
    assert InboundSms.objects.count() == 1
    assert Contact.objects.count() == 1
    assert SmsMessage.objects.count() == 1
    assert OutboxMessage.objects.filter(key="sms_hall:GW-1").count() == 1


@pytest.mark.parametrize(
    "message_id, number, text, field",
    [
        ("", "13912345678", "HELP", "message_id"),
        ("x" * 101, "13912345678", "HELP", "message_id"),
        ("GW-2", "not a number", "HELP", "from"),
        ("GW-3", "+44 20 7946 0000", "HELP", "from"),
        ("GW-4", "13912345678", "x" * 1001, "text"),
    ],
)
def test_a_bad_hand_over_is_refused_naming_the_field_and_stores_nothing(sender, message_id, number, text, field):
    # when
    with pytest.raises(ValidationError) as refused:
        sms_inbound_receive(message_id=message_id, from_number=number, text=text)
    # then
    assert field in refused.value.message_dict
    assert InboundSms.objects.count() == 0 and SmsMessage.objects.count() == 0


def test_a_received_at_in_the_future_does_not_break_the_contact(sender):
    # when
    inbound = receive("HELP", sender.service_number, received_at=timezone.now() + timedelta(hours=2))
    # then
    assert inbound.contact.started_at <= inbound.contact.ended_at


# --- The timeline ------------------------------------------------------------------------------------

def test_the_sms_shows_on_the_customer_timeline_with_its_channel(sender):
    # given
    agent = UserFactory(roles=["agent"])
    ContactFactory(customer=sender.customer, reason="Called about billing", started_at=timezone.now() - timedelta(hours=1))
    # when
    receive("where is my parcel", sender.service_number)
    entries = registry.timeline_for(sender.customer, agent, limit=10)
    # then
    sms_entries = [e for e in entries if e.kind == "contact" and e.title == "where is my parcel"]
    assert len(sms_entries) == 1 and sms_entries[0].channel == "SMS hall"


# --- The dispatcher never fails the customer -------------------------------------------------------

def test_a_refusal_from_a_service_becomes_the_reply(sender, own_commands):
    # given
    def handler(request):
        raise ValidationError("The delivery date cannot be in the past.")

    register_sms_command(("TRYME",), handler, "TRYME: test")
    # when
    inbound = receive("TRYME", sender.service_number)
    # then
    assert (inbound.outcome, inbound.reply) == (ANSWERED, "The delivery date cannot be in the past.")


@pytest.mark.parametrize("error", [PermissionDenied("no"), RuntimeError("boom")])
def test_a_failing_handler_leaves_nothing_half_written_and_passes_to_an_agent(sender, own_commands, error):
    # given
    def handler(request):
        ContactFactory(customer=request.customer, reason="half-written")
        raise error

    register_sms_command(("BREAKME",), handler, "BREAKME: test")
    # when
    inbound = receive("BREAKME", sender.service_number)
    # then
    assert inbound.outcome == FOR_AGENT
    assert not Contact.objects.filter(reason="half-written").exists()
    assert inbound.contact.awaiting_agent is True
    assert SmsMessage.objects.filter(key=f"sms_hall:{inbound.gateway_id}").exists()


def test_the_contact_is_linked_to_what_the_handler_names(sender, own_commands):
    # given
    other = CustomerFactory()

    def handler(request):
        return SmsAnswer(reply="linked", target=other, contact_reason="about another thing")

    register_sms_command(("LINKME",), handler, "LINKME: test")
    # when
    inbound = receive("LINKME", sender.service_number)
    # then
    link = ContactLink.objects.get(contact=inbound.contact)
    assert link.target == other
    assert inbound.contact.reason == "about another thing"
    assert inbound.contact.notes == "linked"
