"""A full rebuild of the rollups for a range of days: one command or one task, its progress on a RebuildJob."""
import re
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from kpi import rollups
from kpi.definitions import KPIS
from kpi.facts import dimensions_of
from kpi.models import RebuildJob, Rollup
from kpi.services import rebuild_request
from kpi.tasks import rollups_rebuild
from tests.kpi.generate import CENTRE_DAY, ROLLUP_FIRST, ROLLUP_LAST, by_hand, load_facts, rollup_rows, values

pytestmark = pytest.mark.django_db

STEPS = len(rollups.ALL_SOURCES)


def _mismatches(first: date, last: date) -> list:
    facts = load_facts()
    return [
        (code, dimension)
        for code in KPIS for dimension in dimensions_of(code)
        if values(code, first, last, dimension) != by_hand(facts, code, first, last, dimension)
    ]


def test_the_command_rebuilds_a_range_showing_progress_and_writes_the_counts_by_hand(world):
    # given the world without rollups
    out = StringIO()

    # when the rebuild command runs over its days
    call_command("kpi_rebuild", "--from", str(ROLLUP_FIRST), "--to", str(ROLLUP_LAST), stdout=out)

    # then it told what it does, one line per source with a rising percentage, and how many rows it wrote
    lines = out.getvalue().splitlines()
    assert lines[0] == f"rebuilding {ROLLUP_FIRST}..{ROLLUP_LAST}"
    progress = [re.fullmatch(r"  (\d+)/(\d+) steps, (\d+) rows \((\d+) %\)", line) for line in lines[1:-1]]
    assert all(progress) and len(progress) == STEPS
    assert [(int(m[1]), int(m[2])) for m in progress] == [(n, STEPS) for n in range(1, STEPS + 1)]
    assert [int(m[4]) for m in progress] == sorted(int(m[4]) for m in progress) and progress[-1][4] == "100"
    assert re.fullmatch(rf"done: {Rollup.objects.count()} rows in [\d.]+ s", lines[-1])
    # and its job recorded the steps, the rows and the end
    job = RebuildJob.objects.get()
    assert (job.status, job.total_steps, job.done_steps, job.rows_written, job.percent) == (
        RebuildJob.Status.DONE, STEPS, STEPS, Rollup.objects.count(), 100,
    )
    assert job.started_at <= job.finished_at
    # and every KPI, in every grouping, is the count by hand, over all the days and over one
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []
    assert _mismatches(CENTRE_DAY, CENTRE_DAY) == []


def test_a_rebuild_rewrites_its_days_and_only_those(world):
    # given stale rollups inside the range and a row of a day after it
    inside = Rollup.objects.create(day=CENTRE_DAY, kpi="fcr", dimension="agent", key="999999", numerator=5, denominator=9)
    after = Rollup.objects.create(day=ROLLUP_LAST + timedelta(days=30), kpi="fcr", dimension="all", key="", numerator=1, denominator=2)

    # when the range is rebuilt
    call_command("kpi_rebuild", "--from", str(ROLLUP_FIRST), "--to", str(ROLLUP_LAST), stdout=StringIO())

    # then the stale row is gone, the day outside is as it was, and the range is the count by hand
    assert not Rollup.objects.filter(pk=inside.pk).exists()
    assert Rollup.objects.filter(pk=after.pk, numerator=1, denominator=2).exists()
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []


def test_the_command_refuses_a_range_that_ends_before_it_starts(db):
    with pytest.raises(CommandError, match="before"):
        call_command("kpi_rebuild", "--from", "2025-03-10", "--to", "2025-03-09", stdout=StringIO())
    assert not RebuildJob.objects.exists()


def test_the_command_can_hand_the_rebuild_to_a_worker(world, django_capture_on_commit_callbacks):
    # when the command queues the rebuild (tasks run in-process after commit here)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("kpi_rebuild", "--from", str(ROLLUP_FIRST), "--to", str(ROLLUP_LAST), "--queue", stdout=out)

    # then it said so, and the worker did it
    job = RebuildJob.objects.get()
    assert f"rebuild {job.pk} queued for {ROLLUP_FIRST}..{ROLLUP_LAST}" in out.getvalue()
    assert (job.status, job.done_steps) == (RebuildJob.Status.DONE, STEPS)
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []


