"""TM Forum Open API conventions shared by every TMF resource (TMF622 orders, TMF621 tickets).

- ``fields`` (first-level attribute selection; ``id``, ``href`` and ``@type`` always come),
  ``offset``/``limit`` and the ``X-Total-Count``/``X-Result-Count`` headers;
- unknown filters are a 400 naming them; dates are ISO 8601;
- the TMF ``Error`` body (``code``, ``reason``, ``message``, ``status``, ``referenceError``,
  ``@type``) for every one of our ``{code, message, detail}`` errors, through ``TmfErrors``:
  each resource names how its fields appear in the client's JSON, its state names, and how
  a refused transition reads;
- ``TmfView``: JSON only, the API's authentication and role permissions, 405 before 403.
"""
from datetime import datetime, time

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import exception_handler as core_exception_handler
from .permissions import RoleModelPermissions

ALWAYS = ("id", "href", "@type")
DEFAULT_LIMIT, MAX_LIMIT = 25, 200


# --- Errors --------------------------------------------------------------------------------

def flatten(detail, field_paths: dict[str, str], path: str = ""):
    """(JSON path, message) pairs of a nested DRF error detail; top-level names as the client sent them."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF keys a list's errors by the item's index
                yield from flatten(value, field_paths, f"{path}[{key}]")
                continue
            key = field_paths.get(key, key) if not path else key
            sub = path if key == "non_field_errors" else (f"{path}.{key}" if path else key)
            yield from flatten(value, field_paths, sub)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for message in detail:
                yield path, str(message)
        else:
            for index, item in enumerate(detail):
                yield from flatten(item, field_paths, f"{path}[{index}]")
    else:
        yield path, str(detail)


class TmfErrors:
    """One resource's TMF ``Error`` bodies.

    ``field_paths`` maps our field names to the client's JSON paths; ``state_names`` our
    states to the resource's TMF names; ``conflict`` is the (translatable) sentence of a
    refused transition, with ``%(state)s`` (also as ``%(status)s``) and ``%(allowed)s``."""

    def __init__(self, *, field_paths: dict[str, str], state_names: dict, conflict):
        self.field_paths, self.state_names, self.conflict = field_paths, state_names, conflict

    def names(self, states) -> str:
        names = sorted({self.state_names.get(s, s) for s in states})
        return ", ".join(names) if names else _("none")

    def body(self, http_status: int, core: dict, request) -> dict:
        """The TMF ``Error`` for one of our ``{code, message, detail}`` error bodies."""
        detail = core.get("detail") or {}
        message = core.get("message", "")
        if isinstance(detail, dict) and "current" in detail:
            name = self.state_names.get(detail["current"], detail["current"])
            message = self.conflict % {"state": name, "status": name, "allowed": self.names(detail.get("allowed", []))}
        elif detail and http_status == status.HTTP_400_BAD_REQUEST:
            message = "; ".join(f"{path}: {text}" if path else text for path, text in flatten(detail, self.field_paths))
        try:
            reference = request.build_absolute_uri(reverse("api-docs"))
        except NoReverseMatch:
            reference = None
        body = {
            "code": str(core.get("code", "error")),
            "reason": core.get("message", ""),
            "message": message,
            "status": str(http_status),
            "referenceError": reference,
            "@type": "Error",
        }
        return {k: v for k, v in body.items() if v is not None}

    def handler(self, exc, context):
        """A DRF exception handler: the API's one error shape, rendered as TMF ``Error``."""
        response = core_exception_handler(exc, context)
        if response is not None:
            response.data = self.body(response.status_code, response.data, context["request"])
        return response

    def as_tmf(self, response: Response, request) -> Response:
        """Error answers made outside the view's exception handling (the idempotency layer) in the TMF shape."""
        data = response.data
        if response.status_code >= 400 and isinstance(data, dict) and set(data) == {"code", "message", "detail"}:
            response.data = self.body(response.status_code, data, request)
        return response


# --- Query parameters ----------------------------------------------------------------------

