"""The SMS hall's complaint commands: the status of a complaint, and scoring its callback by reply.

- ``COMPLAINT [no.]``: status and the time it is to be answered by (or when it closed);
- ``SCORE n`` or the digit alone (1–5): the customer's satisfaction with the latest complaint
  whose callback is due, recorded through the callbacks service as a reached callback.

Whether the problem counts as solved is read from the score, as the callback agent would
ask it: **3 to 5 is solved** (the complaint closes), **1 or 2 is not** (the callbacks service
reopens it with a new work order, and the SMS contact waits in the agents' inbox so that a
person calls the customer back).
"""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servicedesk.sms_hall import (
    SmsAnswer, SmsMalformed, SmsRequest, join_sentences, local_time, not_found_reply, parse_id, register_sms_command,
)

from .models import OPEN_COMPLAINT_STATES, Callback, Complaint, ComplaintStatus
from .services import callbacks

UNSOLVED_UP_TO = 2  # a score of 2 or less: not solved


def _complaint_usage() -> str:
    return _("Send COMPLAINT for your latest complaint, or COMPLAINT and its number, e.g. COMPLAINT 1234.")


def _score_usage() -> str:
    return _("Reply with a score from 1 (very unhappy) to 5 (very satisfied), e.g. 5 or SCORE 5.")


def complaint_reply(complaint: Complaint) -> str:
    parts = [_("Complaint #%(id)s (%(category)s): %(status)s.") % {
        "id": complaint.pk, "category": complaint.category.name, "status": complaint.get_status_display()}]
    if complaint.status == ComplaintStatus.CALLBACK:
        parts.append(_("It is resolved; we will call you to check. You can also reply with a score from 1 to 5."))
    elif complaint.status == ComplaintStatus.RESOLVED:
        parts.append(_("It is resolved; we will call you to check."))
    elif complaint.status in OPEN_COMPLAINT_STATES:
        parts.append(_("We answer by %(due)s.") % {"due": local_time(complaint.due_at)})
    elif complaint.closed_at:
        parts.append(_("Closed on %(when)s.") % {"when": local_time(complaint.closed_at)})
    return join_sentences(parts)


def complaint_status(request: SmsRequest) -> SmsAnswer:
    complaint_id = parse_id(request.args, usage=_complaint_usage())
    complaints = Complaint.objects.filter(customer=request.customer).select_related("category")
    if complaint_id is not None:
        complaint = complaints.filter(pk=complaint_id).first()
    else:
        complaint = complaints.order_by("-received_at", "-id").first()
    if complaint is None:
        return SmsAnswer(reply=not_found_reply() if complaint_id is not None else _("You have no complaints with us."))
    return SmsAnswer(reply=complaint_reply(complaint), target=complaint)


def callback_due_for(customer) -> Callback | None:
    """The customer's latest satisfaction callback still waiting for its answer."""
    return (
        Callback.objects.filter(
            complaint__customer=customer, kind=Callback.Kind.SATISFACTION, status=Callback.Status.DUE,
            complaint__status=ComplaintStatus.CALLBACK,
        )
        .select_related("complaint__category").order_by("-id").first()
    )


def callback_score(request: SmsRequest) -> SmsAnswer:
    if len(request.args) != 1 or not request.args[0].isdigit() or not 1 <= int(request.args[0]) <= 5:
        raise SmsMalformed(_score_usage())
    score = int(request.args[0])
    callback = callback_due_for(request.customer)
    if callback is None:
        return SmsAnswer(reply=_("Thank you, but none of your complaints is waiting for a score."))
    complaint = callback.complaint
    solved = score > UNSOLVED_UP_TO
    callbacks.callback_record(
        callback_id=callback.pk, by=request.by, reached=True, satisfaction=score, solved=solved,
        notes=request.for_staff(gettext_lazy("Scored by SMS")),
    )
    if solved:
        return SmsAnswer(
            reply=join_sentences([
                _("Thank you for your score of %(score)s.") % {"score": score},
                _("Complaint #%(id)s is now closed.") % {"id": complaint.pk},
            ]),
            target=complaint,
            contact_reason=gettext_lazy("Callback scored by SMS"),
        )
    return SmsAnswer(
        reply=join_sentences([
            _("We are sorry complaint #%(id)s is not solved for you (score %(score)s).") % {"id": complaint.pk, "score": score},
            _("We have reopened it and an agent will call you."),
        ]),
        target=complaint,
        contact_reason=gettext_lazy("Callback scored low by SMS: call the customer back"),
        awaiting_agent=True,
    )


def register() -> None:
    register_sms_command(("COMPLAINT", "投诉", "TS"), complaint_status, gettext_lazy("COMPLAINT [no.]: complaint status"),
                         name="complaint", pinyin=("TS",))
    register_sms_command(("SCORE", "评价", "PJ"), callback_score, gettext_lazy("SCORE 1-5 or just the digit: score our callback"),
                         name="score", pinyin=("PJ",), bare_number=True)
