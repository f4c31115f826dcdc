"""The number pool pages: permissions, filters, pagination, add, edit, remove, import pages and export."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from orders import services
from orders.models import NumberClass, NumberImport, NumberStatus, PoolNumber
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def client_as(client, *roles):
    user = UserFactory(roles=list(roles))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def clerk(client):
    return client_as(client, "back_office")


def reserved_number(number="18600000001", **kwargs) -> PoolNumber:
    """A number held by a back-office SIM order, as an agent's sale leaves it."""
    pool_number = PoolNumberFactory(number=number, **kwargs)
    services.order_submit(
        agent=UserFactory(roles=["agent"]), customer=CustomerFactory(), product=ProductFactory(sim=True), pool_number=number,
        delivery_address="南京路1号", appointment_date=timezone.localdate() + timedelta(days=1),
    )
    pool_number.refresh_from_db()
    assert pool_number.status == NumberStatus.RESERVED
    return pool_number


def sold_number(number="18600000002") -> PoolNumber:
    pool_number = reserved_number(number)
    PoolNumber.objects.filter(pk=pool_number.pk).update(status=NumberStatus.SOLD, sold_at=timezone.now(), activated_at=timezone.now())
    pool_number.refresh_from_db()
    return pool_number


# --- permissions ---------------------------------------------------------------------

def test_login_is_required(client):
    response = client.get(reverse("orders:pool"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(("role", "url_name", "method", "status"), [
    ("agent", "orders:pool", "get", 200),
    ("agent", "orders:pool_export", "get", 200),
    ("agent", "orders:pool_add", "get", 403),
    ("agent", "orders:pool_add", "post", 403),
    ("agent", "orders:pool_import", "get", 403),
    ("agent", "orders:pool_import", "post", 403),
    ("area_manager", "orders:pool", "get", 403),
    ("area_manager", "orders:pool_export", "get", 403),
    ("back_office", "orders:pool_add", "get", 200),
    ("back_office", "orders:pool_import", "get", 200),
    ("admin", "orders:pool_import", "get", 200),
])
def test_pages_follow_the_pool_permissions(client, role, url_name, method, status):
    client_as(client, role)
    response = getattr(client, method)(reverse(url_name), {"number": "18600000009"} if method == "post" else {})
    assert response.status_code == status


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("delivery_clerk", 403), ("back_office", 302)])
def test_only_pool_keepers_edit_and_remove(client, role, status):
    number = PoolNumberFactory()
    client_as(client, role)

    edited = client.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "lucky", "price": "10", "note": ""})
    assert edited.status_code == status
    assert client.get(reverse("orders:pool_edit", args=[number.pk])).status_code == 200  # everyone who sees the pool sees the number
    removed = client.post(reverse("orders:pool_remove", args=[number.pk]))
    assert removed.status_code == status
    assert PoolNumber.objects.filter(pk=number.pk).exists() == (status != 302)


def test_import_status_and_errors_need_the_add_permission(client, django_capture_on_commit_callbacks):
    keeper = UserFactory(roles=["back_office"])
    with django_capture_on_commit_callbacks(execute=True):
        from orders.pool_imports import number_import_start

        started = number_import_start(by=keeper, upload=SimpleUploadedFile("n.csv", b"number\n18600000001\n"), language="en")
    client_as(client, "agent")
    assert client.get(reverse("orders:pool_import_status", args=[started.pk])).status_code == 403
    assert client.get(reverse("orders:pool_import_errors", args=[started.pk])).status_code == 403


# --- the list ---------------------------------------------------------------------------

@pytest.fixture
def stocked_pool():
    PoolNumberFactory(number="18600008888", number_class=NumberClass.LUCKY)
    PoolNumberFactory(number="18600001234", number_class=NumberClass.LUCKY, status=NumberStatus.QUARANTINED)
    PoolNumberFactory(number="13900018888")
    PoolNumberFactory(number="13900000001")
    reserved_number("13900002222")


