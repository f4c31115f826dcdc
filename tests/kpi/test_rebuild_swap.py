"""A long rebuild on PostgreSQL: the rollups are written into a new table, indexed once and swapped in
under kpi_rollup's own names, in one transaction that holds every source's lock."""
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from kpi import rollups
from kpi.definitions import KPIS
from kpi.facts import dimensions_of
from kpi.models import RebuildJob, Rollup
from kpi.tasks import rollups_rebuild
from tests.concurrency import run_concurrently
from tests.kpi.generate import (
    CENTRE_DAY, LAST_DAY, ROLLUP_FIRST, ROLLUP_LAST, SEED, by_hand, generate, load_facts, local, rollup_rows, values,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STEPS = len(rollups.ALL_SOURCES) + 1  # every source, then the swap


@pytest.fixture(autouse=True)
def swap_every_rebuild(settings):
    # The world spans 24 days; below the default threshold a rebuild rewrites in place.
    settings.KPI_REBUILD_SWAP_DAYS = 2


def _mismatches(first, last) -> list:
    facts = load_facts()
    return [
        (code, dimension)
        for code in KPIS for dimension in dimensions_of(code)
        if values(code, first, last, dimension) != by_hand(facts, code, first, last, dimension)
    ]


def _schema() -> tuple[dict, str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Rollup._meta.db_table)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Rollup._meta.db_table])
        sequence = cursor.fetchone()[0]
    shapes = {name: (c["columns"], c["unique"], c["primary_key"], c["index"]) for name, c in constraints.items()}
    return shapes, sequence


def test_a_long_rebuild_swaps_in_a_new_table_with_the_same_rows_and_names():
    # given the world, stale rows inside the range and a row of a day after it
    generate(SEED)
    schema_before = _schema()
    Rollup.objects.create(day=CENTRE_DAY, kpi="fcr", dimension="agent", key="999999", numerator=5, denominator=9)
    after = Rollup.objects.create(day=ROLLUP_LAST + timedelta(days=3), kpi="fcr", dimension="all", key="", numerator=2, denominator=3)
    job = RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST)

    # when the rebuild runs, reporting its progress
    seen = []
    rollups.rebuild(job, lambda job: seen.append((job.done_steps, job.total_steps)))

    # then it went source by source and then swapped
    assert seen == [(n, STEPS) for n in range(1, STEPS + 1)]
    job.refresh_from_db()
    assert (job.status, job.done_steps, job.total_steps) == (RebuildJob.Status.DONE, STEPS, STEPS)
    # and every KPI in every grouping is the count by hand; the stale row is gone, the day outside kept
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []
    assert not Rollup.objects.filter(key="999999").exists()
    assert Rollup.objects.filter(day=after.day, kpi="fcr", dimension="all", numerator=2, denominator=3).exists()
    assert job.rows_written == Rollup.objects.count() - 1
    # and the table has kpi_rollup's constraints, indexes and identity under their own names
    assert _schema() == schema_before
    assert "rollup_one_row_per_group_day" in schema_before[0] and "rollup_group_idx" in schema_before[0]
    assert schema_before[1] == "public.kpi_rollup_id_seq"
    # which still work: a new row gets an id, a second row for the same group and day is refused
    added = Rollup.objects.create(day=LAST_DAY + timedelta(days=30), kpi="fcr", dimension="all", key="", numerator=1, denominator=1)
    assert added.pk is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Rollup.objects.create(day=added.day, kpi="fcr", dimension="all", key="", numerator=1, denominator=1)


def test_a_rebuild_that_fails_leaves_the_old_rollups_and_no_half_built_table(monkeypatch):
    # given the world rolled up by a first rebuild
    generate(SEED)
    rollups.rebuild(RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST))
    before = rollup_rows()
    real = rollups._insert_rollups
    failing = rollups.ALL_SOURCES[2]

    def insert(source, runs, *, table=""):
        if source.code == failing:
            raise RuntimeError("disk full")
        return real(source, runs, table=table)

    monkeypatch.setattr(rollups, "_insert_rollups", insert)
    job = RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST)

    # when a second rebuild fails on the third source
    with pytest.raises(RuntimeError):
        rollups_rebuild(job.pk)

    # then the job says where it stopped, and the rollups are those of before, in the same table
    job.refresh_from_db()
    assert (job.status, job.done_steps, job.total_steps, job.message) == (RebuildJob.Status.FAILED, 2, STEPS, "disk full")
    assert rollup_rows() == before
    assert "kpi_rollup_rebuild" not in connection.introspection.table_names()


def test_a_beat_update_during_a_rebuild_waits_and_writes_to_the_new_table():
    # given the world rolled up, and beat's update run once on its last day
    generate(SEED)
    rollups.rebuild(RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST))
    now = local(LAST_DAY, 18)
    rollups.rollups_update(now=now)
    job = RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST)

    # when a rebuild and beat's next update run at the same moment
    def work(n):
        if n == 0:
            return rollups.rebuild(RebuildJob.objects.get(pk=job.pk)).status
        return rollups.rollups_update(now=now + timedelta(minutes=5)) and "updated"

    assert sorted(run_concurrently(work, workers=2)) == [RebuildJob.Status.DONE, "updated"]

    # then every row is there once, in the swapped-in table, and equal to the count by hand
    rows = Rollup.objects.all()
    assert rows.count() == len(set(rows.values_list("kpi", "dimension", "day", "key")))
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []
