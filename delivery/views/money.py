"""The hall's daily business report: the list, the report page with its three levels, and its CSV export."""
import csv
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition

from servicedesk.fsm import TransitionRefused
from servicedesk.pages import page_number, put_errors_on, require

from .. import selectors
from ..forms_money import (
    ReportCompileForm,
    ReportFilterForm,
    ReportPrepareForm,
    ReportReviewForm,
    ReportSendBackForm,
)
from ..models import DailyReport, PaymentMethod
from ..services import money

REPORTS_PER_PAGE = 25
DELIVERIES_PER_PAGE = 50
VIEW = "delivery.view_dailyreport"


# --- the list ------------------------------------------------------------------------------

def _list_page(request, *, compile_form=None, status=200):
    filters = ReportFilterForm(request.GET)
    page = Paginator(selectors.daily_reports(**filters.filters()), REPORTS_PER_PAGE).get_page(page_number(request.GET))
    query = filters.query_string()
    can_compile = request.user.has_perm("delivery.prepare_dailyreport")
    return render(request, "delivery/report_list.html", {
        "filters": filters, "page": page, "extra": f"{query}&" if query else "",
        "compile_form": (compile_form or ReportCompileForm()) if can_compile else None,
    }, status=status)


@login_required
@require_GET
def report_list(request):
    require(request, VIEW)
    return _list_page(request)



@login_required
@require_POST
def report_compile(request):
    """Open (compiling it if need be) a hall's report for a day; a draft's figures are refreshed."""
    require(request, VIEW, "delivery.prepare_dailyreport")
    form = ReportCompileForm(request.POST)
    if form.is_valid():
        hall_id, day = form.cleaned_data["hall"], form.cleaned_data["day"]
        try:
            report = money.daily_report_compile(hall_id=hall_id, day=day, by=request.user)
        except ValidationError as exc:
            put_errors_on(form, exc)
        except money.ReportLocked as exc:
            # Past the draft it is not recompiled: open it as it is, saying why.
            messages.info(request, str(exc.detail))
            existing = selectors.daily_reports(hall_id=hall_id, day_from=day, day_to=day).get()
            return HttpResponseRedirect(reverse("delivery:report", args=[existing.pk]))
        except ConcurrentTransition:
            form.add_error(None, _("Someone else changed this report at the same time; try again."))
        else:
            messages.success(request, _("Figures of %(hall)s for %(day)s compiled.") % {"hall": report.hall.name, "day": day.isoformat()})
            return HttpResponseRedirect(reverse("delivery:report", args=[report.pk]))
    return _list_page(request, compile_form=form, status=422)


# --- the report page -----------------------------------------------------------------------

def _report_or_404(request, report_id: int) -> DailyReport:
    require(request, VIEW)
    try:
        return selectors.daily_report_detail(report_id=report_id)
    except DailyReport.DoesNotExist as exc:
        raise Http404(_("No such daily report.")) from exc


def report_history(report: DailyReport) -> list[dict]:
    states = dict(DailyReport.Status.choices)
    steps = {
        "refresh": _("Figures refreshed"), "prepare": pgettext("daily report step", "Prepared"),
        "verify": pgettext("daily report step", "Checked"), "approve": pgettext("daily report step", "Approved"),
        "send_back": _("Sent back to draft"),
    }
    return [
        {"at": t.at, "by": t.by, "step": steps.get(t.transition, t.transition), "reason": t.reason,
         "from_state": states.get(t.from_state, t.from_state), "to_state": states.get(t.to_state, t.to_state)}
        for t in report.transitions.all()
    ]


def _waiting_on(report: DailyReport) -> str:
    return {
        DailyReport.Status.DRAFT: _("Waiting for the delivery clerk to count the till and prepare it."),
        DailyReport.Status.PREPARED: _("Waiting for an account clerk to check it."),
        DailyReport.Status.CHECKED: _("Waiting for the account supervisor to approve it."),
        DailyReport.Status.APPROVED: _("Approved: the report is locked."),
    }[report.status]


