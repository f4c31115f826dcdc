"""API routes of the KPI app, included at the site root by ``servicedesk.urls`` (``apis.py``)."""
from django.urls import path

from . import apis

urlpatterns = [
    path("api/v1/kpi/definitions/", apis.KpiDefinitionsView.as_view(), name="kpi-api-definitions"),
    path("api/v1/kpi/values/", apis.KpiValuesView.as_view(), name="kpi-api-values"),
    path("api/v1/kpi/trend/", apis.KpiTrendView.as_view(), name="kpi-api-trend"),
]
