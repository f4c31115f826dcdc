"""The duty manager's live view: contacts per channel per hour, today against yesterday."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors_channels
from .pages import is_htmx, require

# Managers and administrators read the platform's rolled-up figures; agents do not.
LIVE_VIEW_PERMISSION = "servicedesk.view_channel_live"
REFRESH_SECONDS = 30


@login_required
@require_GET
def channels_live(request):
    """The whole page; HTMX asks again every 30 s and gets only the figures."""
    require(request, LIVE_VIEW_PERMISSION)
    context = {"live": selectors_channels.channels_live(), "refresh_seconds": REFRESH_SECONDS}
    template = "servicedesk/_channels_live.html" if is_htmx(request) else "servicedesk/channels_live.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response
