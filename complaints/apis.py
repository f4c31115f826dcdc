"""REST endpoints of the complaints app for integrating systems: ``/api/v1/complaints/``.

- ``POST /complaints/`` takes a complaint through ``intake.complaint_take`` (``Idempotency-Key``
  supported: a retry returns the first answer and creates nothing); the caller is its first-ask owner.
- ``GET /complaints/`` (filters below) and ``GET /complaints/{id}/``: area managers see only
  their areas' customers' complaints; numbers are masked for roles that do not need them.
- ``POST /complaints/{id}/transition/`` with ``{"action": "start"|"resolve"|"transfer"|"escalate"|"appeal", ...}``:
  409 naming the allowed next states when the state machine refuses; 403 when the role may not.
- ``GET|POST /complaints/{id}/notes/`` and ``GET /complaints/{id}/history/`` (transitions, oldest first).
"""
import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from servicedesk.api.idempotency import idempotent
from servicedesk.api.permissions import RoleModelPermissions
from servicedesk.models import Subscription
from servicedesk.phones import normalize_service_number
from servicedesk.selectors import restrict_to_visible_customers

from .models import (
    Complaint,
    ComplaintNote,
    ComplaintStatus,
    ComplaintTransition,
    Severity,
)
from .serializers import (
    ComplaintCreateSerializer,
    ComplaintNoteSerializer,
    ComplaintSerializer,
    ComplaintTransitionRequestSerializer,
    ComplaintTransitionSerializer,
)
from .services import intake, work

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Retries with the same key return the first answer and create nothing new; "
    "the same key with a different body is refused with 422.",
)


def complaints_for_api(*, user) -> QuerySet[Complaint]:
    """What the caller may see, with what a row renders, in a fixed number of queries."""
    return restrict_to_visible_customers(Complaint.objects.select_related("customer", "category", "department", "first_ask_owner"), user)


class ComplaintPermissions(RoleModelPermissions):
    """Model permissions by role; each transition and the notes need their own permission."""

    TRANSITION_PERMISSIONS = {
        "start": "complaints.work_complaint", "resolve": "complaints.work_complaint", "transfer": "complaints.work_complaint",
        "escalate": "complaints.escalate_complaint", "appeal": "complaints.escalate_complaint",
    }

    def has_permission(self, request, view):
        user = request.user
        name = getattr(view, "action", None)
        if name in ("notes", "transition", "history"):
            if not (user and user.is_authenticated and user.has_perm("complaints.view_complaint")):
                return False
            if name == "notes" and request.method == "POST":
                return user.has_perm("complaints.add_complaintnote")
            if name == "transition":
                # Which transition is checked in the view, once the body is read (an unknown one is a 400).
                return any(user.has_perm(p) for p in set(self.TRANSITION_PERMISSIONS.values()))
            return True
        return super().has_permission(request, view)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ComplaintFilter(django_filters.FilterSet):
    """Filters on indexed columns (``Complaint.Meta.indexes``).

    status uses ``complaint_status_due_idx``; department ``complaint_department_idx``;
    category (with the received range) ``complaint_category_time_idx``; customer
    ``complaint_customer_idx``; the received range alone ``complaint_received_idx``; a
    service number goes through the indexed subscription numbers to the customer index.
    severity, escalated and appeal have no index of their own: they narrow one of the
    above (or the walk of the list's order, ``-received_at``, which is indexed).
    """

    status = django_filters.ChoiceFilter(choices=ComplaintStatus.choices)
    category = django_filters.CharFilter(field_name="category__code", max_length=30, help_text="Category code.")
    department = django_filters.CharFilter(field_name="department__code", max_length=30, help_text="Department code.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    escalated = django_filters.BooleanFilter()
    appeal = django_filters.BooleanFilter()
    customer = IdFilter(field_name="customer_id", min_value=1, max_value=2**63 - 1, help_text="Customer id.")
    service_number = django_filters.CharFilter(method="filter_service_number", max_length=20, help_text="The line the complaint concerns.")
    received_after = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="gte", help_text="ISO date-time (Asia/Shanghai when no offset), inclusive."
    )
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt", help_text="ISO date-time, exclusive.")

    class Meta:
        model = Complaint
        fields = ["status", "category", "department", "severity", "escalated", "appeal", "customer", "service_number",
                  "received_after", "received_before"]

    def filter_service_number(self, complaints, name, value):
        try:
            number = normalize_service_number(value)
        except DjangoValidationError as exc:
            raise ApiValidationError({"service_number": exc.messages}) from exc
        owners = Subscription.objects.filter(service_number=number).values("customer_id")
        return complaints.filter(customer__in=owners, service_number=number)


