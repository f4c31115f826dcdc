"""API routes of the complaints app, included at the site root by ``servicedesk.urls``:
``/api/v1/complaints/`` (``apis.py``) and TMF621 under ``/tmf-api/troubleTicket/v4/`` (``tmf621.py``)."""
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import apis, tmf621

router = SimpleRouter()
router.register("complaints", apis.ComplaintViewSet, basename="complaint")

tmf621_patterns = [
    path("troubleTicket", tmf621.TroubleTicketList.as_view(), name="tmf621-trouble-ticket-list"),
    path("troubleTicket/<str:id>", tmf621.TroubleTicketDetail.as_view(), name="tmf621-trouble-ticket-detail"),
]

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("tmf-api/troubleTicket/v4/", include(tmf621_patterns)),
]
