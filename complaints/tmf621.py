"""TM Forum TMF621 Trouble Ticket Management API v4.0.0 over our complaints.

Base path ``/tmf-api/troubleTicket/v4/`` (the specification's ``basePath``); authentication
and role permissions are those of the rest of the API (DRF token or session; reading needs
``complaints.view_complaint``, creating ``complaints.add_complaint``; area managers see only
their areas' customers' complaints).

=========  ===========================  =====================  ====================================
method     path                         operationId            answer
=========  ===========================  =====================  ====================================
GET        ``troubleTicket``            listTroubleTicket      200 + X-Total-Count / X-Result-Count
POST       ``troubleTicket``            createTroubleTicket    201 TroubleTicket
GET        ``troubleTicket/{id}``       retrieveTroubleTicket  200 TroubleTicket
PATCH      ``troubleTicket/{id}``       patchTroubleTicket     200 TroubleTicket
=========  ===========================  =====================  ====================================

DELETE is not offered (405): a complaint is never deleted, it is closed after its callback.
Lists take ``fields`` (first-level attribute selection; ``id``, ``href`` and ``@type``
always come), ``offset`` (default 0), ``limit`` (default 25, at most 200) and these attribute
filters, each answered from an indexed column (or narrowing one):

- ``status`` (one or more TMF statuses, comma-separated; ``complaint_status_due_idx``),
  ``severity``, ``ticketType`` (our category code; ``complaint_category_time_idx``),
  ``externalId`` (the caller's own reference; the unique constraint per client),
  ``relatedParty.id`` (customer id; ``complaint_customer_idx``),
  ``creationDate.gt`` / ``.gte`` / ``.lt`` / ``.lte`` (ISO date or date-time; ``complaint_received_idx``).

An unknown attribute in ``fields`` or an unknown filter is a 400. Every error has the TMF
``Error`` body of ``servicedesk.api.tmf`` (``code``, ``reason``, ``message``, ``status``,
``referenceError``, ``@type: Error``); a refused status change names the allowed next
statuses in ``message``.

Status mapping (``TroubleTicketStatusType``: acknowledged, rejected, pending, held,
inProgress, cancelled, closed, resolved):

====================  ============  ===============================================
our ComplaintStatus   TMF status    why
====================  ============  ===============================================
received              acknowledged  registered; intake routes it in the same step
assigned              acknowledged  a department has the work order, nobody works it yet
in_progress           inProgress    the department is working it
resolved              resolved      answered (moves on to the callback at once)
callback              resolved      answered; our 100% satisfaction callback is due
closed                closed        the callback confirmed it (or was exhausted)
====================  ============  ===============================================

Never produced: ``rejected`` and ``cancelled`` (every complaint is answered), ``pending``
and ``held`` (we do not park complaints; a reopened one is ``inProgress`` again).

Creating (``TroubleTicket_Create`` → ``intake.complaint_take``; the caller is the first-ask
owner): ``description``, ``severity`` (low, normal, high, critical) and ``ticketType``
(our category code) are required; ``relatedParty`` names exactly one party with
``role: Customer`` whose ``id`` is our customer id; ``channel.id`` is one of our channels
(default ``web_hall``); ``relatedEntity`` with ``role: serviceNumber`` carries the line
concerned in its ``id``; ``externalId`` is the client's own reference (the same one again
returns the first ticket); ``note[].text`` become notes. ``Idempotency-Key`` is honoured.

PATCH (``TroubleTicket_Update``, merge-patch of first-level attributes):

- ``description`` and ``severity`` (``complaints.change_complaint``; a new severity moves the
  deadline, ``expectedResolutionDate``);
- ``status``: ``inProgress`` from ``acknowledged`` starts the work, ``resolved`` from
  ``inProgress`` resolves it with ``statusChangeReason`` as the resolution (both need
  ``complaints.work_complaint`` and the handler's department); any other change is a 409
  naming the allowed statuses (closing goes through the callback);
- ``note``: entries without an ``id`` are appended (``complaints.add_complaintnote``);
  existing notes are never changed;
- ``externalId``, ``ticketType``, ``relatedParty``, ``channel`` and the server-set dates
  cannot be changed: a 400 naming them.
"""
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from servicedesk.api import tmf
from servicedesk.api.idempotency import idempotent
from servicedesk.api.permissions import RoleModelPermissions
from servicedesk.fsm import TransitionRefused, allowed_targets
from servicedesk.masking import mask_phone, scrub
from servicedesk.models import Channel
from servicedesk.phones import normalize_service_number
from servicedesk.selectors import customers_visible_to

