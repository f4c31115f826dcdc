"""The billing/BSS adapter: provisioning of orders in the operator's billing system.

Two implementations behind one interface, picked by ``BILLING_ADAPTER``:
- ``simulated`` (default): an in-process BSS with configurable latency and
  failure rate, for demos and tests;
- ``http``: a real BSS over HTTP (``BILLING_URL``, ``BILLING_TOKEN``).

Callers never call an adapter directly: provisioning is outbox work
(kind ``billing.provision``), so it runs after commit, is retried on
``TransientDeliveryError`` and carries the outbox key as the BSS's
idempotency key, so an order is never provisioned twice.
"""
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from .outbox import TransientDeliveryError


@dataclass(frozen=True)
class ProvisioningResult:
    reference: str


class BillingRejected(Exception):
    """The BSS refused the request for good (unknown tariff, number in use...)."""


class BillingAdapter:
    def provision(self, *, key: str, request: dict) -> ProvisioningResult:  # pragma: no cover - interface
        raise NotImplementedError


class SimulatedBilling(BillingAdapter):
    """Answers like a BSS would; remembers keys so a retried request returns the first reference."""

    def __init__(self, *, latency_ms: int = 0, failure_rate: float = 0.0, seed: int | None = None):
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._done: dict[str, str] = {}

    def provision(self, *, key: str, request: dict) -> ProvisioningResult:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if key in self._done:
            return ProvisioningResult(self._done[key])
        if self._random.random() < self.failure_rate:
            raise TransientDeliveryError("simulated BSS timeout")
        reference = f"BSS-{len(self._done) + 1:08d}"
        self._done[key] = reference
        return ProvisioningResult(reference)


class HttpBilling(BillingAdapter):
    def __init__(self, *, url: str, token: str = "", timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def provision(self, *, key: str, request: dict) -> ProvisioningResult:
        http_request = urllib.request.Request(
            f"{self.url}/provisioning",
            data=json.dumps(request).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": key, "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientDeliveryError(f"BSS answered HTTP {exc.code}") from exc
            raise BillingRejected(f"BSS refused: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise TransientDeliveryError(f"BSS unreachable: {exc.__class__.__name__}") from exc
        return ProvisioningResult(str(body.get("reference", "")))


@lru_cache(maxsize=1)
def billing_adapter() -> BillingAdapter:
    name = settings.BILLING_ADAPTER
    if name == "simulated":
        return SimulatedBilling(latency_ms=settings.BILLING_SIMULATED_LATENCY_MS, failure_rate=settings.BILLING_SIMULATED_FAILURE_RATE)
    if name == "http":
        return HttpBilling(url=settings.BILLING_URL, token=settings.BILLING_TOKEN)
    return import_string(name)()
