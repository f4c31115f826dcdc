"""Writing the rollups: one grouped query per fact source, run in the database.

For a range of days, a source's rows (kpi.facts) are grouped by day and by
each dimension in turn (GROUPING SETS on PostgreSQL; the same sets joined by
UNION ALL on SQLite) and inserted straight into ``kpi_rollup`` with one
``INSERT ... SELECT``: no fact row ever comes into Python. Recomputing a
range deletes that range's rows and inserts them again in one transaction,
under the source's row lock, so two workers never double a day and a
dashboard never sees half of one.
"""
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Case, Count, DateField, F, Q, Value, When
from django.utils import timezone

from servicedesk.models import Subscription

from .definitions import ACTIVE_SUBSCRIPTIONS, Dimension
from .facts import SOURCES, SUBSCRIPTION_DIMS, Source
from .models import RebuildJob, Rollup, RollupSource

log = logging.getLogger(__name__)

# Changes committed this long after they were stamped are still seen by the next update.
WATERMARK_MARGIN = timedelta(minutes=10)
# How far back a late change may reach; older days only change by a rebuild.
LATE_CHANGE_DAYS = 400
# How often the update recounts active subscriptions (a scan of all of them).
SNAPSHOT_REFRESH = timedelta(hours=1)
SNAPSHOT = "subscriptions_active"
ALL_SOURCES = [*SOURCES, SNAPSHOT]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


Runs = list[tuple[date, date]]


def grouped_sql(source: Source, first_day: date, last_day: date, *, runs: Runs | None = None) -> tuple[str, list]:
    """SELECT day, dimension, key, one SUM per measure, over the source's rows on those days
    (or on each of ``runs``, ranges of days, instead)."""
    rows = source.rows_on(runs or [(first_day, last_day)])
    measures = list(source.measures())
    inner, params = rows.values("kpi_day", *(f"d_{d}" for d in source.dims), *(f"m_{m}" for m in measures)).query.sql_with_params()
    sums = ", ".join(f"SUM(f.{_quote('m_' + m)}) AS {_quote(m)}" for m in measures)
    dims = [f"f.{_quote('d_' + d)}" for d in source.dims]
    if connection.vendor == "postgresql":
        label = "CASE " + " ".join(f"WHEN GROUPING({col}) = 0 THEN '{d}'" for col, d in zip(dims, source.dims, strict=True)) + " ELSE 'all' END"
        key = f"COALESCE({', '.join(dims)}, '')" if dims else "''"
        sets = ", ".join(["(f.kpi_day)", *(f"(f.kpi_day, {col})" for col in dims)])
        sql = (
            f"SELECT f.kpi_day AS day, {label} AS dimension, {key} AS {_quote('key')}, {sums} "
            f"FROM ({inner}) f GROUP BY GROUPING SETS ({sets})"
        )
        return sql, list(params)
    # SQLite has no GROUPING SETS: the same sets, one SELECT each.
    parts = [f"SELECT f.kpi_day AS day, 'all' AS dimension, '' AS {_quote('key')}, {sums} FROM ({inner}) f GROUP BY f.kpi_day"]
    for col, d in zip(dims, source.dims, strict=True):
        parts.append(f"SELECT f.kpi_day, '{d}', COALESCE({col}, ''), {sums} FROM ({inner}) f GROUP BY f.kpi_day, {col}")
    return " UNION ALL ".join(parts), list(params) * len(parts)


