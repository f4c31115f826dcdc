"""Tables as CSV and XLSX: servicedesk.exports.table_response, and the KPI pages that offer it."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kpi.definitions import KPIS
from servicedesk.exports import export_format, safe_text, table_response
from tests.kpi.test_views import MARCH, given_march

WHEN = timezone.make_aware(datetime(2026, 3, 31, 23, 30))  # Asia/Shanghai


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # the BOM: Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))


@pytest.mark.parametrize(("text", "kept"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+86 call", "'+86 call"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"),
    ("-5", "-5"), ("+3.25", "+3.25"), ("-1e3", "-1e3"),   # numbers are numbers
    ("张三", "张三"), ("a=b", "a=b"), ("", ""),
])
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe_unless_it_is_a_number(text, kept):
    assert safe_text(text) == kept


def test_csv_is_streamed_utf8_with_bom_and_keeps_numbers_dates_and_empty_cells():
    response = table_response(
        name="kpi-test", header=["名称", "value", "when", "day"],
        rows=iter([["=1+1", Decimal("75.00"), WHEN, date(2026, 3, 1)], ["张三", None, None, None], ["-7", -7, 3, 0.5]]), fmt="csv",
    )

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="kpi-test-') and response["Content-Disposition"].endswith('.csv"')
    assert csv_rows(response) == [
        ["名称", "value", "when", "day"],
        ["'=1+1", "75.00", "2026-03-31 23:30:00", "2026-03-01"],
        ["张三", "", "", ""],
        ["-7", "-7", "3", "0.5"],
    ]


def test_xlsx_keeps_numbers_numeric_dates_local_and_formulas_inert():
    response = table_response(
        name="kpi-test", header=["name", "value", "when"],
        rows=[["=1+1", Decimal("75.00"), WHEN], ["张三", None, None], ["x", 3, date(2026, 3, 1)]], fmt="xlsx", sheet="KPIs: by [team]",
    )

    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="kpi-test-')
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["KPIs- by -team-"]
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == ("name", "value", "when")
    assert rows[1] == ("'=1+1", 75, datetime(2026, 3, 31, 23, 30))
    assert rows[2] == ("张三", None, None)
    assert rows[3][1] == 3 and rows[3][2].date() == date(2026, 3, 1)
    assert workbook.active["A2"].data_type == "s"  # text, not a formula


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_file_name_keeps_only_safe_characters(fmt):
    response = table_response(name='area "北/1"\r\nX: y', header=["a"], rows=[], fmt=fmt)
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="area-1-X-y-') and "\n" not in disposition and "北" not in disposition


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError):
        table_response(name="x", header=[], rows=[], fmt="pdf")


@pytest.mark.parametrize(("raw", "fmt"), [("csv", "csv"), ("xlsx", "xlsx"), ("pdf", None), ("", None)])
def test_only_csv_and_xlsx_are_export_formats(rf, raw, fmt):
    assert export_format(rf.get("/", {"format": raw}).GET) == fmt


# --- the KPI pages' exports --------------------------------------------------------------------

@pytest.fixture
def manager(client, make_user):
    client.force_login(make_user("manager"))
    return client


@pytest.mark.django_db
def test_the_breakdown_exports_the_numbers_on_screen_and_no_data_as_empty(manager):
    march = given_march()
    params = {**MARCH, "dimension": "agent"}
    screen = manager.get(reverse("kpi:dashboard"), params)
    codes = [k.code for k in screen.context["columns"]]
    fcr = codes.index("fcr")

    rows = csv_rows(manager.get(reverse("kpi:dashboard"), {**params, "format": "csv"}))

    header = rows[0]
    assert header[0] == "Agent" and header[1 + 3 * fcr: 4 + 3 * fcr] == [
        f"{KPIS['fcr'].name} (%)", f"{KPIS['fcr'].name}: numerator", f"{KPIS['fcr'].name}: denominator",
    ]
    by_agent = {row[0]: row for row in rows[1:]}
    assert set(by_agent) == {"Ann Lee", "Bob Wu", "Cai Lin"}
    assert by_agent["Ann Lee"][1 + 3 * fcr: 4 + 3 * fcr] == ["75.00", "3", "4"]
    satisfaction = codes.index("satisfaction")
    assert by_agent["Ann Lee"][1 + 3 * satisfaction: 4 + 3 * satisfaction] == ["", "0", "0"]  # no data: empty, not 0%
    on_screen = {row.label: row.cells[fcr][2] for row in screen.context["page"].object_list}
    assert {name: row[1 + 3 * fcr] + "%" for name, row in by_agent.items()} == on_screen
    assert march.ann.pk  # the world the numbers come from


@pytest.mark.django_db
def test_the_breakdown_exports_as_xlsx_with_numeric_cells(manager):
    given_march()

    rows = xlsx_rows(manager.get(reverse("kpi:dashboard"), {**MARCH, "dimension": "team", "format": "xlsx"}))

    header = rows[0]
    fcr = header.index(f"{KPIS['fcr'].name} (%)")
    by_team = {row[0]: row for row in rows[1:]}
    assert (by_team["Alpha"][fcr], by_team["Alpha"][fcr + 1], by_team["Alpha"][fcr + 2]) == (60, 3, 5)
    assert by_team["Beta"][fcr] == 100


@pytest.mark.django_db
def test_the_drill_down_exports_every_row_behind_the_number(manager):
    march = given_march()

    rows = csv_rows(manager.get(reverse("kpi:drill"), {**MARCH, "kpi": "fcr", "dimension": "agent", "key": march.ann.pk, "format": "csv"}))

    assert rows[0][0] == "ID" and rows[0][-2:] == ["Numerator", "Denominator"]
    assert sorted(int(row[0]) for row in rows[1:]) == sorted(c.pk for c in march.ann_complaints)
    assert sum(int(row[-2]) for row in rows[1:]) == 3 and sum(int(row[-1]) for row in rows[1:]) == 4
    received = rows[0].index("Received")
    assert any(row[received] == "2026-03-31 18:30:00" for row in rows[1:])  # local time (23:30 resolved, received 5 h before)


@pytest.mark.django_db
def test_a_bad_period_exports_nothing_and_shows_the_error(manager):
    response = manager.get(reverse("kpi:dashboard"), {"first": "2026-03-31", "last": "2026-03-01", "format": "csv"})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