def render_report(request, report: DailyReport, *, status: int = 200, refused: str = "", forms: dict | None = None) -> HttpResponse:
    """The report page; ``refused`` says why an action was refused, ``forms`` carries a posted form back with its errors."""
    forms = forms or {}
    deliveries = Paginator(selectors.daily_report_deliveries(report=report), DELIVERIES_PER_PAGE).get_page(page_number(request.GET))
    actions = selectors.daily_report_actions(report=report, user=request.user)
    # The till count is left blank until the clerk has counted: a pre-filled one would be confirmed, not counted.
    prepare_form = forms.get("prepare") or ReportPrepareForm(initial={
        "counted_cash": report.counted_cash, "explanation": report.explanation, "figures": money.figures_stamp(report),
    })
    if prepare_form.is_bound:
        # Sent back with errors: the next attempt is against the figures shown now.
        prepare_form.data = prepare_form.data.copy()
        prepare_form.data["figures"] = money.figures_stamp(report)
    context = {
        "report": report,
        "difference": report.difference,
        "till_difference": (report.counted_cash - report.collected_cash) if report.counted_cash is not None else None,
        "collected_difference": report.collected_total - report.expected_total,
        "deliveries": deliveries,
        "history": report_history(report),
        "actions": actions,
        "waiting_on": _waiting_on(report),
        "prepare_form": prepare_form,
        "verify_form": forms.get("verify") or ReportReviewForm(),
        "approve_form": forms.get("approve") or ReportReviewForm(),
        "send_back_form": forms.get("send_back") or ReportSendBackForm(),
        "refused": refused,
        "separation_note": _separation_note(report, request.user, actions),
    }
    return render(request, "delivery/report_detail.html", context, status=status)


def _separation_note(report: DailyReport, user, actions: list[str]) -> str:
    """Why a reviewer sees no button: they already took part in this report."""
    if report.status == DailyReport.Status.PREPARED and "verify" not in actions and report.prepared_by_id == user.pk \
            and user.has_perm("delivery.check_dailyreport"):
        return _("You prepared this report: someone else must check it.")
    if report.status == DailyReport.Status.CHECKED and "approve" not in actions and user.has_perm("delivery.approve_dailyreport") \
            and user.pk in (report.prepared_by_id, report.checked_by_id):
        return _("You prepared or checked this report: someone else must approve it.")
    return ""


@login_required
@require_GET
def report_detail(request, report_id: int):
    return render_report(request, _report_or_404(request, report_id))


def _run(request, report: DailyReport, action: str, form, call: Callable[[], object], *, success: str) -> HttpResponse:
    """Call one service on the report; a refusal or bad input re-renders the page with why, never a 500."""
    if not form.is_valid():
        return render_report(request, report, status=422, forms={action: form})
    try:
        call(form.cleaned_data)
    except TransitionRefused as exc:
        return render_report(request, _report_or_404(request, report.pk), status=409, refused=str(exc.detail))
    except ConcurrentTransition:
        return render_report(request, _report_or_404(request, report.pk), status=409,
                             refused=_("Someone else changed this report at the same time; check it and try again."))
    except ValidationError as exc:
        put_errors_on(form, exc)
        return render_report(request, _report_or_404(request, report.pk), status=422, forms={action: form})
    except PermissionDenied as exc:
        return render_report(request, _report_or_404(request, report.pk), status=403, refused=str(exc) or _("Your role may not do this."))
    except DailyReport.DoesNotExist as exc:
        raise Http404(_("No such daily report.")) from exc
    messages.success(request, success)
    return HttpResponseRedirect(reverse("delivery:report", args=[report.pk]))


class _NoInput:
    """A form for actions that take no input."""

    def __init__(self):
        self.cleaned_data: dict = {}

    def is_valid(self) -> bool:
        return True


@login_required
@require_POST
def report_refresh(request, report_id: int):
    report = _report_or_404(request, report_id)
    require(request, "delivery.prepare_dailyreport")
    return _run(request, report, "refresh", _NoInput(),
                lambda data: money.daily_report_compile(hall_id=report.hall_id, day=report.day, by=request.user),
                success=_("Figures refreshed."))


