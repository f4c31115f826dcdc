"""A full rebuild of the rollups for a range of days: asked for here, run by one task, its progress polled."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from servicedesk.pages import is_htmx, page_number, put_errors_on, require

from ..forms import RebuildForm
from ..models import RebuildJob
from ..services import rebuild_request

JOBS_PER_PAGE = 25


@login_required
@require_http_methods(["GET", "POST"])
def rebuild(request):
    require(request, "kpi.add_rebuildjob")
    status = 200
    if request.method == "POST":
        form = RebuildForm(request.POST)
        if form.is_valid():
            try:
                job = rebuild_request(first_day=form.cleaned_data["first_day"], last_day=form.cleaned_data["last_day"], by=request.user)
            except ValidationError as exc:
                put_errors_on(form, exc)
            else:
                return HttpResponseRedirect(reverse("kpi:rebuild_status", args=[job.pk]))
        status = 400
    else:
        today = timezone.localdate()
        form = RebuildForm(initial={"first_day": today.replace(day=1), "last_day": today})
    jobs = Paginator(RebuildJob.objects.select_related("requested_by"), JOBS_PER_PAGE).get_page(page_number(request.GET))
    return render(request, "kpi/rebuild.html", {"form": form, "page": jobs}, status=status)


@login_required
@require_GET
def rebuild_status(request, job_id: int):
    """The job's progress; while it is queued or running HTMX asks for the progress part again every 2 s."""
    require(request, "kpi.view_rebuildjob", "kpi.add_rebuildjob", any_of=True)
    job = get_object_or_404(RebuildJob.objects.select_related("requested_by"), pk=job_id)
    context = {"job": job, "running": job.status in (RebuildJob.Status.QUEUED, RebuildJob.Status.RUNNING)}
    template = "kpi/_rebuild_progress.html" if is_htmx(request) else "kpi/rebuild_status.html"
    return render(request, template, context)


urlpatterns = [
    path("kpi/rebuild/", rebuild, name="rebuild"),
    path("kpi/rebuild/<int:job_id>/", rebuild_status, name="rebuild_status"),
]
