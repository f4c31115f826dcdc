"""The number pool: the list with its filters, adding, editing and removing numbers, bulk import and export."""
import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk.exports import export_format, safe_text, table_response
from servicedesk.pages import is_htmx, page_number, put_errors_on, require

from .. import pool_imports, selectors, services
from ..forms_pool import NumberImportForm, PoolFilterForm, PoolNumberAddForm, PoolNumberEditForm
from ..models import NumberImport, PoolNumber

PAGE_SIZE = 50
IMPORTS_PAGE_SIZE = 20
ERRORS_PAGE_SIZE = 50
# The export's columns; the first four are the import's, so an export can be edited and imported again.
EXPORT_COLUMNS = ["number", "class", "fee", "note", "status", "order", "reserved_at", "sold_at", "activated_at"]
EXPORT_FIELDS = ["number", "number_class", "price", "note", "status", "order_id", "reserved_at", "sold_at", "activated_at"]




# --- the list, adding, editing, removing ---------------------------------------

@login_required
@require_GET
def pool_list(request):
    require(request, "orders.view_poolnumber")
    filters = PoolFilterForm(request.GET)
    numbers = selectors.pool_numbers(**filters.filters())
    page = Paginator(numbers, PAGE_SIZE).get_page(page_number(request.GET))
    query = filters.query_string()
    return render(request, "orders/pool_list.html", {
        "filters": filters, "page": page, "query": query, "extra": query + "&",
        "export_csv": reverse("orders:pool_export") + "?" + query + "&format=csv",
        "export_xlsx": reverse("orders:pool_export") + "?" + query + "&format=xlsx",
    })


@login_required
@require_http_methods(["GET", "POST"])
def pool_add(request):
    require(request, "orders.add_poolnumber")
    form = PoolNumberAddForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                added = services.pool_number_add(**form.cleaned_data)
            except ValidationError as exc:
                put_errors_on(form, exc)
            else:
                messages.success(request, _("Number %(number)s added as %(class)s, fee %(fee)s.") % {
                    "number": added.number, "class": added.get_number_class_display(), "fee": added.price})
                return HttpResponseRedirect(reverse("orders:pool_add"))
        status = 400
    return render(request, "orders/pool_add.html", {"form": form}, status=status)


def _pool_number_or_404(pool_number_id: int) -> PoolNumber:
    try:
        return selectors.pool_number_detail(pool_number_id=pool_number_id)
    except PoolNumber.DoesNotExist as exc:
        raise Http404(_("No such number in the pool.")) from exc


