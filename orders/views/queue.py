"""The back-office queue: submitted back-office orders by urgency, claimed one at a time, accepted or rejected."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.pages import page_number, require

from .. import selectors, services
from ..forms import QueueFilterForm
from .sales import order_or_404, run_order_action

ORDERS_PER_PAGE = 25


@login_required
@require_GET
def queue(request):
    require(request, "orders.accept_order", any_of=True)
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(selectors.back_office_queue(**filters), ORDERS_PER_PAGE).get_page(page_number(request.GET))
    query = urlencode({k: ("1" if v is True else v) for k, v in filters.items() if v})
    return render(request, "orders/queue_list.html", {
        "form": form, "page": page, "now": timezone.now(), "extra": f"{query}&" if query else "",
    })


@login_required
@require_POST
def claim_next(request):
    """Give the clerk the most urgent unclaimed order and open it."""
    require(request, "orders.accept_order", any_of=True)
    order = services.order_claim_next(clerk=request.user)
    if order is None:
        messages.info(request, _("The queue is empty: nothing to claim."))
        return HttpResponseRedirect(reverse("orders:queue"))
    return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))


@login_required
@require_POST
def accept(request, order_id: int):
    order = order_or_404(request, order_id)
    require(request, "orders.accept_order", any_of=True)
    return run_order_action(
        request, order, "accept", lambda: services.order_accept(order_id=order.pk, clerk=request.user),
        success=_("Order #%(id)s accepted: it goes to delivery next.") % {"id": order.pk}, next_url=reverse("orders:queue"),
    )


@login_required
@require_POST
def reject(request, order_id: int):
    order = order_or_404(request, order_id)
    require(request, "orders.accept_order", any_of=True)
    reason = request.POST.get("reason", "")[:500]
    return run_order_action(
        request, order, "reject", lambda: services.order_reject(order_id=order.pk, clerk=request.user, reason=reason),
        success=_("Order #%(id)s rejected; its number is back in the pool.") % {"id": order.pk}
        if order.pool_number_id else _("Order #%(id)s rejected.") % {"id": order.pk},
        next_url=reverse("orders:queue"),
    )


@login_required
@require_POST
def release_claim(request, order_id: int):
    order = order_or_404(request, order_id)
    require(request, "orders.accept_order", any_of=True)
    services.order_release_claim(order_id=order.pk, clerk=request.user)
    messages.info(request, _("Order #%(id)s is back in the queue for anyone to claim.") % {"id": order.pk})
    return HttpResponseRedirect(reverse("orders:queue"))


urlpatterns = [
    path("back-office/", queue, name="queue"),
    path("back-office/claim-next/", claim_next, name="queue_claim_next"),
    path("orders/<int:order_id>/accept/", accept, name="order_accept"),
    path("orders/<int:order_id>/reject/", reject, name="order_reject"),
    path("orders/<int:order_id>/release-claim/", release_claim, name="order_release_claim"),
]