@extend_schema_view(
    list=extend_schema(summary="List complaints, newest first"),
    retrieve=extend_schema(summary="Read one complaint"),
    create=extend_schema(
        summary="Take a complaint",
        description="The caller becomes its first-ask owner; it is routed to its category's department with a deadline. "
        "An external_id this client already gave returns that first complaint.",
        request=ComplaintCreateSerializer,
        responses={
            201: ComplaintSerializer,
            400: OpenApiResponse(description="Invalid fields, named in detail."),
            403: OpenApiResponse(description="The role may not take complaints."),
            422: OpenApiResponse(description="The Idempotency-Key was used with a different body."),
        },
        parameters=[IDEMPOTENCY_HEADER],
    ),
)
class ComplaintViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ComplaintSerializer
    queryset = Complaint.objects.none()  # for permissions and the schema; get_queryset scopes by role
    permission_classes = [ComplaintPermissions]
    filterset_class = ComplaintFilter

    def get_queryset(self):
        return complaints_for_api(user=self.request.user)

    def create(self, request, *args, **kwargs):
        return idempotent("complaints.create", request, lambda: self._create(request))

    def _create(self, request):
        data = ComplaintCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        complaint = intake.complaint_take(agent=request.user, **data.validated_data)
        body = self.get_serializer(self.get_queryset().get(pk=complaint.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": f"{request.path}{complaint.pk}/"})

    @extend_schema(
        summary="Move a complaint through its state machine",
        description="start, resolve (resolution), transfer (department, reason), escalate (reason: repeat, vip, regulator), "
        "appeal (due_at). Escalating and recording an appeal keep the state.",
        request=ComplaintTransitionRequestSerializer,
        responses={
            200: ComplaintSerializer,
            400: OpenApiResponse(description="Unknown action or missing parameters, named in detail."),
            403: OpenApiResponse(description="The role may not take this step."),
            404: OpenApiResponse(description="No such complaint, or not visible to the caller."),
            409: OpenApiResponse(description="Not possible in its state; detail.allowed names the allowed next states."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request, pk=None):
        complaint = self.get_object()
        data = ComplaintTransitionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        step = params["action"]
        if not request.user.has_perm(ComplaintPermissions.TRANSITION_PERMISSIONS[step]):
            self.permission_denied(request)
        if step == "start":
            work.complaint_start(complaint_id=complaint.pk, by=request.user)
        elif step == "resolve":
            work.complaint_resolve(complaint_id=complaint.pk, by=request.user, resolution=params["resolution"])
        elif step == "transfer":
            work.complaint_transfer(complaint_id=complaint.pk, department=params["department"], by=request.user, reason=params["reason"])
        elif step == "escalate":
            work.complaint_escalate(complaint_id=complaint.pk, by=request.user, reason=params["reason"])
        else:
            work.complaint_record_appeal(complaint_id=complaint.pk, by=request.user, due_at=params["due_at"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        methods=["GET"], summary="The complaint's notes, oldest first", responses=ComplaintNoteSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"], summary="Add a note to a complaint", request=ComplaintNoteSerializer,
        responses={201: ComplaintNoteSerializer, 400: OpenApiResponse(description="The text is missing or too long."),
                   403: OpenApiResponse(description="The role may not add notes."),
                   404: OpenApiResponse(description="No such complaint, or not visible to the caller.")},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], serializer_class=ComplaintNoteSerializer)
    def notes(self, request, pk=None):
        complaint = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            data = ComplaintNoteSerializer(data=request.data, context=context)
            data.is_valid(raise_exception=True)
            note = work.complaint_note_add(complaint_id=complaint.pk, by=request.user, text=data.validated_data["text"])
            return Response(ComplaintNoteSerializer(note, context=context).data, status=status.HTTP_201_CREATED)
        notes = ComplaintNote.objects.filter(complaint=complaint).select_related("by").order_by("at", "id")
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(ComplaintNoteSerializer(page, many=True, context=context).data)

    @extend_schema(summary="The complaint's history: every transition, oldest first", responses=ComplaintTransitionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=ComplaintTransitionSerializer)
    def history(self, request, pk=None):
        complaint = self.get_object()
        records = ComplaintTransition.objects.filter(complaint=complaint).select_related("by").order_by("at", "id")
        page = self.paginate_queryset(records)
        return self.get_paginated_response(ComplaintTransitionSerializer(page, many=True).data)