def _edit_page(request, pool_number, form, *, status=200, remove_error=""):
    return render(request, "orders/pool_edit.html", {
        "number": pool_number, "form": form, "remove_error": remove_error,
        "can_change": request.user.has_perm("orders.change_poolnumber"),
        "can_remove": request.user.has_perm("orders.delete_poolnumber") and pool_number.status in ("available", "quarantined"),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def pool_edit(request, pool_number_id: int):
    """The number with its order, delivery and activation; and, for who may, its class, fee, note and quarantine."""
    require(request, "orders.view_poolnumber")
    pool_number = _pool_number_or_404(pool_number_id)
    if request.method == "GET":
        return _edit_page(request, pool_number, PoolNumberEditForm(pool_number=pool_number))
    require(request, "orders.change_poolnumber")
    form = PoolNumberEditForm(request.POST, pool_number=pool_number)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.pool_number_update(
                pool_number_id=pool_number.pk, number_class=data["number_class"], price=data["price"], note=data["note"],
                quarantined=data["quarantined"] if form.can_quarantine else None,
            )
        except PoolNumber.DoesNotExist as exc:
            raise Http404(_("No such number in the pool.")) from exc
        except ValidationError as exc:
            put_errors_on(form, exc)
        else:
            messages.success(request, _("Number %(number)s saved.") % {"number": pool_number.number})
            return HttpResponseRedirect(reverse("orders:pool_edit", args=[pool_number.pk]))
    return _edit_page(request, pool_number, form, status=400)


@login_required
@require_POST
def pool_remove(request, pool_number_id: int):
    require(request, "orders.delete_poolnumber")
    pool_number = _pool_number_or_404(pool_number_id)
    try:
        services.pool_number_remove(pool_number_id=pool_number.pk)
    except PoolNumber.DoesNotExist as exc:
        raise Http404(_("No such number in the pool.")) from exc
    except ValidationError as exc:
        return _edit_page(request, pool_number, PoolNumberEditForm(pool_number=pool_number), status=409, remove_error=" ".join(exc.messages))
    messages.success(request, _("Number %(number)s removed from the pool.") % {"number": pool_number.number})
    return HttpResponseRedirect(reverse("orders:pool"))


# --- export ------------------------------------------------------------------------

def _text(value):
    """Every cell as the text the page shows (the XLSX too, so the first four columns import again as typed)."""
    if value is None:
        return None
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@login_required
@require_GET
def pool_export(request):
    """The filtered list as CSV, streamed row by row, or as XLSX written to a temporary file: never all in memory."""
    require(request, "orders.view_poolnumber")
    numbers = selectors.pool_numbers(**PoolFilterForm(request.GET).filters()).select_related(None)
    rows = ([_text(value) for value in row] for row in numbers.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000))
    fmt = export_format(request.GET) or "csv"
    return table_response(name="number-pool", header=EXPORT_COLUMNS, rows=rows, fmt=fmt, sheet=_("Number pool"))


# --- bulk import -------------------------------------------------------------------

def _import_or_404(import_id: int) -> NumberImport:
    try:
        return selectors.number_imports().get(pk=import_id)
    except NumberImport.DoesNotExist as exc:
        raise Http404(_("No such import.")) from exc


@login_required
@require_http_methods(["GET", "POST"])
def pool_import(request):
    require(request, "orders.add_poolnumber")
    form = NumberImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                started = pool_imports.number_import_start(by=request.user, upload=form.cleaned_data["file"], language=get_language())
            except ValidationError as exc:
                form.add_error("file", exc.messages)
            else:
                return HttpResponseRedirect(reverse("orders:pool_import_status", args=[started.pk]))
        status = 400
    page = Paginator(selectors.number_imports(), IMPORTS_PAGE_SIZE).get_page(page_number(request.GET))
    return render(request, "orders/pool_import.html", {
        "form": form, "page": page, "max_mb": pool_imports.MAX_UPLOAD_BYTES // 1024 // 1024, "max_rows": pool_imports.MAX_ROWS,
    }, status=status)


@login_required
@require_GET
def pool_import_status(request, import_id: int):
    """Progress and refused rows; HTMX polls the progress part while the import runs."""
    require(request, "orders.add_poolnumber")
    number_import = _import_or_404(import_id)
    errors = Paginator(number_import.errors, ERRORS_PAGE_SIZE).get_page(page_number(request.GET))
    running = number_import.status in (NumberImport.Status.QUEUED, NumberImport.Status.RUNNING)
    context = {
        "imp": number_import, "errors": errors, "running": running,
        "percent": min(100, 100 * number_import.processed_rows // number_import.total_rows) if number_import.total_rows else (0 if running else 100),
        "errors_capped": number_import.error_count > len(number_import.errors),
        "max_errors": pool_imports.MAX_ERRORS_KEPT,
    }
    template = "orders/pool_import_progress.html" if is_htmx(request) else "orders/pool_import_status.html"
    return render(request, template, context)


@login_required
@require_POST
def pool_import_restart(request, import_id: int):
    require(request, "orders.add_poolnumber")
    number_import = _import_or_404(import_id)
    pool_imports.number_import_restart(import_id=number_import.pk, language=get_language())
    return HttpResponseRedirect(reverse("orders:pool_import_status", args=[number_import.pk]))


@login_required
@require_GET
def pool_import_errors(request, import_id: int):
    """The refused rows as CSV (the first 1,000), to fix and upload again."""
    require(request, "orders.add_poolnumber")
    number_import = _import_or_404(import_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="number-import-{number_import.pk}-errors.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("row"), _("number"), _("problem")])
    for row, number, message in number_import.errors:
        writer.writerow([row, safe_text(str(number)), safe_text(str(message))])
    return response


urlpatterns = [
    path("numbers/", pool_list, name="pool"),
    path("numbers/add/", pool_add, name="pool_add"),
    path("numbers/export/", pool_export, name="pool_export"),
    path("numbers/<int:pool_number_id>/", pool_edit, name="pool_edit"),
    path("numbers/<int:pool_number_id>/remove/", pool_remove, name="pool_remove"),
    path("numbers/imports/", pool_import, name="pool_import"),
    path("numbers/imports/<int:import_id>/", pool_import_status, name="pool_import_status"),
    path("numbers/imports/<int:import_id>/restart/", pool_import_restart, name="pool_import_restart"),
    path("numbers/imports/<int:import_id>/errors.csv", pool_import_errors, name="pool_import_errors"),
]