def _insert_rollups(source: Source, runs: Runs, *, table: str = "") -> int:
    grouped, params = grouped_sql(source, runs[0][0], runs[-1][1], runs=runs)
    table = _quote(table or Rollup._meta.db_table)
    selects = " UNION ALL ".join(
        f"SELECT g.day, '{kpi}', g.dimension, g.{_quote('key')}, g.{_quote(num)}, g.{_quote(den)} FROM g "
        f"WHERE g.{_quote(num)} <> 0 OR g.{_quote(den)} <> 0"
        for kpi, (num, den) in source.kpis.items()
    )
    sql = (
        f"WITH g AS ({grouped}) INSERT INTO {table} (day, kpi, dimension, {_quote('key')}, numerator, denominator) {selects}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Planner hints for the rest of this transaction (always the caller's: recompute or rebuild).
            # INSERT ... SELECT gets no parallel workers, and then PostgreSQL 15 tends to merge-join the facts
            # to customers through an index scan of the fact table in customer order: random reads of every
            # row (complaints_closed: 16.4 s, with hash joins 9.7 s). JIT compiling cost ~1 s per source.
            cursor.execute("SET LOCAL enable_mergejoin = off")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        if cursor.rowcount >= 0:
            return cursor.rowcount
    # SQLite does not count the rows of an INSERT that starts with WITH.
    return _rows_on(list(source.kpis), runs).count()


def _snapshot_rollups(first_day: date, last_day: date, *, table: str = "") -> int:
    """Active subscriptions on each day, in total, by area and by VIP tier: a running count by activation date.

    Which subscriptions are active is today's status (no history of closures is kept),
    so a past day counts those active now that had been activated by then. One grouped
    query: activations up to the first day count on the first day, later ones on their own."""
    area, tier = SUBSCRIPTION_DIMS[Dimension.AREA], SUBSCRIPTION_DIMS[Dimension.VIP_TIER]
    counted_on = Case(
        When(Q(activated_on__isnull=True) | Q(activated_on__lte=first_day), then=Value(first_day)),
        default=F("activated_on"), output_field=DateField(),
    )
    grouped = (
        Subscription.objects.filter(Q(activated_on__isnull=True) | Q(activated_on__lte=last_day), status=Subscription.Status.ACTIVE)
        .order_by().annotate(counted_on=counted_on).values("counted_on", area, tier).annotate(n=Count("pk"))
    )
    # (dimension, key) -> {day: activations counted on it}
    added: dict[tuple[str, str], dict[date, int]] = {}
    for row in grouped:
        for dimension, key in (("all", ""), (Dimension.AREA, row[area]), (Dimension.VIP_TIER, row[tier])):
            group = added.setdefault((dimension, "" if key is None else str(key)), {})
            group[row["counted_on"]] = group.get(row["counted_on"], 0) + row["n"]
    rows = []
    for (dimension, key), by_day in added.items():
        running, day = 0, first_day
        while day <= last_day:
            running += by_day.get(day, 0)
            if running:
                rows.append((day, ACTIVE_SUBSCRIPTIONS, dimension, key, running, running))
            day += timedelta(days=1)
    _insert_values(rows, table)
    return len(rows)


def _insert_values(rows: list[tuple], table: str = "") -> None:
    """Rollup rows (day, kpi, dimension, key, numerator, denominator) into ``table``, a thousand per statement."""
    columns = f"(day, kpi, dimension, {_quote('key')}, numerator, denominator)"
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {_quote(table or Rollup._meta.db_table)} {columns} VALUES {values}", [v for row in batch for v in row])


def _kpis_of(code: str) -> list[str]:
    return [ACTIVE_SUBSCRIPTIONS] if code == SNAPSHOT else list(SOURCES[code].kpis)


def _lock(code: str) -> RollupSource:
    RollupSource.objects.get_or_create(code=code)
    return RollupSource.objects.select_for_update().get(code=code)


def _rows_on(kpis: list[str], runs: Runs):
    days = Q()
    for first_day, last_day in runs:
        days |= Q(day__gte=first_day, day__lte=last_day)
    return Rollup.objects.filter(days, kpi__in=kpis)


def recompute(code: str, first_day: date, last_day: date) -> int:
    """Rewrite one source's rollups for a range of days; returns the rows written."""
    return recompute_runs(code, [(first_day, last_day)])


def recompute_runs(code: str, runs: Runs) -> int:
    """The same for several ranges of days at once: one DELETE and one grouped INSERT, one transaction."""
    with transaction.atomic():
        state = _lock(code)
        _rows_on(_kpis_of(code), runs).delete()
        if code == SNAPSHOT:
            written = sum(_snapshot_rollups(first, last) for first, last in runs)
        else:
            written = _insert_rollups(SOURCES[code], runs)
        state.computed_at = timezone.now()
        state.save(update_fields=["computed_at"])
    return written


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) ranges, so a week touched is one query, not seven."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def rollups_update(*, now: datetime | None = None) -> dict[str, list[tuple[date, date]]]:
    """The incremental update beat runs: today and yesterday, and every older day a late change touched."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    oldest = today - timedelta(days=LATE_CHANGE_DAYS)
    done = {}
    for code in ALL_SOURCES:
        state, _created = RollupSource.objects.get_or_create(code=code)
        if code == SNAPSHOT and _snapshot_fresh(state, now):
            done[code] = []
            continue
        days = {today, today - timedelta(days=1)}
        if code != SNAPSHOT and state.watermark is not None:
            days |= {d for d in SOURCES[code].touched_days(state.watermark - WATERMARK_MARGIN) if oldest <= d <= today}
        runs = _runs(days)
        recompute_runs(code, runs)
        RollupSource.objects.filter(code=code).update(watermark=now)
        done[code] = runs
    return done


def _snapshot_fresh(state: RollupSource, now: datetime) -> bool:
    """The stock of active subscriptions moves slowly: the update refreshes it once every SNAPSHOT_REFRESH
    (and on a new day), not every five minutes; a full scan of the subscriptions is its cost."""
    computed = state.computed_at
    return computed is not None and timezone.localdate(computed) == timezone.localdate(now) and now - computed < SNAPSHOT_REFRESH


def rebuild_steps(first_day: date, last_day: date) -> int:
    """How many steps a rebuild of that range shows: one per source, and the swap when it builds a new table."""
    return len(ALL_SOURCES) + (1 if _swaps(first_day, last_day) else 0)


def _swaps(first_day: date, last_day: date) -> bool:
    return connection.vendor == "postgresql" and (last_day - first_day).days + 1 >= settings.KPI_REBUILD_SWAP_DAYS


def rebuild(job: RebuildJob, progress: Callable[[RebuildJob], None] | None = None) -> RebuildJob:
    """Recompute every source over the job's days, one step per source, recording progress on the job.

    On PostgreSQL a long range (``KPI_REBUILD_SWAP_DAYS`` or more) is written into a new table
    without indexes, indexed once at the end and swapped in (``_rebuild_by_swap``): most of the
    rows change, and maintaining two indexes row by row cost more than the grouping itself."""
    job.status, job.started_at, job.done_steps = RebuildJob.Status.RUNNING, timezone.now(), 0
    job.total_steps = rebuild_steps(job.first_day, job.last_day)
    job.save(update_fields=["status", "started_at", "total_steps", "done_steps"])
    try:
        if _swaps(job.first_day, job.last_day):
            _rebuild_by_swap(job, progress)
        else:
            for code in ALL_SOURCES:
                _step_done(job, recompute(code, job.first_day, job.last_day), progress)
    except Exception as exc:
        log.exception("rollup rebuild %s failed", job.pk)
        job.status, job.message, job.finished_at = RebuildJob.Status.FAILED, str(exc)[:300], timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        raise
    job.status, job.finished_at = RebuildJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


def _step_done(job: RebuildJob, written: int, progress, *, reporter=None) -> None:
    job.rows_written += written
    job.done_steps += 1
    if reporter is None:
        job.save(update_fields=["done_steps", "rows_written"])
    else:
        # The build's own transaction is still open: progress goes through a connection of its own to be seen.
        with reporter.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_quote(RebuildJob._meta.db_table)} SET done_steps = %s, rows_written = %s WHERE id = %s",
                [job.done_steps, job.rows_written, job.pk],
            )
    if progress:
        progress(job)


def _rebuild_by_swap(job: RebuildJob, progress) -> None:
    """One transaction holding every source's lock (the beat's updates wait, then write to the new table):
    a new table with the rows outside the range and every source's rows inside it, no index while it
    fills; then kpi_rollup's own constraints and indexes are built on it (one sort each), it replaces
    kpi_rollup under the same names, and is analyzed. Readers see the old table until the commit and
    are held only for the swap itself; a failure anywhere rolls everything back."""
    table = Rollup._meta.db_table
    building = f"{table}_rebuild"
    columns = f"day, kpi, dimension, {_quote('key')}, numerator, denominator"
    reporter = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with transaction.atomic():
            for code in ALL_SOURCES:
                _lock(code)
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TABLE {_quote(building)} (LIKE {_quote(table)} INCLUDING DEFAULTS INCLUDING IDENTITY)")
                # Every day with rows has rows of the whole centre (dimension "all"): their first and last day,
                # an index range, tell whether any row lies outside the range without reading the table.
                cursor.execute(
                    f"SELECT min(day), max(day) FROM {_quote(table)} WHERE dimension = %s AND {_quote('key')} = ''", [Dimension.ALL],
                )
                oldest, newest = cursor.fetchone()
                if oldest is not None and (oldest < job.first_day or newest > job.last_day):
                    cursor.execute(
                        f"INSERT INTO {_quote(building)} ({columns}) SELECT {columns} FROM {_quote(table)} WHERE day < %s OR day > %s",
                        [job.first_day, job.last_day],
                    )
            for code in ALL_SOURCES:
                if code == SNAPSHOT:
                    written = _snapshot_rollups(job.first_day, job.last_day, table=building)
                else:
                    written = _insert_rollups(SOURCES[code], [(job.first_day, job.last_day)], table=building)
                _step_done(job, written, progress, reporter=reporter)
            _swap(building, table)
            RollupSource.objects.filter(code__in=ALL_SOURCES).update(computed_at=timezone.now())
        job.done_steps += 1
        job.save(update_fields=["done_steps", "rows_written"])
        if progress:
            progress(job)
    finally:
        reporter.close()


def _swap(building: str, table: str) -> None:
    """Give ``building`` the constraints and indexes ``table`` has, read from the catalogue (so a later
    migration's index comes along), then drop ``table`` and take its name and theirs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'c', 'x')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')", [table, building])
        old_sequence, new_sequence = cursor.fetchone()
        temporary = {name: f"rebuild_{name}"[:63] for name, _definition in [*constraints, *indexes]}
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {_quote(building)} ADD CONSTRAINT {_quote(temporary[name])} {definition}")
        for name, definition in indexes:
            # "CREATE INDEX name ON public.kpi_rollup USING ..." -> the same on the new table, under a temporary name
            head, tail = definition.split(" ON ", 1)
            tail = tail.split(" USING ", 1)[1]
            kind = head.rsplit(" ", 1)[0]
            cursor.execute(f"{kind} {_quote(temporary[name])} ON {_quote(building)} USING {tail}")
        cursor.execute(f"DROP TABLE {_quote(table)}")
        cursor.execute(f"ALTER TABLE {_quote(building)} RENAME TO {_quote(table)}")
        for name, _definition in constraints:
            cursor.execute(f"ALTER TABLE {_quote(table)} RENAME CONSTRAINT {_quote(temporary[name])} TO {_quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"ALTER INDEX {_quote(temporary[name])} RENAME TO {_quote(name)}")
        if old_sequence and new_sequence:
            cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {_quote(old_sequence.rsplit('.', 1)[-1].strip(chr(34)))}")
        cursor.execute(f"ANALYZE {_quote(table)}")
