"""The stock pages: who may see and do what, bad input, filters, pagination, and the reports' content."""
import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from delivery.models import SerialUnit, StockLevel, StockMovement, Transfer, Warehouse
from delivery.services import stock as services
from orders.models import ItemKind, Opportunity, Order
from tests.delivery.stock_helpers import imei, serials_for, stock_for
from tests.factories import OpportunityFactory, ProductFactory, SkuFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def client_as(client, *roles):
    user = UserFactory(roles=list(roles))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def clerk(client):
    return client_as(client, "delivery_clerk")


@pytest.fixture
def chain():
    company = WarehouseFactory(level=Warehouse.Level.COMPANY, name="Company store")
    branch = WarehouseFactory(level=Warehouse.Level.BRANCH, parent=company, name="Heping branch store")
    hall = WarehouseFactory(level=Warehouse.Level.HALL, parent=branch, name="Heping hall store")
    return company, branch, hall


def streamed_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# --- permissions -------------------------------------------------------------------------

def test_login_is_required(client):
    response = client.get(reverse("delivery:stock"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(("role", "url_name", "method", "status"), [
    ("agent", "delivery:stock", "get", 200),
    ("agent", "delivery:movements", "get", 200),
    ("agent", "delivery:movements_export", "get", 200),
    ("agent", "delivery:transfers", "get", 200),
    ("agent", "delivery:unit", "get", 200),
    ("agent", "delivery:demand", "get", 200),
    ("agent", "delivery:stock_receive", "get", 403),
    ("agent", "delivery:stock_receive", "post", 403),
    ("agent", "delivery:transfer_request", "get", 403),
    ("agent", "delivery:transfer_request", "post", 403),
    ("area_manager", "delivery:stock", "get", 403),
    ("area_manager", "delivery:movements", "get", 403),
    ("area_manager", "delivery:demand", "get", 403),
    ("area_manager", "delivery:transfers", "get", 403),
    ("delivery_clerk", "delivery:stock_receive", "get", 200),
    ("delivery_clerk", "delivery:transfer_request", "get", 200),
    ("back_office", "delivery:transfer_request", "get", 200),
    ("manager", "delivery:demand", "get", 200),
])
def test_pages_follow_the_stock_permissions(client, role, url_name, method, status):
    client_as(client, role)
    assert getattr(client, method)(reverse(url_name)).status_code == status


def test_a_reader_sees_a_transfer_without_its_actions_and_may_not_act(client, chain):
    _, branch, hall = chain
    transfer = services.transfer_request(to_warehouse=hall, lines=[(SkuFactory(counted=True), 1)], by=UserFactory(roles=["delivery_clerk"]))
    client_as(client, "agent")
    page = client.get(reverse("delivery:transfer", args=[transfer.pk]))
    assert page.status_code == 200 and b'data-testid="ship"' not in page.content
    for action in ("transfer_ship", "transfer_receive", "transfer_reject"):
        assert client.post(reverse(f"delivery:{action}", args=[transfer.pk]), {"reason": "x"}).status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.REQUESTED


# --- stock levels ----------------------------------------------------------------------------

def test_the_stock_page_shows_on_hand_reserved_and_available(clerk, chain, accepted_order):
    # given a hall with 3 SIMs, one held by an order
    product = ProductFactory(sim=True)
    hall = stock_for(product, units=3)
    assert accepted_order(product=product).status == "accepted"

    response = clerk.get(reverse("delivery:stock"), {"warehouse": hall.pk})

    assert response.status_code == 200
    levels = list(response.context["page"].object_list)
    assert [(lv.warehouse, lv.on_hand, lv.reserved, lv.available_count) for lv in levels] == [(hall, 3, 1, 2)]
    assert response.context["totals"] == {"on_hand": 3, "reserved": 1, "available": 2}


def test_a_bad_filter_is_reported_and_ignored(clerk, chain):
    _, _, hall = chain
    services.stock_receive(warehouse=hall, sku=SkuFactory(counted=True), by=clerk.user, quantity=4)
    response = clerk.get(reverse("delivery:stock"), {"warehouse": "not-a-store", "item_kind": "spaceship", "page": "x"})
    assert response.status_code == 200
    assert "A filter was not understood" in response.content.decode()
    assert response.context["page"].paginator.count == 1


def test_stock_is_paginated_and_filtered_by_kind_and_availability(clerk):
    # given 55 stock lines of cards in one hall, and one line of SIMs with nothing free
    hall = WarehouseFactory()
    for _ in range(55):
        services.stock_receive(warehouse=hall, sku=SkuFactory(counted=True), by=clerk.user, quantity=1)
    StockLevel.objects.create(warehouse=hall, sku=SkuFactory(), on_hand=0)
    first = clerk.get(reverse("delivery:stock"))
    second = clerk.get(reverse("delivery:stock"), {"page": 2})
    assert first.context["page"].paginator.count == 56
    assert len(first.context["page"].object_list) == 50 and len(second.context["page"].object_list) == 6
    assert clerk.get(reverse("delivery:stock"), {"item_kind": ItemKind.SIM}).context["page"].paginator.count == 1
    assert clerk.get(reverse("delivery:stock"), {"only_available": "on"}).context["page"].paginator.count == 55
    # the pager keeps the filters
    assert 'href="?item_kind=card&amp;page=2"' in clerk.get(reverse("delivery:stock"), {"item_kind": "card"}).content.decode()


# --- goods in ---------------------------------------------------------------------------------

def test_goods_in_books_pasted_serials(clerk, chain):
    company, _, _ = chain
    handset = SkuFactory(handset=True)
    serials = [imei(), imei(), imei()]
    response = clerk.post(reverse("delivery:stock_receive"), {
        "warehouse": company.pk, "sku": handset.pk, "serials": f"{serials[0]}\r\n{serials[1]}, {serials[2]}\n", "note": "PO-7",
    })
    assert response.status_code == 302
    assert SerialUnit.objects.filter(warehouse=company, sku=handset).count() == 3
    assert StockLevel.objects.get(warehouse=company, sku=handset).on_hand == 3


@pytest.mark.parametrize(("fields", "expected"), [
    ({"serials": "490154203237517"}, "the IMEI&#x27;s check digit is wrong"),
    ({"serials": ""}, "List the serial numbers"),
    ({"serials": "12345", "sku": "99999"}, "Select a valid choice"),
])
def test_goods_in_with_bad_input_is_refused_with_the_reason(clerk, chain, fields, expected):
    company, _, _ = chain
    handset = SkuFactory(handset=True)
    response = clerk.post(reverse("delivery:stock_receive"), {"warehouse": company.pk, "sku": handset.pk, **fields})
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert SerialUnit.objects.count() == 0 and StockMovement.objects.count() == 0


def test_goods_in_of_a_counted_item_needs_a_quantity(clerk, chain):
    company, _, _ = chain
    cards = SkuFactory(counted=True)
    response = clerk.post(reverse("delivery:stock_receive"), {"warehouse": company.pk, "sku": cards.pk})
    assert response.status_code == 422 and "Give the quantity received." in response.content.decode()
    assert clerk.post(reverse("delivery:stock_receive"), {"warehouse": company.pk, "sku": cards.pk, "quantity": "200"}).status_code == 302
    assert StockLevel.objects.get(sku=cards).on_hand == 200


# --- movements ----------------------------------------------------------------------------------

@pytest.fixture
def ledger(clerk, chain):
    """Receipts at the company store over three days, and a transfer to the branch today."""
    company, branch, _ = chain
    cards, sim = SkuFactory(counted=True, code="CARD50"), SkuFactory(code="USIM")
    services.stock_receive(warehouse=company, sku=cards, by=clerk.user, quantity=100, note="=HYPERLINK(\"x\")")
    services.stock_receive(warehouse=company, sku=sim, by=clerk.user, serials=serials_for(sim, 2))
    StockMovement.objects.update(at=timezone.now() - timedelta(days=3))
    t = services.transfer_request(to_warehouse=branch, lines=[(cards, 10)], by=clerk.user)
    services.transfer_ship(transfer_id=t.pk, by=clerk.user)
    return company, branch, cards, sim


def test_movements_filter_by_store_item_kind_and_dates(clerk, ledger):
    company, branch, cards, sim = ledger
    url = reverse("delivery:movements")
    assert clerk.get(url).context["page"].paginator.count == 4
    assert clerk.get(url, {"warehouse": company.pk, "sku": cards.pk}).context["page"].paginator.count == 2
    assert clerk.get(url, {"kind": "receipt"}).context["page"].paginator.count == 3
    today = timezone.localdate().isoformat()
    assert clerk.get(url, {"date_from": today, "date_to": today}).context["page"].paginator.count == 1
    old = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert clerk.get(url, {"date_to": old}).context["page"].paginator.count == 3


def test_a_backwards_or_garbled_date_range_is_reported_not_a_500(clerk, ledger):
    url = reverse("delivery:movements")
    response = clerk.get(url, {"date_from": "2025-05-02", "date_to": "2025-05-01"})
    assert response.status_code == 200 and "The end is before the start." in response.content.decode()
    response = clerk.get(url, {"date_from": "yesterday", "kind": "theft"})
    assert response.status_code == 200 and response.context["page"].paginator.count == 4


def test_movements_are_paginated(clerk):
    hall = WarehouseFactory()
    cards = SkuFactory(counted=True)
    for _ in range(51):
        services.stock_receive(warehouse=hall, sku=cards, by=clerk.user, quantity=1)
    page2 = clerk.get(reverse("delivery:movements"), {"kind": "receipt", "page": 2})
    assert len(page2.context["page"].object_list) == 1
    assert 'href="?kind=receipt&amp;page=1"' in page2.content.decode()


def test_the_movements_export_streams_the_filtered_ledger(clerk, ledger):
    company, branch, cards, sim = ledger
    rows = streamed_csv(clerk.get(reverse("delivery:movements_export"), {"sku": cards.pk}))
    assert rows[0] == ["at", "movement", "store", "item", "serial", "quantity", "order", "transfer", "by", "note"]
    body = sorted(rows[1:], key=lambda r: r[5])
    assert [(r[1], r[2], r[3], r[5]) for r in body] == [
        ("Transfer out", company.code, "CARD50", "-10"), ("Receipt from supplier", company.code, "CARD50", "100")]
    # a note that Excel would run as a formula is defused
    assert body[1][9] == "'=HYPERLINK(\"x\")"
    assert len(streamed_csv(clerk.get(reverse("delivery:movements_export"), {"sku": sim.pk}))) == 3


# --- transfers -----------------------------------------------------------------------------------

def test_asking_for_stock_through_the_form(clerk, chain):
    _, branch, hall = chain
    sim, cards = SkuFactory(), SkuFactory(counted=True)
    response = clerk.post(reverse("delivery:transfer_request"), {
        "to_warehouse": hall.pk, "note": "weekend",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
        "lines-0-sku": sim.pk, "lines-0-quantity": "5", "lines-1-sku": cards.pk, "lines-1-quantity": "40", "lines-2-sku": "", "lines-2-quantity": "",
    })
    transfer = Transfer.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("delivery:transfer", args=[transfer.pk])
    assert transfer.from_warehouse == branch
    assert set(transfer.lines.values_list("sku", "quantity")) == {(sim.pk, 5), (cards.pk, 40)}


@pytest.mark.parametrize(("lines", "expected"), [
    ({}, "Ask for at least one item."),
    ({"lines-0-sku": "SKU", "lines-0-quantity": ""}, "How many?"),
    ({"lines-0-sku": "SKU", "lines-0-quantity": "-3"}, "Ensure this value is greater than or equal to 1."),
    ({"lines-0-sku": "SKU", "lines-0-quantity": "2", "lines-1-sku": "SKU", "lines-1-quantity": "1"}, "is listed twice"),
    ({"lines-0-sku": "424242", "lines-0-quantity": "2"}, "Select a valid choice"),
])
def test_a_request_with_bad_lines_is_refused_with_the_reason(clerk, chain, lines, expected):
    _, _, hall = chain
    sim = SkuFactory()
    data = {"to_warehouse": hall.pk, "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0"}
    data.update({k: (sim.pk if v == "SKU" else v) for k, v in lines.items()})
    response = clerk.post(reverse("delivery:transfer_request"), data)
    assert response.status_code == 422 and expected in response.content.decode()
    assert Transfer.objects.count() == 0


def test_a_request_with_a_broken_form_set_is_refused_not_a_500(clerk, chain):
    _, _, hall = chain
    response = clerk.post(reverse("delivery:transfer_request"), {"to_warehouse": hall.pk})
    assert response.status_code == 422
    response = clerk.post(reverse("delivery:transfer_request"), {"to_warehouse": "company", "lines-TOTAL_FORMS": "9999", "lines-INITIAL_FORMS": "0"})
    assert response.status_code == 422 and Transfer.objects.count() == 0


def test_ship_and_receive_through_the_pages(clerk, chain):
    _, branch, hall = chain
    sim = SkuFactory()
    serials = serials_for(sim, 3)
    services.stock_receive(warehouse=branch, sku=sim, by=clerk.user, serials=serials)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(sim, 2)], by=clerk.user)
    page = clerk.get(reverse("delivery:transfer", args=[transfer.pk]))
    assert b'data-testid="ship"' in page.content and b'data-testid="receive"' not in page.content

    shipped = clerk.post(reverse("delivery:transfer_ship", args=[transfer.pk]), {"serials": f"{serials[2]}\n{serials[0]}"})
    assert shipped.status_code == 302
    page = clerk.get(reverse("delivery:transfer", args=[transfer.pk]))
    assert page.context["transfer"].status == Transfer.Status.SHIPPED and b'data-testid="receive"' in page.content
    assert [u.serial for u in page.context["units"].object_list] == sorted([serials[0], serials[2]])

    assert clerk.post(reverse("delivery:transfer_receive", args=[transfer.pk])).status_code == 302
    assert SerialUnit.objects.filter(warehouse=hall).count() == 2
    history = clerk.get(reverse("delivery:transfer", args=[transfer.pk])).context["history"]
    assert [str(state) for _, state in history] == ["Requested", "Shipped", "Received"]