def fields(request, attributes: frozenset) -> set[str] | None:
    raw = request.query_params.get("fields", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        return None
    unknown = sorted(set(names) - attributes)
    if unknown:
        raise ApiValidationError({"fields": [_("Unknown attributes: %(names)s.") % {"names": ", ".join(unknown)}]})
    return {*ALWAYS, *names}


def select(body: dict, chosen: set[str] | None) -> dict:
    return body if chosen is None else {k: v for k, v in body.items() if k in chosen}


def window(request) -> tuple[int, int]:
    values = {}
    for name, default, highest in (("offset", 0, None), ("limit", DEFAULT_LIMIT, MAX_LIMIT)):
        raw = request.query_params.get(name, "")
        if raw == "":
            values[name] = default
            continue
        if not raw.isdigit() or len(raw) > 9:
            raise ApiValidationError({name: [_("A whole number, 0 or more, is required.")]})
        values[name] = int(raw)
        if highest is not None and values[name] > highest:
            raise ApiValidationError({name: [_("At most %(highest)s.") % {"highest": highest}]})
    return values["offset"], values["limit"]


def check_filters(request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed - {"fields", "offset", "limit", "format"})
    if unknown:
        raise ApiValidationError({name: [_("Unknown filter; filters offered: %(names)s.") % {"names": ", ".join(sorted(allowed))}] for name in unknown})


def moment(name: str, raw: str) -> datetime:
    try:
        parsed = parse_datetime(raw)
        if parsed is None and (day := parse_date(raw)) is not None:
            parsed = datetime.combine(day, time.min)
    except ValueError:  # well formed but no such day or hour
        parsed = None
    if parsed is None:
        raise ApiValidationError({name: [_("Give an ISO 8601 date or date-time.")]})
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def list_response(body: list, total: int) -> Response:
    return Response(body, headers={"X-Total-Count": str(total), "X-Result-Count": str(len(body))})


# --- Rendering -----------------------------------------------------------------------------

_datetime_field = serializers.DateTimeField()


def dt(value):
    return _datetime_field.to_representation(value) if value else None


def url(request, name: str, *args) -> str | None:
    try:
        return request.build_absolute_uri(reverse(name, args=args))
    except NoReverseMatch:
        return None


def compact(body: dict) -> dict:
    return {k: v for k, v in body.items() if v not in (None, [], "")}


# --- Schema and views ----------------------------------------------------------------------

TMF_ERROR = inline_serializer("TMFError", fields={
    "code": serializers.CharField(help_text="Our machine-readable code, e.g. invalid, not_found, transition_not_allowed."),
    "reason": serializers.CharField(help_text="A sentence for people."),
    "message": serializers.CharField(required=False, help_text="The fields at fault with their JSON paths, or the allowed next states."),
    "status": serializers.CharField(required=False, help_text="The HTTP status."),
    "referenceError": serializers.URLField(required=False),
    "@type": serializers.CharField(help_text="Error"),
})
WINDOW_PARAMETERS = [
    OpenApiParameter("fields", OpenApiTypes.STR, description="Comma-separated first-level attributes; id, href and @type always come."),
    OpenApiParameter("offset", OpenApiTypes.INT, description="Index of the first resource (default 0)."),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"How many (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."),
    OpenApiParameter("X-Total-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200], description="Resources matching the filters."),
    OpenApiParameter("X-Result-Count", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200], description="Resources in this response."),
]
FIELDS_PARAMETER = OpenApiParameter("fields", OpenApiTypes.STR, description="Comma-separated first-level attributes.")
ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH)
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="A retry with the same key returns the first answer."
)


class TmfView(APIView):
    """JSON only, the resource's TMF error body, the API's authentication and role permissions.

    A subclass names ``errors`` (its ``TmfErrors``) and ``queryset`` (the model whose permissions apply)."""

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    permission_classes = [RoleModelPermissions]
    errors: TmfErrors

    def get_exception_handler(self):
        return self.errors.handler

    def check_permissions(self, request):
        # A method the resource does not offer is a 405 whatever the role (PATCH would otherwise be a 403).
        if request.method.upper() not in self._allowed_methods():
            raise MethodNotAllowed(request.method)
        super().check_permissions(request)
