"""Taking a complaint from the customer screen, the complaint page, and "My complaints"."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from servicedesk.api.errors import Conflict
from servicedesk.models import Customer
from servicedesk.pages import is_htmx, page_number, put_errors_on, require
from servicedesk.selectors import customer_for_screen, customers_visible_to

from .. import selectors
from ..forms import AppealForm, EscalateForm, NoteForm, ResolveForm, TransferForm
from ..models import Callback, Complaint, ComplaintCategory, ComplaintStatus
from ..services import intake

PER_PAGE = 25
WORKING_STATES = (ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS)


def _customer_or_404(request, customer_id: int) -> Customer:
    try:
        return customer_for_screen(user=request.user, customer_id=customer_id)
    except Customer.DoesNotExist as exc:
        raise Http404(_("No such customer, or not one of yours.")) from exc


def _form_context(customer, form) -> dict:
    return {"customer": customer, "form": form}


@login_required
@require_http_methods(["GET", "POST"])
def new(request, customer_id: int):
    """The complaint form. Picking a category (HTMX) swaps in its "what to ask" template as the description."""
    require(request, "complaints.add_complaint")
    customer = _customer_or_404(request, customer_id)
    from ..forms import ComplaintForm

    if request.method == "GET":
        initial = {}
        number = request.GET.get("number", "")
        if number and any(s.service_number == number for s in customer.subscriptions.all()):
            initial["service_number"] = number
        category_id = request.GET.get("category", "")
        if category_id.isdigit():
            category = ComplaintCategory.objects.filter(pk=int(category_id), active=True).first()
            if category is not None:
                initial["category"] = category.pk
                initial["description"] = category.template
                for name in ("severity", "channel"):
                    if request.GET.get(name):
                        initial[name] = request.GET[name]
                if request.GET.get("service_number"):
                    initial["service_number"] = request.GET["service_number"]
        form = ComplaintForm(customer=customer, initial=initial)
        template = "complaints/complaint_form.html" if is_htmx(request) else "complaints/complaint_new.html"
        return render(request, template, _form_context(customer, form))

    form = ComplaintForm(request.POST, customer=customer)
    complaint = None
    if form.is_valid():
        try:
            complaint = intake.complaint_take(agent=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            put_errors_on(form, exc)
        except (PermissionDenied, Conflict) as exc:
            form.add_error(None, str(exc) or _("Your role may not take complaints."))
    if complaint is None:
        template = "complaints/complaint_form.html" if is_htmx(request) else "complaints/complaint_new.html"
        return render(request, template, _form_context(customer, form), status=422)
    messages.success(request, _("Complaint #%(id)s taken and sent to %(department)s; resolve by %(when)s.") % {
        "id": complaint.pk, "department": complaint.department.name,
        "when": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M")})
    url = reverse("complaints:detail", args=[complaint.pk])
    if is_htmx(request):
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def detail_context(request, complaint: Complaint, forms: dict | None = None) -> dict:
    user = request.user
    state = complaint.status
    may_work = user.has_perm("complaints.work_complaint")
    is_open = state != ComplaintStatus.CLOSED
    satisfaction = [c for c in complaint.callbacks.all() if c.kind == Callback.Kind.SATISFACTION]
    forms = forms or {}
    actions = {
        "start": may_work and state == ComplaintStatus.ASSIGNED,
        "transfer": may_work and state in WORKING_STATES,
        "resolve": may_work and state == ComplaintStatus.IN_PROGRESS,
        "escalate": user.has_perm("complaints.escalate_complaint") and is_open,
        "appeal": user.has_perm("complaints.escalate_complaint"),
        "note": user.has_perm("complaints.add_complaintnote"),
        "callback": user.has_perm("complaints.callback_complaint"),
        "close_unreached": user.has_perm("complaints.callback_complaint") and state == ComplaintStatus.CALLBACK
        and bool(satisfaction) and satisfaction[-1].status == Callback.Status.EXHAUSTED,
    }
    labels = dict(ComplaintStatus.choices)
    history = [{"t": t, "from": labels.get(t.from_state, "—"), "to": labels.get(t.to_state, t.to_state)} for t in complaint.transitions.all()]
    return {
        "complaint": complaint, "now": timezone.now(), "actions": actions, "history": history,
        "breached": is_open and state in (ComplaintStatus.RECEIVED, *WORKING_STATES) and complaint.due_at < timezone.now(),
        "transfer_form": forms.get("transfer") or TransferForm(),
        "resolve_form": forms.get("resolve") or ResolveForm(),
        "escalate_form": forms.get("escalate") or EscalateForm(auto_id="escalate_%s"),
        "appeal_form": forms.get("appeal") or AppealForm(),
        "note_form": forms.get("note") or NoteForm(),
        "id_number": complaint.customer.id_number_for(user),
    }


def complaint_or_404(request, complaint_id: int) -> Complaint:
    require(request, "complaints.view_complaint")
    try:
        complaint = selectors.complaint_detail(complaint_id=complaint_id)
    except Complaint.DoesNotExist as exc:
        raise Http404(_("No such complaint.")) from exc
    if not customers_visible_to(request.user).filter(pk=complaint.customer_id).exists():
        raise Http404(_("No such complaint."))
    return complaint


def render_detail(request, complaint_id: int, *, forms: dict | None = None, status: int = 200):
    complaint = complaint_or_404(request, complaint_id)
    return render(request, "complaints/complaint_detail.html", detail_context(request, complaint, forms), status=status)


@login_required
@require_GET
def detail(request, complaint_id: int):
    return render_detail(request, complaint_id)


@login_required
@require_GET
def mine(request):
    """The first-ask owner's complaints, earliest deadline first, breaches flagged."""
    require(request, "complaints.view_complaint")
    open_only = request.GET.get("all") != "1"
    page = Paginator(selectors.complaints_owned(owner=request.user, open_only=open_only), PER_PAGE).get_page(page_number(request.GET))
    return render(request, "complaints/complaint_mine.html", {
        "page": page, "now": timezone.now(), "open_only": open_only, "extra": "" if open_only else "all=1&",
        "working_states": [s.value for s in (ComplaintStatus.RECEIVED, *WORKING_STATES)],
    })


urlpatterns = [
    path("complaints/new/<int:customer_id>/", new, name="new"),
    path("complaints/<int:complaint_id>/", detail, name="detail"),
    path("complaints/mine/", mine, name="mine"),
]