def test_shipping_without_enough_stock_says_what_is_short(clerk, chain):
    _, branch, hall = chain
    cards = SkuFactory(counted=True, name="Top-up 50")
    services.stock_receive(warehouse=branch, sku=cards, by=clerk.user, quantity=3)
    transfer = services.transfer_request(to_warehouse=hall, lines=[(cards, 5)], by=clerk.user)
    response = clerk.post(reverse("delivery:transfer_ship", args=[transfer.pk]))
    assert response.status_code == 422
    assert "Not enough stock at Heping branch store: Top-up 50: 5 asked, 3 available." in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.REQUESTED


def test_a_step_out_of_order_is_a_409_naming_what_is_possible(clerk, chain):
    _, _, hall = chain
    transfer = services.transfer_request(to_warehouse=hall, lines=[(SkuFactory(counted=True), 1)], by=clerk.user)
    response = clerk.post(reverse("delivery:transfer_receive", args=[transfer.pk]))
    assert response.status_code == 409
    assert "Now possible: Rejected, Shipped." in response.content.decode()


def test_rejecting_needs_a_reason(clerk, chain):
    _, _, hall = chain
    transfer = services.transfer_request(to_warehouse=hall, lines=[(SkuFactory(counted=True), 1)], by=clerk.user)
    response = clerk.post(reverse("delivery:transfer_reject", args=[transfer.pk]), {"reason": ""})
    assert response.status_code == 422 and "Say why the request is rejected." in response.content.decode()
    assert clerk.post(reverse("delivery:transfer_reject", args=[transfer.pk]), {"reason": "none to spare"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.REJECTED


def test_an_unknown_transfer_is_a_404(clerk):
    assert clerk.get(reverse("delivery:transfer", args=[424242])).status_code == 404
    assert clerk.post(reverse("delivery:transfer_ship", args=[424242])).status_code == 404


def test_transfers_are_listed_by_status_and_store(clerk, chain):
    company, branch, hall = chain
    cards = SkuFactory(counted=True)
    to_hall = services.transfer_request(to_warehouse=hall, lines=[(cards, 1)], by=clerk.user)
    to_branch = services.transfer_request(to_warehouse=branch, lines=[(cards, 1)], by=clerk.user)
    services.transfer_reject(transfer_id=to_branch.pk, by=clerk.user, reason="no")
    url = reverse("delivery:transfers")
    assert [t.pk for t in clerk.get(url).context["page"].object_list] == [to_branch.pk, to_hall.pk]
    assert [t.pk for t in clerk.get(url, {"status": "requested"}).context["page"].object_list] == [to_hall.pk]
    assert [t.pk for t in clerk.get(url, {"warehouse": company.pk}).context["page"].object_list] == [to_branch.pk]
    assert clerk.get(url, {"warehouse": hall.pk}).context["page"].object_list[0].line_count == 1


# --- unit lookup -----------------------------------------------------------------------------

def test_a_unit_is_found_by_its_serial_with_where_it_is_and_its_history(clerk, chain, accepted_order):
    product = ProductFactory(sim=True)
    hall = stock_for(product, units=1)
    order = accepted_order(product=product)
    unit = SerialUnit.objects.get()
    response = clerk.get(reverse("delivery:unit"), {"serial": f" {unit.serial} "})
    assert response.status_code == 200
    assert response.context["unit"] == unit
    html = response.content.decode()
    assert "Reserved" in html and hall.name in html and reverse("orders:detail", args=[order.pk]) in html
    assert [m.kind for m in response.context["history"].object_list] == ["reserve", "receipt"]


@pytest.mark.parametrize(("serial", "status", "expected"), [
    ("89860100000000000999", 404, "No unit has the serial 89860100000000000999."),
    ("12ab", 422, "Type the 15-digit IMEI or the 19–20-digit ICCID."),
    ("", 422, "Type a serial to look up."),
])
def test_a_unit_lookup_that_finds_nothing_says_so(clerk, serial, status, expected):
    response = clerk.get(reverse("delivery:unit"), {"serial": serial})
    assert response.status_code == status and expected in response.content.decode()


def test_the_lookup_page_opens_empty(clerk):
    response = clerk.get(reverse("delivery:unit"))
    assert response.status_code == 200 and response.context["unit"] is None


# --- demand ----------------------------------------------------------------------------------

@pytest.fixture
def demand(submitted_order):
    """Orders and opportunities for handsets (and a SIM) this week, and some from two months ago."""
    mate = ProductFactory(item_kind=ItemKind.HANDSET, item_model="Huawei Mate 60", name="Mate 60 contract")
    mate_upgrade = ProductFactory(item_kind=ItemKind.HANDSET, item_model="Huawei Mate 60", name="Mate 60 upgrade")
    iphone = ProductFactory(item_kind=ItemKind.HANDSET, item_model="iPhone 16")
    xiaomi = ProductFactory(item_kind=ItemKind.HANDSET, item_model="Xiaomi 14")
    sim = ProductFactory(sim=True)
    for product in (mate, mate, mate_upgrade, iphone, sim, sim, sim, sim):
        submitted_order(product=product)
    for product in (iphone, iphone, xiaomi):
        OpportunityFactory(product=product)
    converted = OpportunityFactory(product=mate)
    Opportunity.objects.filter(pk=converted.pk).update(order=Order.objects.filter(product=mate).first(), status="converted")
    old = submitted_order(product=xiaomi)
    Order.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    stock_for(iphone, units=4)


def test_the_demand_report_ranks_handset_models_by_how_often_customers_asked(clerk, demand):
    response = clerk.get(reverse("delivery:demand"))
    assert response.status_code == 200
    rows = [(r["item_model"], r["asked"], r["orders"], r["opportunities"], r["converted"], r["available"]) for r in response.context["page"].object_list]
    assert rows == [
        ("Huawei Mate 60", 3, 3, 1, 1, None),  # the converted opportunity is its order: counted once
        ("iPhone 16", 3, 1, 2, 0, 4),
        ("Xiaomi 14", 1, 0, 1, 0, None),  # the order from two months ago is outside the range
    ]


def test_the_demand_report_takes_a_date_range(clerk, demand):
    start = (timezone.localdate() - timedelta(days=90)).isoformat()
    rows = clerk.get(reverse("delivery:demand"), {"date_from": start}).context["page"].object_list
    assert [(r["item_model"], r["asked"]) for r in rows][:3] == [("Huawei Mate 60", 3), ("iPhone 16", 3), ("Xiaomi 14", 2)]
    past = (timezone.localdate() - timedelta(days=70)).isoformat(), (timezone.localdate() - timedelta(days=50)).isoformat()
    rows = clerk.get(reverse("delivery:demand"), {"date_from": past[0], "date_to": past[1]}).context["page"].object_list
    assert [(r["item_model"], r["orders"]) for r in rows] == [("Xiaomi 14", 1)]


@pytest.mark.parametrize("params", [{"date_from": "2020-01-01", "date_to": "2025-01-01"}, {"date_from": "soon"}, {"date_to": "2025-13-40"}])
def test_a_bad_demand_range_falls_back_to_the_last_30_days_and_says_so(clerk, demand, params):
    response = clerk.get(reverse("delivery:demand"), params)
    assert response.status_code == 200 and "Showing the last 30 days instead." in response.content.decode()
    assert response.context["date_to"] == timezone.localdate()
    assert len(response.context["page"].object_list) == 3


def test_the_demand_export_has_the_same_rows(clerk, demand):
    rows = streamed_csv(clerk.get(reverse("delivery:demand_export")))
    assert rows == [
        ["model", "asked", "orders", "opportunities", "of which ordered", "available in hall stores"],
        ["Huawei Mate 60", "3", "3", "1", "1", ""],
        ["iPhone 16", "3", "1", "2", "0", "4"],
        ["Xiaomi 14", "1", "0", "1", "0", ""],
    ]