from .apis import complaints_for_api
from .models import (
    Complaint,
    ComplaintCategory,
    ComplaintNote,
    ComplaintStatus,
    ComplaintTransition,
    Severity,
)
from .serializers import sees_personal_data
from .services import amend, intake, work

TMF_STATUS = {
    ComplaintStatus.RECEIVED: "acknowledged",
    ComplaintStatus.ASSIGNED: "acknowledged",
    ComplaintStatus.IN_PROGRESS: "inProgress",
    ComplaintStatus.RESOLVED: "resolved",
    ComplaintStatus.CALLBACK: "resolved",
    ComplaintStatus.CLOSED: "closed",
}
TMF_STATUSES = ("acknowledged", "rejected", "pending", "held", "inProgress", "cancelled", "closed", "resolved")
STATUSES_BY_TMF_STATUS = {name: [s for s, mapped in TMF_STATUS.items() if mapped == name] for name in TMF_STATUSES}
# PATCH status -> (our transition, the state it leaves)
STATUS_STEPS = {"inProgress": ("start", ComplaintStatus.ASSIGNED), "resolved": ("resolve", ComplaintStatus.IN_PROGRESS)}

TROUBLE_TICKET_ATTRIBUTES = frozenset({
    "id", "href", "creationDate", "description", "expectedResolutionDate", "externalId", "lastUpdate", "name", "priority",
    "requestedResolutionDate", "resolutionDate", "severity", "status", "statusChangeDate", "statusChangeReason", "ticketType",
    "attachment", "channel", "note", "relatedEntity", "relatedParty", "statusChangeHistory", "troubleTicketRelationship",
    "@baseType", "@schemaLocation", "@type",
})
TICKET_FILTERS = {"status", "severity", "ticketType", "externalId", "relatedParty.id", *(f"creationDate.{op}" for op in ("gt", "gte", "lt", "lte"))}
DATE_LOOKUPS = {f"creationDate.{op}": lookup for op, lookup in (("gt", "gt"), ("gte", "gte"), ("lt", "lt"), ("lte", "lte"))}
READ_ONLY_ON_PATCH = ("id", "href", "externalId", "ticketType", "relatedParty", "channel", "creationDate", "lastUpdate",
                      "statusChangeDate", "statusChangeHistory", "resolutionDate", "expectedResolutionDate", "relatedEntity")
# Field names in the services' errors -> the JSON path the client sent.
FIELD_PATHS = {"customer": "relatedParty", "category": "ticketType", "service_number": "relatedEntity", "resolution": "statusChangeReason",
               "text": "note", "channel": "channel.id"}


# --- Errors --------------------------------------------------------------------------

TMF_ERRORS = tmf.TmfErrors(
    field_paths=FIELD_PATHS, state_names=TMF_STATUS,
    conflict=gettext_lazy("The trouble ticket is %(status)s; allowed next statuses: %(allowed)s."),
)




# --- Rendering --------------------------------------------------------------------------

def _transitions(complaint) -> list:
    cached = getattr(complaint, "_prefetched_objects_cache", {})
    if "transitions" in cached:
        return list(complaint.transitions.all())
    return list(ComplaintTransition.objects.filter(complaint=complaint).order_by("at", "id"))


def _notes(complaint) -> list:
    cached = getattr(complaint, "_prefetched_objects_cache", {})
    if "notes" in cached:
        return list(complaint.notes.all())
    return list(ComplaintNote.objects.filter(complaint=complaint).select_related("by").order_by("at", "id"))


def _status_history(transitions) -> list[dict]:
    """One StatusChange each time the TMF status changed (escalations keep it and are left out)."""
    history, last = [], None
    for record in transitions:
        mapped = TMF_STATUS.get(record.to_state)
        if mapped is None or mapped == last:
            continue
        last = mapped
        history.append(tmf.compact({
            "status": mapped, "statusChangeDate": tmf.dt(record.at), "statusChangeReason": record.reason or record.transition,
            "@type": "StatusChange",
        }))
    return history