def listed(client, **params) -> list[str]:
    response = client.get(reverse("orders:pool"), params)
    assert response.status_code == 200
    return [n.number for n in response.context["page"].object_list]


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["13900000001", "13900002222", "13900018888", "18600001234", "18600008888"]),
    ({"status": "available"}, ["13900000001", "13900018888", "18600008888"]),
    ({"status": "reserved"}, ["13900002222"]),
    ({"status": "quarantined"}, ["18600001234"]),
    ({"number_class": "lucky"}, ["18600001234", "18600008888"]),
    ({"number_class": "lucky", "status": "available"}, ["18600008888"]),
    ({"digits": "8888"}, ["13900018888", "18600008888"]),
    ({"digits": "186"}, ["18600001234", "18600008888"]),
    ({"digits": " 1390 "}, ["13900000001", "13900002222", "13900018888"]),
    ({"digits": "18888", "match": "tail"}, ["13900018888"]),
    ({"digits": "1860000", "match": "prefix"}, ["18600001234", "18600008888"]),
    ({"digits": "1234", "match": "tail"}, ["18600001234"]),
])
def test_the_list_filters_by_status_class_and_digits(clerk, stocked_pool, params, expected):
    assert listed(clerk, **params) == expected


@pytest.mark.parametrize("params", [
    {"digits": "12ab"}, {"digits": "1" * 12}, {"status": "stolen"}, {"number_class": "gold"}, {"match": "middle"}, {"page": "x"},
])
def test_bad_filters_are_reported_and_left_out_never_an_error(clerk, stocked_pool, params):
    response = clerk.get(reverse("orders:pool"), params)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 5
    if "page" not in params:
        assert 'class="error"' in response.content.decode()


def test_the_list_is_paginated_and_the_pager_keeps_the_filters(clerk):
    for n in range(60):
        PoolNumberFactory(number=f"1860000{n:04d}")
    PoolNumberFactory(number="13900000001")

    first = clerk.get(reverse("orders:pool"), {"digits": "186"})
    second = clerk.get(reverse("orders:pool"), {"digits": "186", "page": 2})

    assert first.context["page"].paginator.count == 60
    assert len(first.context["page"].object_list) == 50 and len(second.context["page"].object_list) == 10
    assert "digits=186&amp;match=&amp;page=2" in first.content.decode().replace("status=&amp;number_class=&amp;", "")


def test_the_list_shows_the_order_of_a_reserved_number_without_a_query_per_row(clerk, django_assert_max_num_queries):
    held = [reserved_number(f"1860000000{n}") for n in range(5)]

    with django_assert_max_num_queries(8):
        body = clerk.get(reverse("orders:pool")).content.decode()

    assert reverse("orders:detail", args=[held[0].order_id]) in body


def test_the_number_page_shows_its_order_and_dates(clerk):
    number = sold_number()

    body = clerk.get(reverse("orders:pool_edit", args=[number.pk])).content.decode()

    assert reverse("orders:detail", args=[number.order_id]) in body
    assert timezone.localtime(number.sold_at).strftime("%Y-%m-%d %H:%M") in body


def test_an_unknown_number_is_404(clerk):
    assert clerk.get(reverse("orders:pool_edit", args=[999999])).status_code == 404
    assert clerk.post(reverse("orders:pool_remove", args=[999999])).status_code == 404


# --- add ----------------------------------------------------------------------------------

def test_adding_a_number_takes_its_class_from_the_pattern_when_none_is_given(clerk):
    response = clerk.post(reverse("orders:pool_add"), {"number": "186 0000 6666", "number_class": "", "price": "", "note": " new "})

    assert response.status_code == 302
    added = PoolNumber.objects.get(number="18600006666")
    assert (added.number_class, added.price, added.note, added.status) == (NumberClass.LUCKY, Decimal("100.00"), "new", NumberStatus.AVAILABLE)


@pytest.mark.parametrize(("data", "message"), [
    ({"number": "18600000001"}, "Number 18600000001 is already in the pool."),
    ({"number": "022-2345-6789"}, "is a fixed line; the pool holds mobile numbers only."),
    ({"number": "12345"}, "Enter an 11-digit mobile number"),
    ({"number": "99999999999"}, "not a valid mainland China service number"),
    ({"number": ""}, "This field is required."),
    ({"number": "18600000002", "price": "-1"}, "greater than or equal to 0"),
    ({"number": "18600000002", "price": "abc"}, "Enter a number."),
    ({"number": "18600000002", "number_class": "gold"}, "Select a valid choice."),
    ({"number": "18600000002", "note": "x" * 201}, "at most 200 characters"),
])
def test_adding_bad_input_re_renders_the_form_with_a_message(clerk, data, message):
    PoolNumberFactory(number="18600000001")

    response = clerk.post(reverse("orders:pool_add"), data)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert PoolNumber.objects.count() == 1


