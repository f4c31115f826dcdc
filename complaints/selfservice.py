"""The complaints app's part of the self-service halls (registered on import, from ``ComplaintsConfig.ready()``).

- The *complaints* section: the customer's recent complaints with their status.
- *File a complaint* (web hall): through ``intake.complaint_take`` with channel ``web_hall``. Intake
  needs a first-ask owner who may take complaints; in the web hall no agent takes it, so the hall's
  own system account (``SELF_SERVICE_USERNAME``) owns it: routed to its category's department with
  its time limit like any other, and called back like any other.
- *Rate the callback*: a complaint waiting for its satisfaction callback may be scored 1–5 by the
  customer (``callbacks.callback_record``): solved closes it, not solved reopens it.
- ``POST /api/v1/self-service/complaints/`` (IVR, app hall): the contact with the client's channel and
  the complaint through the same intake; the client account is the first-ask owner, as on
  ``/api/v1/complaints/``.
"""
from django import forms
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import pgettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from servicedesk import selfservice
from servicedesk.api.idempotency import idempotent
from servicedesk.apis_selfservice import (
    ERROR,
    IDEMPOTENCY_HEADER,
    SelfServiceAPIView,
    channel_field,
)
from servicedesk.models import Outcome
from servicedesk.services import contact_link, contact_record

from .models import (
    OPEN_COMPLAINT_STATES,
    Callback,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Severity,
)
from .serializers import ComplaintCreateSerializer, ComplaintSerializer
from .services import callbacks, intake

FILE = "complaints.file"
RATE = "complaints.rate"
RECENT = 10
SCORES = [(str(n), str(n)) for n in range(1, 6)]


class ComplaintForm(forms.Form):
    category = forms.ModelChoiceField(
        label=gettext_lazy("What is it about?"), queryset=ComplaintCategory.objects.filter(active=True).order_by("code"),
        empty_label=None,
    )
    description = forms.CharField(
        label=gettext_lazy("Tell us what happened"), max_length=intake.MAX_DESCRIPTION, widget=forms.Textarea(attrs={"rows": 5}),
    )


class RatingForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you? (1 = not at all, 5 = very)"), choices=SCORES, coerce=int, widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        label=gettext_lazy("Is the problem solved?"), choices=[("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
        coerce=lambda value: value == "yes", widget=forms.RadioSelect,
    )


def _due_rating(complaint: Complaint) -> Callback | None:
    """The satisfaction callback the customer may answer themselves (prefetched ``callbacks``)."""
    if complaint.status != ComplaintStatus.CALLBACK:
        return None
    due = [c for c in complaint.callbacks.all() if c.kind == Callback.Kind.SATISFACTION and c.status == Callback.Status.DUE]
    return due[-1] if due else None


