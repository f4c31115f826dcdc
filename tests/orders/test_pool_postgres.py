"""Real concurrency on PostgreSQL: a pool number is never reserved or sold twice, and imports racing each other stay exact."""
import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from orders import pool_imports, services
from orders.models import NumberImport, NumberStatus, Order, PoolNumber
from tests.concurrency import run_concurrently
from tests.factories import CustomerFactory, PoolNumberFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def not_enqueued(monkeypatch):
    """Uploads stay queued (no eager run at commit): the test starts the runs itself, at once."""
    monkeypatch.setattr(pool_imports, "_enqueue", lambda import_id, language: None)


@pytest.fixture
def sale():
    """What each racing agent needs: themselves, a customer, and a SIM product that takes a new number."""
    product = ProductFactory(sim=True)
    agents = [UserFactory(roles=["agent"]) for _ in range(WORKERS)]
    customers = [CustomerFactory() for _ in range(WORKERS)]
    tomorrow = timezone.localdate() + timedelta(days=1)

    def submit(n: int, number: str):
        return services.order_submit(
            agent=agents[n], customer=customers[n], product=product, pool_number=number,
            delivery_address="南京路1号", appointment_date=tomorrow,
        )

    return submit


def test_on_postgres():
    assert connection.vendor == "postgresql"


def test_agents_racing_for_one_number_leave_exactly_one_order_holding_it(sale):
    # given one free number and eight agents submitting an order for it at the same moment
    number = PoolNumberFactory(number="18688888888")

    def work(n):
        try:
            return sale(n, number.number).pk
        except ValidationError as exc:
            return exc.message_dict

    # when they all submit
    outcomes = run_concurrently(work, workers=WORKERS)

    # then exactly one order was taken and the number is held for it; the others were told to pick another
    won = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) == 1 and len(refused) == WORKERS - 1
    assert all(r == {"pool_number": ["Number 18688888888 is not available; pick another."]} for r in refused)
    number.refresh_from_db()
    assert (number.status, number.order_id) == (NumberStatus.RESERVED, won[0])
    # the refused submissions rolled back whole: no order without its number
    assert list(Order.objects.values_list("pk", flat=True)) == won


def test_many_agents_over_many_numbers_never_hold_a_number_twice(sale):
    # given 30 free numbers and eight agents who each try every number, in their own random order
    numbers = [PoolNumberFactory(number=f"1860000{n:04d}").number for n in range(30)]

    def work(n):
        mine = numbers[:]
        random.Random(n).shuffle(mine)
        taken = []
        for number in mine:
            try:
                taken.append((number, sale(n, number).pk))
            except ValidationError:
                pass
        return taken

    taken = [t for per_agent in run_concurrently(work, workers=WORKERS) for t in per_agent]

    # then each number went to exactly one order, and the pool agrees with the orders
    assert Counter(number for number, _order in taken) == Counter({number: 1 for number in numbers})
    by_number = Counter(Order.objects.filter(pool_number__isnull=False).values_list("pool_number__number", flat=True))
    assert set(by_number.values()) == {1} and len(by_number) == 30
    held = dict(PoolNumber.objects.values_list("number", "order_id"))
    assert held == {number: order for number, order in taken}
    assert set(PoolNumber.objects.values_list("status", flat=True)) == {NumberStatus.RESERVED}


def test_a_number_released_while_others_race_for_it_is_held_by_one_order_at_a_time(sale):
    # given a reserved number whose order is cancelled while seven agents try to take it
    number = PoolNumberFactory(number="18666666666")
    first = sale(0, number.number)
    clerk = UserFactory(roles=["back_office"])

    def work(n):
        if n == 0:
            services.order_cancel(order_id=first.pk, by=clerk, reason="changed mind")
            return "cancelled"
        for _attempt in range(1000):
            try:
                return sale(n, number.number).pk
            except ValidationError:
                holder = PoolNumber.objects.filter(pk=number.pk).values_list("order_id", flat=True).get()
                if holder not in (None, first.pk):
                    return "taken by another"
        return "gave up"

    outcomes = run_concurrently(work, workers=WORKERS)

    # then exactly one new order holds it, and the pool names that order
    won = [o for o in outcomes if isinstance(o, int)]
    assert len(won) == 1 and "gave up" not in outcomes
    number.refresh_from_db()
    assert (number.status, number.order_id) == (NumberStatus.RESERVED, won[0])
    open_orders = Order.objects.filter(pool_number=number).exclude(status="cancelled")
    assert list(open_orders.values_list("pk", flat=True)) == won


def _upload(numbers_in_file: list[str], name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("number\n" + "\n".join(numbers_in_file) + "\n").encode())


def test_two_imports_with_overlapping_numbers_running_at_once_add_each_number_once(monkeypatch, not_enqueued):
    # given two files sharing 200 of their 600 numbers each, imported at the same time in small batches
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 50)
    clerk = UserFactory(roles=["back_office"])
    shared = [f"1870000{n:04d}" for n in range(200)]
    files = [shared + [f"1871{k}00{n:04d}" for n in range(400)] for k in range(2)]
    imports = [pool_imports.number_import_start(by=clerk, upload=_upload(f, f"f{k}.csv"), language="en") for k, f in enumerate(files)]
    # and the worst timing: both have checked their first batch against the pool before either inserts it
    both_checked = threading.Barrier(2)
    first_insert = threading.local()
    bulk_create = QuerySet.bulk_create

    def insert_together(self, objs, *args, **kwargs):
        if not getattr(first_insert, "done", False):
            first_insert.done = True
            try:
                both_checked.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        return bulk_create(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", insert_together)

    results = run_concurrently(lambda n: pool_imports.number_import_run(import_id=imports[n].pk, language="en"), workers=2)

    # then every number is in the pool once, and each shared number was added by one import and refused by the other
    assert PoolNumber.objects.count() == 1000
    assert all(r.status == NumberImport.Status.DONE for r in results)
    assert sum(r.created_count for r in results) == 1000
    assert sum(r.error_count for r in results) == 200
    refused = Counter(number for r in results for _row, number, message in r.errors if message == "Already in the pool.")
    assert set(refused) == set(shared) and set(refused.values()) == {1}


def test_the_same_import_run_twice_at_once_imports_each_row_once(monkeypatch, not_enqueued):
    # given one import whose task was delivered twice, to two workers at once
    monkeypatch.setattr(pool_imports, "BATCH_SIZE", 40)
    clerk = UserFactory(roles=["back_office"])
    rows = [f"1880000{n:04d}" for n in range(400)] + ["bad"] * 10
    started = pool_imports.number_import_start(by=clerk, upload=_upload(rows, "twice.csv"), language="en")

    run_concurrently(lambda n: pool_imports.number_import_run(import_id=started.pk, language="en"), workers=4)

    # then the counts are exact: no row counted twice, no number refused as "already in the pool" by its own import
    started.refresh_from_db()
    assert (started.status, started.processed_rows, started.created_count, started.error_count) == (NumberImport.Status.DONE, 410, 400, 10)
    assert PoolNumber.objects.count() == 400
    assert [(row, number) for row, number, _message in started.errors] == [(row, "bad") for row in range(402, 412)]