@login_required
@require_POST
def report_prepare(request, report_id: int):
    report = _report_or_404(request, report_id)
    require(request, "delivery.prepare_dailyreport")
    return _run(request, report, "prepare", ReportPrepareForm(request.POST),
                lambda data: money.daily_report_prepare(report_id=report.pk, by=request.user, counted_cash=data["counted_cash"],
                                                        explanation=data["explanation"], figures_seen=data["figures"]),
                success=_("Report prepared: an account clerk checks it next."))


@login_required
@require_POST
def report_verify(request, report_id: int):
    report = _report_or_404(request, report_id)
    require(request, "delivery.check_dailyreport")
    return _run(request, report, "verify", ReportReviewForm(request.POST),
                lambda data: money.daily_report_verify(report_id=report.pk, by=request.user, note=data["note"]),
                success=_("Report checked: the account supervisor approves it next."))


@login_required
@require_POST
def report_approve(request, report_id: int):
    report = _report_or_404(request, report_id)
    require(request, "delivery.approve_dailyreport")
    return _run(request, report, "approve", ReportReviewForm(request.POST),
                lambda data: money.daily_report_approve(report_id=report.pk, by=request.user, note=data["note"]),
                success=_("Report approved and locked."))


@login_required
@require_POST
def report_send_back(request, report_id: int):
    report = _report_or_404(request, report_id)
    require(request, "delivery.check_dailyreport", "delivery.approve_dailyreport", any_of=True)
    return _run(request, report, "send_back", ReportSendBackForm(request.POST),
                lambda data: money.daily_report_send_back(report_id=report.pk, by=request.user, reason=data["reason"]),
                success=_("Report sent back to draft."))


# --- export --------------------------------------------------------------------------------

def _export_columns() -> list[str]:
    return [_("Shipment"), _("Order"), _("Tracking number"), _("Carrier"), pgettext("time", "Delivered"), _("Paid by"), _("POS reference"),
            _("To collect (CNY)"), _("Collected (CNY)")]


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    # A reference starting with "=" would run as a formula in Excel.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class _Echo:
    def write(self, value):
        return value


def _export_rows(report: DailyReport, *, header: list[str], methods: dict[str, str]):
    yield header
    rows = selectors.daily_report_deliveries(report=report).select_related(None).values_list(
        "pk", "order_id", "tracking_number", "carrier__name", "delivered_at", "payment_method", "pos_reference", "amount_due", "amount_collected",
    )
    for row in rows.iterator(chunk_size=2000):
        row = list(row)
        row[5] = methods.get(row[5], row[5])
        yield [_cell(value) for value in row]


@login_required
@require_GET
def report_export(request, report_id: int):
    """The report's deliveries as CSV, streamed: the figures can be checked line by line."""
    report = _report_or_404(request, report_id)
    writer = csv.writer(_Echo())
    # Translated now: the body is streamed after the view has returned.
    rows = _export_rows(report, header=_export_columns(), methods={k: str(v) for k, v in PaymentMethod.choices})

    def lines():
        yield "\ufeff"  # lets Excel on Chinese Windows open UTF-8 as such
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    code = "".join(ch for ch in report.hall.code if ch.isascii() and (ch.isalnum() or ch in "-_")) or str(report.hall_id)
    response["Content-Disposition"] = f'attachment; filename="daily-report-{code}-{report.day.isoformat()}.csv"'
    return response


urlpatterns = [
    path("daily-reports/", report_list, name="reports"),
    path("daily-reports/compile/", report_compile, name="report_compile"),
    path("daily-reports/<int:report_id>/", report_detail, name="report"),
    path("daily-reports/<int:report_id>/refresh/", report_refresh, name="report_refresh"),
    path("daily-reports/<int:report_id>/prepare/", report_prepare, name="report_prepare"),
    path("daily-reports/<int:report_id>/check/", report_verify, name="report_verify"),
    path("daily-reports/<int:report_id>/approve/", report_approve, name="report_approve"),
    path("daily-reports/<int:report_id>/send-back/", report_send_back, name="report_send_back"),
    path("daily-reports/<int:report_id>/deliveries.csv", report_export, name="report_export"),
]