def trouble_ticket_body(complaint: Complaint, *, request) -> dict:
    """One complaint as a TMF621 ``TroubleTicket``; personal data masked as on /api/v1/."""
    whole = sees_personal_data(request.user)
    transitions = _transitions(complaint)
    notes = _notes(complaint)
    history = _status_history(transitions)
    last_change = history[-1] if history else {}
    moments = [t.at for t in transitions] + [n.at for n in notes]
    number = complaint.service_number if whole else mask_phone(complaint.service_number)
    return tmf.compact({
        "id": str(complaint.pk),
        "href": tmf.url(request, "tmf621-trouble-ticket-detail", complaint.pk),
        "name": complaint.category.name,
        "description": complaint.description if whole else scrub(complaint.description),
        "severity": complaint.severity,
        "ticketType": complaint.category.code,
        "status": TMF_STATUS[complaint.status],
        "statusChangeDate": last_change.get("statusChangeDate"),
        "statusChangeReason": last_change.get("statusChangeReason"),
        "creationDate": tmf.dt(complaint.received_at),
        "expectedResolutionDate": tmf.dt(complaint.due_at),
        "resolutionDate": tmf.dt(complaint.resolved_at),
        "lastUpdate": tmf.dt(max(moments)) if moments else tmf.dt(complaint.received_at),
        # The reference is the submitting client's: shown to them only.
        "externalId": complaint.external_id if complaint.external_id and complaint.created_by_id == request.user.pk else None,
        "channel": {"id": complaint.channel, "name": str(complaint.get_channel_display()), "@type": "ChannelRef"},
        "relatedParty": [tmf.compact({
            "id": str(complaint.customer_id),
            "href": tmf.url(request, "customer-detail", complaint.customer_id),
            "name": complaint.customer.name,
            "role": "Customer",
            "@referredType": "Individual",
            "@type": "RelatedParty",
        })],
        "relatedEntity": [{"id": number, "role": "serviceNumber", "@referredType": "Subscription", "@type": "RelatedEntity"}] if number else [],
        "note": [tmf.compact({
            "id": str(note.pk),
            "author": note.by.username if note.by_id else None,
            "date": tmf.dt(note.at),
            "text": note.text if whole else scrub(note.text),
            "@type": "Note",
        }) for note in notes],
        "statusChangeHistory": history,
        "@type": "TroubleTicket",
    })


# --- Parsing ----------------------------------------------------------------------------

@extend_schema_serializer(component_name="TroubleTicketRelatedParty")
class RelatedPartySerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20, help_text="Our customer id for role Customer.")
    role = serializers.CharField(required=False, allow_blank=True, max_length=50)
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="TroubleTicketRelatedEntity")
class RelatedEntitySerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20, help_text="With role serviceNumber: the customer's line the ticket concerns.")
    role = serializers.CharField(max_length=50, help_text="serviceNumber")
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="TroubleTicketNote")
class NoteSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, max_length=20, help_text="Leave out for a new note.")
    text = serializers.CharField(max_length=2000)
    author = serializers.CharField(required=False, help_text="Ignored: the author is the caller.")
    date = serializers.DateTimeField(required=False, help_text="Ignored: the date is now.")


@extend_schema_serializer(component_name="TroubleTicketChannelRef")
class ChannelRefSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20, help_text=", ".join(Channel.values))
    name = serializers.CharField(required=False)


@extend_schema_serializer(component_name="TroubleTicket_Create")
class TroubleTicketCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=4000)
    severity = serializers.CharField(max_length=10, help_text=", ".join(Severity.values))
    ticketType = serializers.CharField(max_length=30, help_text="Our complaint category code.")
    externalId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    name = serializers.CharField(required=False, allow_blank=True, help_text="Ignored: the name is the category's.")
    channel = ChannelRefSerializer(required=False)
    relatedParty = RelatedPartySerializer(many=True)
    relatedEntity = RelatedEntitySerializer(many=True, required=False)
    note = NoteSerializer(many=True, required=False)

    def validate(self, attrs):
        """Resolve the customer, category and number into ``complaint_take``'s keywords."""
        user = self.context["request"].user
        errors: dict[str, list[str]] = {}
        take: dict = {"description": attrs["description"], "external_id": (attrs.get("externalId") or "").strip()}
        if attrs["severity"] not in Severity.values:
            errors["severity"] = [_("Use one of %(names)s.") % {"names": ", ".join(Severity.values)}]
        take["severity"] = attrs["severity"]
        take["category"] = ComplaintCategory.objects.select_related("department").filter(code=attrs["ticketType"], active=True).first()
        if take["category"] is None:
            errors["ticketType"] = [_("No such complaint category.")]
        customers = [(i, p) for i, p in enumerate(attrs["relatedParty"]) if (p.get("role") or "").lower() == "customer"]
        if len(customers) != 1:
            errors["relatedParty"] = [_("Name exactly one related party with role “Customer”, whose id is the customer's id.")]
        else:
            index, party = customers[0]
            customer = customers_visible_to(user).filter(pk=int(party["id"])).first() if party["id"].isdigit() and len(party["id"]) < 19 else None
            if customer is None:
                errors[f"relatedParty[{index}].id"] = [_("No such customer.")]
            take["customer"] = customer
        take["service_number"] = ""
        for index, entity in enumerate(attrs.get("relatedEntity") or []):
            if entity["role"] != "serviceNumber":
                continue
            try:
                take["service_number"] = normalize_service_number(entity["id"])
            except Exception as exc:  # noqa: BLE001 - Django's ValidationError; its message goes back
                errors[f"relatedEntity[{index}].id"] = list(getattr(exc, "messages", [str(exc)]))
        channel = (attrs.get("channel") or {}).get("id", Channel.WEB_HALL)
        if channel not in Channel.values:
            errors["channel.id"] = [_("Unknown channel; use one of %(names)s.") % {"names": ", ".join(Channel.values)}]
        take["channel"] = channel
        if errors:
            raise serializers.ValidationError(errors)
        return {"take": take, "notes": [n["text"].strip() for n in attrs.get("note") or [] if n["text"].strip()]}