# --- edit ----------------------------------------------------------------------------------

def test_editing_a_free_number_changes_class_fee_note_and_quarantine(clerk):
    number = PoolNumberFactory()

    response = clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "premium", "price": "888", "note": "VIP", "quarantined": "on"})

    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.number_class, number.price, number.note, number.status) == (NumberClass.PREMIUM, Decimal("888"), "VIP", NumberStatus.QUARANTINED)

    clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "premium", "price": "888", "note": "VIP"})
    number.refresh_from_db()
    assert number.status == NumberStatus.AVAILABLE


@pytest.mark.parametrize("make", [reserved_number, sold_number])
def test_a_reserved_or_sold_number_keeps_its_class_and_fee(clerk, make):
    number = make()

    response = clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "premium", "price": "999", "note": "x", "quarantined": "on"})

    assert response.status_code == 400
    assert "its class and fee can no longer change" in response.content.decode()
    fresh = PoolNumber.objects.get(pk=number.pk)
    assert (fresh.number_class, fresh.price, fresh.note, fresh.status, fresh.order_id) == (number.number_class, number.price, "", number.status, number.order_id)


def test_a_reserved_number_may_still_get_a_note(clerk):
    number = reserved_number()

    response = clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": number.number_class, "price": str(number.price), "note": "customer asked twice"})

    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.note, number.status) == ("customer asked twice", NumberStatus.RESERVED)


@pytest.mark.parametrize("make", [reserved_number, sold_number])
def test_the_service_refuses_to_quarantine_a_reserved_or_sold_number(make):
    number = make()

    with pytest.raises(ValidationError) as refused:
        services.pool_number_update(pool_number_id=number.pk, number_class=number.number_class, price=number.price, quarantined=True)

    assert refused.value.message_dict["quarantined"] == ["A reserved or sold number cannot be quarantined."]
    assert PoolNumber.objects.get(pk=number.pk).status == number.status


def test_editing_with_a_bad_fee_is_a_form_error(clerk):
    number = PoolNumberFactory()
    response = clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "ordinary", "price": "1e40", "note": ""})
    assert response.status_code == 400
    assert PoolNumber.objects.get(pk=number.pk).price == Decimal("0")


