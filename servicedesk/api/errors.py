"""One error shape for the whole API: ``{"code", "message", "detail"}``.

``code`` is machine-readable, ``message`` is a translated sentence for
people, ``detail`` carries field errors or, for a refused transition, the
states that are allowed next.
"""
import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """A refused state transition or a concurrent change: 409 with what is allowed next."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This action is not allowed in the current state.")
    default_code = "transition_not_allowed"

    def __init__(self, detail=None, code=None, *, allowed: list[str] | None = None, current: str | None = None):
        super().__init__(detail, code)
        self.allowed = allowed or []
        self.current = current


_MESSAGES = {
    "invalid": gettext_lazy("The request has invalid fields."),
    "parse_error": gettext_lazy("The request body could not be read."),
    "not_found": gettext_lazy("Not found."),
    "not_authenticated": gettext_lazy("Authentication is required."),
    "authentication_failed": gettext_lazy("The credentials were not accepted."),
    "permission_denied": gettext_lazy("Your role does not allow this."),
    "method_not_allowed": gettext_lazy("This method is not allowed here."),
    "throttled": gettext_lazy("Too many requests; try again later."),
    "unsupported_media_type": gettext_lazy("Unsupported content type."),
}


def _validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        # Model-wide errors come keyed "__all__"; the API names them as DRF does.
        return {("non_field_errors" if field == "__all__" else field): list(messages) for field, messages in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, (Http404, ObjectDoesNotExist)):
        # A service asked for a record that is not there (or not the caller's): 404, never a 500.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    else:
        from django_fsm import ConcurrentTransition, TransitionNotAllowed

        if isinstance(exc, TransitionNotAllowed):
            exc = Conflict(str(exc) or None)
        elif isinstance(exc, ConcurrentTransition):
            exc = Conflict(_("Someone else changed this record at the same time; reload and try again."), code="concurrent_change")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, message, detail = "invalid", str(_MESSAGES["invalid"]), response.data
    elif isinstance(exc, Conflict):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "conflict"
        message = str(exc.detail)
        detail = {"allowed": exc.allowed}
        if exc.current is not None:
            detail["current"] = exc.current
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        default = _MESSAGES.get(code)
        raw = exc.detail if isinstance(exc, exceptions.APIException) else ""
        message = str(raw) if raw and str(raw) != str(getattr(type(exc), "default_detail", "")) else str(default or raw)
        detail = {}
    response.data = {"code": code, "message": message, "detail": detail}
    return response


def error_response(code: str, message: str, http_status: int, detail=None) -> Response:
    return Response({"code": code, "message": message, "detail": detail or {}}, status=http_status)