# --- Asking for a rebuild (kpi.services) and the task --------------------------------------------------

@pytest.mark.parametrize(("first", "last", "field"), [
    (date(2025, 3, 10), date(2025, 3, 9), "last_day"),
    (date(2015, 1, 1), date(2025, 3, 9), "first_day"),     # more than ten years at once
])
def test_a_rebuild_request_is_refused_for_a_bad_range(make_user, first, last, field):
    with pytest.raises(ValidationError) as refused:
        rebuild_request(first_day=first, last_day=last, by=make_user("manager"))
    assert field in refused.value.message_dict
    assert not RebuildJob.objects.exists()


@pytest.mark.parametrize("role", ["agent", "complaint_handler", "area_manager", "api_client"])
def test_a_role_that_may_not_rebuild_is_refused(make_user, role):
    with pytest.raises(PermissionDenied):
        rebuild_request(first_day=CENTRE_DAY, last_day=CENTRE_DAY, by=make_user(role))
    assert not RebuildJob.objects.exists()


def test_a_managers_rebuild_request_queues_one_task_that_does_the_whole_range(world, make_user, django_capture_on_commit_callbacks):
    # when a manager asks for a rebuild (the task runs in-process once the request commits)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        job = rebuild_request(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST, by=make_user("manager"))

    # then one task ran it to the end, and the rollups are the counts by hand
    assert len(queued) == 1
    job.refresh_from_db()
    assert (job.status, job.total_steps, job.done_steps, job.rows_written) == (RebuildJob.Status.DONE, STEPS, STEPS, Rollup.objects.count())
    assert _mismatches(ROLLUP_FIRST, ROLLUP_LAST) == []


def test_a_second_delivery_of_the_same_rebuild_task_does_nothing(world, make_user, django_capture_on_commit_callbacks):
    # given a rebuild done
    with django_capture_on_commit_callbacks(execute=True):
        job = rebuild_request(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST, by=make_user("manager"))
    job.refresh_from_db()
    rows, ids = rollup_rows(), set(Rollup.objects.values_list("pk", flat=True))

    # when the broker delivers its task again
    result = rollups_rebuild.delay(job.pk).get()

    # then nothing is rewritten and the job is as it was
    assert result is None
    assert (rollup_rows(), set(Rollup.objects.values_list("pk", flat=True))) == (rows, ids)
    again = RebuildJob.objects.get(pk=job.pk)
    assert (again.status, again.finished_at, again.rows_written) == (job.status, job.finished_at, job.rows_written)


def test_a_rebuild_another_worker_is_running_is_not_started_twice(db):
    # given a job a worker has started
    job = RebuildJob.objects.create(first_day=CENTRE_DAY, last_day=CENTRE_DAY, status=RebuildJob.Status.RUNNING)

    # when its task is delivered again, or an unknown job's
    assert rollups_rebuild.delay(job.pk).get() is None
    assert rollups_rebuild.delay(job.pk + 1000).get() is None

    # then nothing was done
    job.refresh_from_db()
    assert (job.status, job.done_steps, job.started_at) == (RebuildJob.Status.RUNNING, 0, None)
    assert not Rollup.objects.exists()


def test_a_failed_rebuild_says_where_it_stopped(world, monkeypatch):
    # given a database error on the third source
    real = rollups.recompute
    failing = rollups.ALL_SOURCES[2]

    def recompute(code, first, last):
        if code == failing:
            raise RuntimeError("disk full")
        return real(code, first, last)

    monkeypatch.setattr(rollups, "recompute", recompute)
    job = RebuildJob.objects.create(first_day=ROLLUP_FIRST, last_day=ROLLUP_LAST)

    # when the task runs it
    with pytest.raises(RuntimeError):
        rollups_rebuild(job.pk)

    # then the job failed after two steps, saying why
    job.refresh_from_db()
    assert (job.status, job.done_steps, job.total_steps, job.message) == (RebuildJob.Status.FAILED, 2, STEPS, "disk full")
    assert job.finished_at is not None