@extend_schema_serializer(component_name="TroubleTicket_Update")
class TroubleTicketUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, max_length=4000)
    severity = serializers.CharField(required=False, max_length=10, help_text=", ".join(Severity.values))
    status = serializers.CharField(required=False, max_length=20, help_text="inProgress (start) or resolved (with statusChangeReason).")
    statusChangeReason = serializers.CharField(required=False, allow_blank=True, max_length=4000, help_text="resolved: the resolution.")
    note = NoteSerializer(many=True, required=False, help_text="Entries without an id are appended.")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) & set(READ_ONLY_ON_PATCH))
        errors = {name: [_("This attribute cannot be changed.")] for name in unknown}
        if "severity" in attrs and attrs["severity"] not in Severity.values:
            errors["severity"] = [_("Use one of %(names)s.") % {"names": ", ".join(Severity.values)}]
        if "status" in attrs and attrs["status"] not in TMF_STATUSES:
            errors["status"] = [_("Use one of %(names)s.") % {"names": ", ".join(TMF_STATUSES)}]
        if attrs.get("status") == "resolved" and not (attrs.get("statusChangeReason") or "").strip():
            errors["statusChangeReason"] = [_("Say how it was resolved.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- Query parameters ---------------------------------------------------------------------

def _tmf_statuses(raw: str) -> list[str]:
    names = [s.strip() for s in raw.split(",") if s.strip()]
    if any(s not in TMF_STATUSES for s in names):
        raise ApiValidationError({"status": [_("Unknown status; use %(names)s.") % {"names": ", ".join(TMF_STATUSES)}]})
    return names


def _tickets_for(request):
    return complaints_for_api(user=request.user).prefetch_related(
        Prefetch("transitions", queryset=ComplaintTransition.objects.order_by("at", "id")),
        Prefetch("notes", queryset=ComplaintNote.objects.select_related("by").order_by("at", "id")),
    )


def _filtered_tickets(request):
    tmf.check_filters(request, TICKET_FILTERS)
    params = request.query_params
    complaints = _tickets_for(request)
    if "status" in params:
        complaints = complaints.filter(status__in=[s for name in _tmf_statuses(params["status"]) for s in STATUSES_BY_TMF_STATUS[name]])
    if "severity" in params:
        if params["severity"] not in Severity.values:
            raise ApiValidationError({"severity": [_("Use one of %(names)s.") % {"names": ", ".join(Severity.values)}]})
        complaints = complaints.filter(severity=params["severity"])
    if "ticketType" in params:
        complaints = complaints.filter(category__code=params["ticketType"][:30])
    if "externalId" in params:
        complaints = complaints.filter(created_by=request.user, external_id=params["externalId"].strip()[:100])
    if "relatedParty.id" in params:
        raw = params["relatedParty.id"]
        if not raw.isdigit() or len(raw) > 18:
            raise ApiValidationError({"relatedParty.id": [_("A customer id (a whole number) is required.")]})
        complaints = complaints.filter(customer_id=int(raw))
    for name, lookup in DATE_LOOKUPS.items():
        if name in params:
            complaints = complaints.filter(**{f"received_at__{lookup}": tmf.moment(name, params[name])})
    return complaints


def _visible_ticket(request, raw_id: str) -> Complaint:
    complaint = _tickets_for(request).filter(pk=int(raw_id)).first() if raw_id.isdigit() and len(raw_id) < 19 else None
    if complaint is None:
        raise NotFound(_("No such trouble ticket."))
    return complaint


# --- Views ------------------------------------------------------------------------------

_REF = {"id": serializers.CharField(), "@type": serializers.CharField()}
TROUBLE_TICKET = inline_serializer("TroubleTicket", fields={
    "id": serializers.CharField(),
    "href": serializers.URLField(),
    "name": serializers.CharField(help_text="The category's name."),
    "description": serializers.CharField(),
    "severity": serializers.CharField(help_text=", ".join(Severity.values)),
    "ticketType": serializers.CharField(help_text="Our complaint category code."),
    "status": serializers.CharField(help_text=", ".join(TMF_STATUSES)),
    "statusChangeDate": serializers.DateTimeField(required=False),
    "statusChangeReason": serializers.CharField(required=False),
    "creationDate": serializers.DateTimeField(),
    "expectedResolutionDate": serializers.DateTimeField(help_text="The complaint's deadline."),
    "resolutionDate": serializers.DateTimeField(required=False),
    "lastUpdate": serializers.DateTimeField(),
    "externalId": serializers.CharField(required=False, help_text="Only to the client that gave it."),
    "channel": inline_serializer("TroubleTicketChannelRefOut", fields={**_REF, "name": serializers.CharField()}),
    "relatedParty": inline_serializer("TroubleTicketRelatedPartyOut", fields={
        **_REF, "href": serializers.URLField(required=False), "name": serializers.CharField(), "role": serializers.CharField(),
        "@referredType": serializers.CharField(),
    }, many=True),
    "relatedEntity": inline_serializer("TroubleTicketRelatedEntityOut", fields={
        **_REF, "role": serializers.CharField(), "@referredType": serializers.CharField(),
    }, many=True, required=False),
    "note": inline_serializer("TroubleTicketNoteOut", fields={
        **_REF, "author": serializers.CharField(required=False), "date": serializers.DateTimeField(), "text": serializers.CharField(),
    }, many=True, required=False),
    "statusChangeHistory": inline_serializer("TroubleTicketStatusChange", fields={
        "status": serializers.CharField(), "statusChangeDate": serializers.DateTimeField(),
        "statusChangeReason": serializers.CharField(required=False), "@type": serializers.CharField(),
    }, many=True, required=False),
    "@type": serializers.CharField(help_text="TroubleTicket"),
})
ERRORS = {code: tmf.TMF_ERROR for code in (400, 401, 403, 404, 409)}
TAGS = ["TMF621 troubleTicket"]


class TicketPermissions(RoleModelPermissions):
    """Reading needs view_complaint, creating add_complaint; a PATCH needs view_complaint here and
    the permission of each attribute it changes in the view (note, description/severity, status)."""

    perms_map = {**RoleModelPermissions.perms_map, "PATCH": ["%(app_label)s.view_%(model_name)s"]}


class TmfTicketView(tmf.TmfView):
    errors = TMF_ERRORS
    permission_classes = [TicketPermissions]
    queryset = Complaint.objects.none()  # names the model whose permissions apply


class TroubleTicketList(TmfTicketView):
    """Trouble tickets: our complaints, statuses mapped as tabled in the module docstring of complaints/tmf621.py."""

    @extend_schema(
        operation_id="listTroubleTicket", summary="List or find TroubleTicket objects", tags=TAGS,
        parameters=[
            OpenApiParameter("fields", OpenApiTypes.STR, description="Comma-separated first-level attributes; id, href and @type always come."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Index of the first resource (default 0)."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="How many (default 25, at most 200)."),
            OpenApiParameter("status", OpenApiTypes.STR, description="One or more of: " + ", ".join(TMF_STATUSES) + " (comma-separated)."),
            OpenApiParameter("severity", OpenApiTypes.STR, description=", ".join(Severity.values)),
            OpenApiParameter("ticketType", OpenApiTypes.STR, description="Our complaint category code."),
            OpenApiParameter("externalId", OpenApiTypes.STR, description="The caller's own reference given at creation."),
            OpenApiParameter("relatedParty.id", OpenApiTypes.STR, description="Customer id."),
            *[OpenApiParameter(name, OpenApiTypes.STR, description="ISO date or date-time on creationDate.") for name in DATE_LOOKUPS],
            OpenApiParameter("X-Total-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200], description="Resources matching the filters."),
            OpenApiParameter("X-Result-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200], description="Resources in this response."),
        ],
        responses={200: TROUBLE_TICKET.__class__(many=True), **ERRORS},
    )
    def get(self, request):
        fields = tmf.fields(request, TROUBLE_TICKET_ATTRIBUTES)
        offset, limit = tmf.window(request)
        complaints = _filtered_tickets(request)
        total = complaints.count()
        page = list(complaints[offset : offset + limit]) if limit else []
        return tmf.list_response([tmf.select(trouble_ticket_body(c, request=request), fields) for c in page], total)

    @extend_schema(
        operation_id="createTroubleTicket", summary="Creates a TroubleTicket", tags=TAGS,
        request=TroubleTicketCreateSerializer, parameters=[tmf.IDEMPOTENCY_PARAMETER], responses={201: TROUBLE_TICKET, **ERRORS, 422: tmf.TMF_ERROR},
    )
    def post(self, request):
        return TMF_ERRORS.as_tmf(idempotent("tmf621.troubleTicket.create", request, lambda: self._create(request)), request)

    def _create(self, request):
        data = TroubleTicketCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            complaint = intake.complaint_take(agent=request.user, **data.validated_data["take"])
            for text in data.validated_data["notes"]:
                work.complaint_note_add(complaint_id=complaint.pk, by=request.user, text=text)
        body = trouble_ticket_body(_visible_ticket(request, str(complaint.pk)), request=request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["href"]})


class TroubleTicketDetail(TmfTicketView):
    """One trouble ticket; attribute selection with ``fields``; PATCH as the module docstring says."""

    @extend_schema(
        operation_id="retrieveTroubleTicket", summary="Retrieves a TroubleTicket by ID", tags=TAGS,
        parameters=[tmf.ID_PARAMETER, tmf.FIELDS_PARAMETER], responses={200: TROUBLE_TICKET, **ERRORS},
    )
    def get(self, request, id):
        fields = tmf.fields(request, TROUBLE_TICKET_ATTRIBUTES)
        return Response(tmf.select(trouble_ticket_body(_visible_ticket(request, id), request=request), fields))

    @extend_schema(
        operation_id="patchTroubleTicket", summary="Updates partially a TroubleTicket", tags=TAGS,
        parameters=[tmf.ID_PARAMETER], request=TroubleTicketUpdateSerializer, responses={200: TROUBLE_TICKET, **ERRORS},
    )
    def patch(self, request, id):
        complaint = _visible_ticket(request, id)
        if not isinstance(request.data, dict):
            raise ApiValidationError({"non_field_errors": [_("Send a JSON object.")]})
        data = TroubleTicketUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        user = request.user
        new_notes = [n["text"].strip() for n in changes.get("note") or [] if not n.get("id") and n["text"].strip()]
        needed = []
        if "description" in changes or "severity" in changes:
            needed.append("complaints.change_complaint")
        if new_notes:
            needed.append("complaints.add_complaintnote")
        if "status" in changes and changes["status"] != TMF_STATUS[complaint.status]:
            needed.append("complaints.work_complaint")
        if any(not user.has_perm(p) for p in needed):
            raise PermissionDenied(_("Your role may not change these attributes."))
        with transaction.atomic():
            if "description" in changes or "severity" in changes:
                amend.complaint_amend(complaint_id=complaint.pk, by=user, description=changes.get("description"), severity=changes.get("severity"))
            if "status" in changes and changes["status"] != TMF_STATUS[complaint.status]:
                self._change_status(complaint, changes)
            for text in new_notes:
                work.complaint_note_add(complaint_id=complaint.pk, by=user, text=text)
        return Response(trouble_ticket_body(_visible_ticket(request, id), request=request))

    def _change_status(self, complaint: Complaint, changes: dict) -> None:
        step = STATUS_STEPS.get(changes["status"])
        if step is None or complaint.status != step[1]:
            raise TransitionRefused(
                _("This status change is not possible while the trouble ticket is %(status)s.") % {"status": TMF_STATUS[complaint.status]},
                allowed=[s for s in allowed_targets(complaint) if s in (ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED)],
                current=complaint.status,
            )
        if step[0] == "start":
            work.complaint_start(complaint_id=complaint.pk, by=self.request.user)
        else:
            work.complaint_resolve(complaint_id=complaint.pk, by=self.request.user, resolution=changes["statusChangeReason"])