# --- remove ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [NumberStatus.AVAILABLE, NumberStatus.QUARANTINED])
def test_a_free_or_quarantined_number_is_removed(clerk, status):
    number = PoolNumberFactory(status=status)
    response = clerk.post(reverse("orders:pool_remove", args=[number.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("orders:pool")
    assert not PoolNumber.objects.filter(pk=number.pk).exists()


@pytest.mark.parametrize("make", [reserved_number, sold_number])
def test_a_reserved_or_sold_number_cannot_be_removed(clerk, make):
    number = make()

    response = clerk.post(reverse("orders:pool_remove", args=[number.pk]))

    assert response.status_code == 409
    assert "A reserved or sold number cannot be removed." in response.content.decode()
    assert PoolNumber.objects.filter(pk=number.pk, status=number.status).exists()


def test_a_number_released_by_a_cancelled_order_cannot_be_removed_but_can_be_quarantined(clerk):
    # given a number whose order was cancelled: free again, but still named by that order
    number = reserved_number()
    services.order_cancel(order_id=number.order_id, by=UserFactory(roles=["back_office"]), reason="customer changed their mind")
    number.refresh_from_db()
    assert number.status == NumberStatus.AVAILABLE

    # when someone removes it, then it stays, with a message instead of an error page
    response = clerk.post(reverse("orders:pool_remove", args=[number.pk]))
    assert response.status_code == 409
    assert "quarantine it instead" in response.content.decode()
    assert PoolNumber.objects.filter(pk=number.pk).exists()

    # and quarantining it works
    clerk.post(reverse("orders:pool_edit", args=[number.pk]), {"number_class": "ordinary", "price": "0", "note": "", "quarantined": "on"})
    assert PoolNumber.objects.get(pk=number.pk).status == NumberStatus.QUARANTINED


# --- import pages ---------------------------------------------------------------------------

def upload(client, content: bytes, name="numbers.csv"):
    return client.post(reverse("orders:pool_import"), {"file": SimpleUploadedFile(name, content)})


def test_uploading_a_file_imports_it_and_shows_the_refused_rows(clerk, django_capture_on_commit_callbacks):
    PoolNumberFactory(number="18600000003")
    content = "number,class,fee\n18600000001,lucky,88\n18600000002,,\nabc,,\n18600000003,,\n18600000001,,\n".encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(clerk, content)

    imported = NumberImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:pool_import_status", args=[imported.pk])
    assert imported.created_by == clerk.user
    page = clerk.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "2 added, 3 refused." in body
    assert "Already in the pool." in body and "Duplicate of row 2 in this file." in body
    assert "hx-trigger" not in body  # finished: no more polling
    errors = list(csv.reader(io.StringIO(clerk.get(reverse("orders:pool_import_errors", args=[imported.pk])).content.decode("utf-8-sig"))))
    assert errors[0] == ["row", "number", "problem"]
    assert [row[:2] for row in errors[1:]] == [["4", "abc"], ["5", "18600000003"], ["6", "18600000001"]]


def test_the_status_of_a_running_import_polls_for_progress(clerk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        upload(clerk, b"number\n18600000001\n")
    imported = NumberImport.objects.get()
    NumberImport.objects.filter(pk=imported.pk).update(status=NumberImport.Status.RUNNING, total_rows=4000, processed_rows=1000)

    full = clerk.get(reverse("orders:pool_import_status", args=[imported.pk]))
    partial = clerk.get(reverse("orders:pool_import_status", args=[imported.pk]), headers={"HX-Request": "true"})

    assert 'hx-trigger="every 2s"' in full.content.decode()
    assert "1000 of 4000 rows" in partial.content.decode()
    assert 'hx-trigger="every 2s"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert partial.context["percent"] == 25


def test_a_queued_import_can_be_started_again(clerk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        upload(clerk, b"number\n18600000001\n")  # the broker never got it
    imported = NumberImport.objects.get()
    assert "Start again" in clerk.get(reverse("orders:pool_import_status", args=[imported.pk])).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        clerk.post(reverse("orders:pool_import_restart", args=[imported.pk]))

    imported.refresh_from_db()
    assert (imported.status, imported.created_count) == (NumberImport.Status.DONE, 1)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("numbers.csv", b"", "The file is empty."),
    ("numbers.pdf", b"%PDF-1.4", "Upload a CSV (.csv) or Excel (.xlsx) file."),
    ("numbers.csv", b"18600000001\n", "The first row must name the columns"),
])
def test_an_unusable_upload_is_refused_with_a_message(clerk, name, content, message):
    response = upload(clerk, content, name)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NumberImport.objects.exists()


def test_posting_without_a_file_asks_for_one(clerk):
    response = clerk.post(reverse("orders:pool_import"), {})
    assert response.status_code == 400
    assert "Choose a file to upload." in response.content.decode()


def test_the_import_page_lists_recent_imports_paginated(clerk, django_capture_on_commit_callbacks):
    for n in range(22):
        NumberImport.objects.create(file_name=f"batch-{n}.csv", created_by=clerk.user, status=NumberImport.Status.DONE)

    response = clerk.get(reverse("orders:pool_import"))

    assert len(response.context["page"].object_list) == 20 and response.context["page"].paginator.num_pages == 2


# --- export ------------------------------------------------------------------------------------

def test_the_csv_export_is_streamed_and_holds_exactly_the_filtered_rows(clerk, stocked_pool):
    PoolNumber.objects.filter(number="18600008888").update(note="=HYPERLINK(\"x\")", price=Decimal("88.00"))

    response = clerk.get(reverse("orders:pool_export"), {"number_class": "lucky", "format": "csv"})

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].startswith('attachment; filename="number-pool-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["number", "class", "fee", "note", "status", "order", "reserved_at", "sold_at", "activated_at"]
    assert [r[:5] for r in rows[1:]] == [
        ["18600001234", "lucky", "0.00", "", "quarantined"],
        ["18600008888", "lucky", "88.00", "'=HYPERLINK(\"x\")", "available"],
    ]


def test_the_xlsx_export_holds_the_filtered_rows_and_can_be_imported_again(clerk, stocked_pool):
    response = clerk.get(reverse("orders:pool_export"), {"status": "reserved", "format": "xlsx"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    held = PoolNumber.objects.get(number="13900002222")
    assert rows[0][:4] == ("number", "class", "fee", "note")
    assert rows[1][:6] == ("13900002222", "ordinary", "0.00", None, "reserved", str(held.order_id))
    assert len(rows) == 2
