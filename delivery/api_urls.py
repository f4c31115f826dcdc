"""API routes of the delivery app, included at the site root by ``servicedesk.urls``: the carrier
tracking API and the read-only shipments (``apis.py``)."""
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import apis

router = SimpleRouter()
router.register("shipments", apis.ShipmentViewSet, basename="shipment")

urlpatterns = [
    path("api/v1/carrier/events/", apis.CarrierEventsView.as_view(), name="carrier-events"),
    path("api/v1/", include(router.urls)),
]
