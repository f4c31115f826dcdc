"""The agent console: search, the customer screen, recording contacts, scripts."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import notices as staff_notices
from . import registry, selectors, services
from .forms import ContactForm
from .models import Customer, Script, StaffNotice
from .pages import is_htmx, page_number, require


@login_required
@require_GET
def home(request):
    """One search box; an exact service-number hit opens the customer at once."""
    require(request, "servicedesk.view_customer")
    query = request.GET.get("q", "")
    search = selectors.customer_search(user=request.user, query=query)
    page = None
    if search.by and not search.error:
        page = Paginator(search.customers, 20).get_page(page_number(request.GET))
        if search.by in ("service_number", "id_number") and page.paginator.count == 1:
            target = reverse("console:customer", args=[page.object_list[0].pk])
            if search.by == "service_number":
                target += f"?number={search.query}"
            return HttpResponseRedirect(target)
    return render(request, "servicedesk/home.html", {"search": search, "page": page, "query": query})


def _customer_or_404(request, customer_id: int) -> Customer:
    require(request, "servicedesk.view_customer")
    try:
        return selectors.customer_for_screen(user=request.user, customer_id=customer_id)
    except Customer.DoesNotExist as exc:
        raise Http404(_("No such customer, or not one of yours.")) from exc


def _timeline_context(request, customer):
    page = page_number(request.GET)
    entries, has_older = selectors.customer_timeline(customer=customer, user=request.user, page=page)
    return {"customer": customer, "entries": entries, "timeline_page": page, "has_older": has_older}


@login_required
@require_GET
def customer(request, customer_id: int):
    customer = _customer_or_404(request, customer_id)
    subscriptions = list(customer.subscriptions.all())
    called_about = request.GET.get("number", "")
    if called_about not in {s.service_number for s in subscriptions}:
        called_about = ""
    context = {
        "customer": customer,
        "called_about": called_about,
        "id_number": customer.id_number_for(request.user),
        "address": customer.address_for(request.user),
        "subscriptions": subscriptions,
        "last_contacts": selectors.last_contacts(customer=customer),
        "panels": registry.panels_for(customer, request.user),
        "actions": registry.customer_actions_for(customer, request.user),
        "form": ContactForm(customer=customer, initial={"service_number": called_about} if called_about else None),
        "can_record": request.user.has_perm("servicedesk.add_contact"),
        "script_kinds": Script.Kind.choices,
        **_timeline_context(request, customer),
    }
    return render(request, "servicedesk/customer.html", context)


@login_required
@require_GET
def customer_timeline(request, customer_id: int):
    customer = _customer_or_404(request, customer_id)
    return render(request, "servicedesk/_timeline.html", _timeline_context(request, customer))


@login_required
@require_POST
def contact_create(request, customer_id: int):
    """HTMX posts here and swaps in the form and the fresh timeline; without HTMX it redirects."""
    customer = _customer_or_404(request, customer_id)
    require(request, "servicedesk.add_contact")
    form = ContactForm(request.POST, customer=customer)
    saved = None
    if form.is_valid():
        try:
            saved = services.contact_record(agent=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
    if not is_htmx(request):
        if saved:
            return HttpResponseRedirect(reverse("console:customer", args=[customer.pk]))
        status = 400
    else:
        status = 200 if saved else 400
    if saved:
        form = ContactForm(customer=customer, initial={"service_number": saved.service_number})
    context = {"form": form, "saved": saved, **_timeline_context(request, customer)}
    if saved:
        context["last_contacts"] = selectors.last_contacts(customer=customer)
    response = render(request, "servicedesk/_contact_recorded.html", context, status=status)
    if status == 400 and is_htmx(request):
        # Let HTMX swap the form with its errors although the status says "bad request".
        response["HX-Reswap"] = "outerHTML"
        response.status_code = 422
    return response


@login_required
@require_GET
def script_search(request):
    require(request, "servicedesk.view_script")
    kind = request.GET.get("kind", "")
    if kind not in Script.Kind.values:
        kind = ""
    scripts = selectors.script_search(query=request.GET.get("q", "")[:200], kind=kind, category=request.GET.get("category", "")[:50])
    page = Paginator(scripts, 10).get_page(page_number(request.GET))
    template = "servicedesk/_scripts.html" if is_htmx(request) else "servicedesk/scripts.html"
    return render(request, template, {"page": page, "q": request.GET.get("q", ""), "kind": kind, "script_kinds": Script.Kind.choices})


@login_required
@require_GET
def notices(request):
    """The user's notices, newest first, unread ones marked."""
    mine = StaffNotice.objects.filter(recipient=request.user).order_by("-created_at", "-id")
    page = Paginator(mine, 25).get_page(page_number(request.GET))
    return render(request, "servicedesk/notices.html", {"page": page})


@login_required
@require_POST
def notices_read(request):
    staff_notices.staff_notice_mark_read(user=request.user)
    return HttpResponseRedirect(reverse("console:notices"))


def healthz(request):
    """Liveness for the load balancer and docker-compose: the database answers."""
    from django.db import connection
    from django.http import JsonResponse

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