def complaint_item(complaint: Complaint) -> selfservice.Item:
    is_open = complaint.status in OPEN_COMPLAINT_STATES
    fields = [
        (_("Category"), complaint.category.name),
        (pgettext("when a complaint came in", "Received"), timezone.localtime(complaint.received_at).strftime("%Y-%m-%d %H:%M")),
    ]
    if is_open and complaint.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CALLBACK):
        fields.append((_("Answer due by"), timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M")))
    if complaint.resolution:
        fields.append((_("What we did"), complaint.resolution))
    due = _due_rating(complaint)
    return selfservice.Item(
        kind="complaint", id=complaint.pk,
        title=_("Complaint #%(id)s %(category)s") % {"id": complaint.pk, "category": complaint.category.name},
        state=complaint.get_status_display(), state_code=complaint.status, open=is_open, at=complaint.received_at,
        fields=fields,
        data={
            "category": complaint.category.code, "category_name": complaint.category.name, "severity": complaint.severity,
            "channel": complaint.channel, "received_at": complaint.received_at, "due_at": complaint.due_at,
            "callback_due": due is not None,
        },
        actions=[RATE] if due is not None else [],
    )


def _complaints(customer):
    return Complaint.objects.filter(customer=customer).select_related("category").prefetch_related("callbacks").order_by("-received_at", "-id")


def complaints_items(customer, open_only: bool) -> list[selfservice.Item]:
    complaints = _complaints(customer)
    if open_only:
        complaints = complaints.filter(status__in=OPEN_COMPLAINT_STATES)
    return [complaint_item(c) for c in complaints[:RECENT]]


def complaint_item_of(customer, complaint_id: int) -> selfservice.Item | None:
    complaint = _complaints(customer).filter(pk=complaint_id).first()
    return complaint_item(complaint) if complaint else None


def _label(complaint: Complaint) -> str:
    return _("Complaint #%(id)s") % {"id": complaint.pk}


@transaction.atomic
def file_complaint(request: selfservice.ActionRequest, _object_id, data: dict) -> str:
    category = data["category"]
    with translation.override(settings.LANGUAGE_CODE):  # the record is read by staff
        contact = selfservice.selfservice_contact(
            request=request, reason=_("Complaint: %(category)s") % {"category": category.name}, outcome=Outcome.COMPLAINT_OPENED,
            business=category.name,
        )
    complaint = intake.complaint_take(
        agent=selfservice.selfservice_user(), customer=request.customer, category=category, severity=Severity.NORMAL,
        description=data["description"], service_number=request.service_number, channel=request.channel, contact=contact,
    )
    with translation.override(settings.LANGUAGE_CODE):
        contact_link(contact=contact, target=complaint, label=_label(complaint))
    return _("Your complaint #%(id)s is received. We will answer by %(due)s.") % {
        "id": complaint.pk, "due": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M")}


@transaction.atomic
def rate_callback(request: selfservice.ActionRequest, complaint_id: int, data: dict) -> str:
    """Only the customer's own complaint (else DoesNotExist: 404); the callbacks service refuses a done one."""
    complaint = Complaint.objects.filter(pk=complaint_id, customer=request.customer).first()
    if complaint is None:
        raise Complaint.DoesNotExist
    callback = complaint.callbacks.filter(kind=Callback.Kind.SATISFACTION).order_by("-id").first()
    if callback is None:
        raise Callback.DoesNotExist
    callbacks.callback_record(
        callback_id=callback.pk, by=selfservice.selfservice_user(), reached=True,
        satisfaction=data["satisfaction"], solved=data["solved"],
    )
    with translation.override(settings.LANGUAGE_CODE):
        selfservice.selfservice_contact(
            request=request, reason=_("Rated the complaint callback: %(score)s of 5") % {"score": data["satisfaction"]},
            target=complaint, label=_label(complaint), business=_("Complaint callback"),
            notes=_("Solved") if data["solved"] else _("Not solved"),
        )
    if data["solved"]:
        return _("Thank you for your rating. Complaint #%(id)s is closed.") % {"id": complaint.pk}
    return _("Thank you for your rating. We have reopened complaint #%(id)s and will work on it again.") % {"id": complaint.pk}


# --- The IVR and app hall API ------------------------------------------------------------------

class SelfServiceComplaintSerializer(ComplaintCreateSerializer):
    """A complaint, as for ``/api/v1/complaints/``, from a self-service channel."""

    channel = channel_field()


class SelfServiceComplaintResponse(ComplaintSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True, help_text="The contact recorded for the complaint.")

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "contact"]
        read_only_fields = fields


@transaction.atomic
def selfservice_complaint(*, client, channel: str, customer, category, **fields) -> Complaint:
    """The contact with the channel and the complaint through intake, linked: one transaction."""
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Complaint: %(category)s") % {"category": category.name}
    contact = contact_record(
        agent=None, channel=channel, customer=customer, service_number=fields.get("service_number", ""),
        reason=reason, business=category.name[:100], outcome=Outcome.COMPLAINT_OPENED,
    )
    complaint = intake.complaint_take(agent=client, customer=customer, category=category, channel=channel, contact=contact, **fields)
    with translation.override(settings.LANGUAGE_CODE):
        contact_link(contact=contact, target=complaint, label=_label(complaint))
    return complaint


class SelfServiceComplaintView(SelfServiceAPIView):
    @extend_schema(
        summary="File a complaint from the IVR or the app hall",
        description=(
            "As POST /api/v1/complaints/, with the client's channel (ivr or app_hall), which the complaint keeps. "
            "A contact with that channel is recorded and linked; the client account is the first-ask owner; the "
            "complaint is routed to its category's department at once."
        ),
        request=SelfServiceComplaintSerializer,
        responses={201: SelfServiceComplaintResponse, 400: ERROR, 422: OpenApiResponse(description="The Idempotency-Key was used with a different body.")},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["self-service"],
    )
    def post(self, request):
        return idempotent("selfservice.complaints", request, lambda: self._create(request))

    def _create(self, request):
        data = SelfServiceComplaintSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        complaint = selfservice_complaint(client=request.user, **data.validated_data)
        complaint = Complaint.objects.select_related("customer", "category", "department", "first_ask_owner").get(pk=complaint.pk)
        return Response(SelfServiceComplaintResponse(complaint, context={"request": request}).data, status=status.HTTP_201_CREATED)


def register() -> None:
    selfservice.register_section(selfservice.Section(
        key="complaints", title=gettext_lazy("Complaints"), items=complaints_items, item=complaint_item_of,
        empty_text=gettext_lazy("No complaints."), order=30,
    ))
    selfservice.register_action(selfservice.Action(
        key=FILE, label=gettext_lazy("File a complaint"), form_class=ComplaintForm, run=file_complaint, section="complaints",
        on_item=False, submit_label=gettext_lazy("Send the complaint"),
    ))
    selfservice.register_action(selfservice.Action(
        key=RATE, label=gettext_lazy("Rate how we handled it"), form_class=RatingForm, run=rate_callback, section="complaints",
        submit_label=gettext_lazy("Send my rating"),
    ))
    selfservice.require_permissions("complaints.add_complaint", "complaints.callback_complaint")
    selfservice.register_api_view("complaints/", SelfServiceComplaintView)


register()
