"""Authenticating a carrier's system on the tracking API: a key id and an HMAC-SHA256 signature.

Each request carries three headers:

- ``X-Carrier-Key``: the key id of one of the carrier's active ``CarrierCredential`` rows;
- ``X-Timestamp``: the moment of signing, in whole seconds since the Unix epoch (UTC);
- ``X-Signature``: ``hex(HMAC-SHA256(secret, timestamp + "." + raw request body))``.

A missing header, an unknown or inactive key (or a carrier no longer active), a timestamp
more than five minutes away from our clock and a signature that does not match are all
refused with 401 in the API's one error shape, before anything is read or written. The
timestamp bounds how long a captured request can be replayed; within that window the
event ids make a replay harmless (``delivery.services.shipments.tracking_event_record``).
"""
import hashlib
import hmac
import time
from dataclasses import dataclass

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .models import Carrier, CarrierCredential

KEY_HEADER = "X-Carrier-Key"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
MAX_SKEW_SECONDS = 5 * 60
SCHEME = "HMAC-SHA256"

# Compared against when the key is unknown, so that an unknown key costs the same time as a wrong signature.
_NO_SECRET = "no-such-key-" + "0" * 32


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """The signature a carrier sends: hex HMAC-SHA256 of ``timestamp + "." + body`` under its secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(*, key_id: str, secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers for ``body``: what a carrier's client does (used by the tests and the benchmark)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {KEY_HEADER: key_id, TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret=secret, timestamp=stamp, body=body)}


@dataclass(frozen=True)
class CarrierPrincipal:
    """``request.user`` on the tracking API: the carrier's system, not a member of staff."""

    carrier: Carrier
    credential: CarrierCredential

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None

    def get_username(self) -> str:
        return f"carrier:{self.carrier.code}"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_role(self, *roles) -> bool:
        return False


class CarrierSignatureAuthentication(BaseAuthentication):
    """DRF authentication of the tracking API; ``request.auth`` is the ``CarrierCredential`` used."""

    def authenticate(self, request):
        key_id = request.headers.get(KEY_HEADER, "").strip()
        stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
        signature = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not (key_id and stamp and signature):
            raise exceptions.AuthenticationFailed(
                _("Sign the request: the headers %(headers)s are required.") % {"headers": ", ".join((KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))},
                code="signature_missing",
            )
        if not (stamp.isdigit() and len(stamp) <= 12):
            raise exceptions.AuthenticationFailed(_("%(header)s must be whole seconds since the Unix epoch.") % {"header": TIMESTAMP_HEADER}, code="stale_timestamp")
        if abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed(
                _("The request was signed more than %(minutes)s minutes away from our clock; sign it again.") % {"minutes": MAX_SKEW_SECONDS // 60},
                code="stale_timestamp",
            )
        credential = (
            CarrierCredential.objects.select_related("carrier")
            .filter(key_id=key_id[:40], active=True, carrier__active=True)
            .first()
        )
        # The raw bytes as sent: Django keeps them, so DRF parses the same body afterwards.
        body = request._request.body
        expected = sign(secret=credential.secret if credential else _NO_SECRET, timestamp=stamp, body=body)
        matches = hmac.compare_digest(expected.encode(), signature.encode())
        if credential is None:
            raise exceptions.AuthenticationFailed(_("Unknown or inactive carrier key."), code="unknown_key")
        if not matches:
            raise exceptions.AuthenticationFailed(_("The signature does not match the request."), code="bad_signature")
        return CarrierPrincipal(carrier=credential.carrier, credential=credential), credential

    def authenticate_header(self, request) -> str:
        # Present so that DRF answers 401 (with WWW-Authenticate) rather than 403.
        return f'{SCHEME} realm="carrier tracking API"'


class IsSignedCarrier(BasePermission):
    """Only a request signed with a carrier credential; staff tokens and sessions do not reach the endpoint."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, CarrierCredential)
