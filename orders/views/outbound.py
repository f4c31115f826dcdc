from django.http import HttpResponse
from django.urls import path


def _placeholder(request, **kwargs):  # replaced by the outbound pages
    return HttpResponse(status=404)


urlpatterns = [
    path("opportunities/<int:opportunity_id>/", _placeholder, name="opportunity"),
]
