"""``Idempotency-Key`` on create: a retried request returns the first response, never a second object."""
import hashlib
import json

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response

from ..models import IdempotencyRecord
from .errors import error_response

HEADER = "Idempotency-Key"


def _fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(scope: str, request, create):
    """Run ``create()`` once per (user, scope, key); replay its response for a retry."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return create()
    if len(key) > 100:
        return error_response("invalid", _("The Idempotency-Key header may be at most 100 characters."), status.HTTP_400_BAD_REQUEST, {HEADER: [_("Too long.")]})
    fingerprint = _fingerprint(request.data)
    with transaction.atomic():
        record, created = IdempotencyRecord.objects.select_for_update().get_or_create(
            user=request.user, scope=scope, key=key, defaults={"request_hash": fingerprint}
        )
        if not created:
            if record.request_hash != fingerprint:
                return error_response(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used with a different request."),
                    status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            response = Response(record.response_body, status=record.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = create()
        if status.is_success(response.status_code):
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
        else:
            # A refused request keeps nothing, so the client may fix it and retry with the same key.
            transaction.set_rollback(True)
    return response


class IdempotentCreateMixin:
    idempotency_scope: str = ""

    def create(self, request, *args, **kwargs):
        scope = self.idempotency_scope or self.__class__.__name__
        return idempotent(scope, request, lambda: super(IdempotentCreateMixin, self).create(request, *args, **kwargs))
