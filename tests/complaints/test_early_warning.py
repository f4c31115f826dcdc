"""The early-warning scan, with time under control (every scan is given ``now``)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from complaints.models import Alert, AlertNotice, Complaint
from complaints.services.early_warning import (
    ALERT_SMS,
    alert_acknowledge,
    alert_close,
    alert_templates_load,
    early_warning_scan,
)
from complaints.tasks_warning import early_warning_scan_task
from servicedesk.fsm import TransitionRefused
from servicedesk.models import SmsMessage, SmsTemplate, StaffNotice
from tests.factories import (
    ComplaintCategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    ServiceAreaFactory,
    UserFactory,
    WarningLevelFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def ladder():
    head = UserFactory(roles=["complaint_handler"], mobile="13900000001")
    manager = UserFactory(roles=["manager"], mobile="13900000002")
    boss = UserFactory(roles=["admin"], mobile="13900000003")
    level1 = WarningLevelFactory(level=1, threshold=30, window_minutes=10, wait_minutes=30, notify_department_head=True)
    level2 = WarningLevelFactory(level=2, threshold=100, window_minutes=10, wait_minutes=30, notify_department_head=False)
    level3 = WarningLevelFactory(level=3, threshold=300, window_minutes=10, wait_minutes=60, notify_department_head=False)
    level2.recipients.add(manager)
    level3.recipients.add(boss)
    category = ComplaintCategoryFactory(name="Network outage", department=DepartmentFactory(head=head))
    alert_templates_load()
    return {"head": head, "manager": manager, "boss": boss, "category": category, "levels": (level1, level2, level3)}


def wave(category, n, *, start, minutes=5, area=None):
    """``n`` complaints of ``category`` received evenly over ``minutes`` from ``start``."""
    owner = UserFactory(roles=["agent"])
    customer = CustomerFactory()
    step = timedelta(minutes=minutes) / max(n, 1)
    Complaint.objects.bulk_create([
        Complaint(customer=customer, category=category, first_ask_owner=owner, description="No signal",
                  received_at=start + step * i, due_at=start + timedelta(hours=48), area=area)
        for i in range(n)
    ])
    return start + step * (n - 1)  # the last one received


def sms_to(number):
    return list(SmsMessage.objects.filter(to_number=number, template=ALERT_SMS).order_by("id"))


def test_below_the_threshold_nothing_is_raised(ladder):
    # given 29 complaints in 10 minutes (threshold 30)
    last = wave(ladder["category"], 29, start=T0)
    # when the scan runs
    done = early_warning_scan(now=last + timedelta(seconds=30))
    # then nothing is raised nor sent
    assert done["raised"] == 0
    assert not Alert.objects.exists()
    assert not SmsMessage.objects.exists()


def test_crossing_level_1_raises_one_alert_and_tells_the_department_head_once(ladder):
    # given 30 complaints in 5 minutes, the 30th just received
    last = wave(ladder["category"], 30, start=T0)
    # when the scan runs right after (the beat runs it every minute), and again a minute later
    first = early_warning_scan(now=last + timedelta(seconds=1))
    second = early_warning_scan(now=last + timedelta(minutes=1))
    # then one category-wide alert at level 1, told once, by SMS and in-app notice to the department head
    alert = Alert.objects.get()
    assert (alert.level, alert.status, alert.area_id, alert.count_at_raise) == (1, Alert.Status.OPEN, None, 30)
    assert first["raised"] == 1 and first["notices"] == 1 and first["sms"] == 1
    assert second["raised"] == 0 and second["notices"] == 0 and second["sms"] == 0
    assert list(AlertNotice.objects.values_list("level", "recipients")) == [(1, 1)]
    assert len(sms_to("13900000001")) == 1
    assert not sms_to("13900000002") and not sms_to("13900000003")
    assert StaffNotice.objects.filter(recipient=ladder["head"]).count() == 1


def test_sms_text_names_level_category_count_and_window(ladder, settings):
    # given a wave crossing level 1, SMS in the default language (Chinese)
    settings.SMS_DEFAULT_LANGUAGE = "zh-hans"
    last = wave(ladder["category"], 35, start=T0)
    # when scanned
    early_warning_scan(now=last + timedelta(seconds=1))
    # then the head's SMS says what, how many, and in how long
    body = sms_to("13900000001")[0].body
    assert "Network outage" in body and "35" in body and "10分钟" in body and "1级" in body and "全部区域" in body


def test_sms_in_english_when_that_is_the_default_language(ladder, settings):
    settings.SMS_DEFAULT_LANGUAGE = "en"
    last = wave(ladder["category"], 30, start=T0)
    early_warning_scan(now=last + timedelta(seconds=1))
    body = sms_to("13900000001")[0].body
    assert "30 complaints of \"Network outage\" in all areas in 10 minutes" in body


def test_a_growing_wave_climbs_to_level_2_then_3_each_told_once(ladder):
    category = ladder["category"]
    # given a wave crossing level 1
    last = wave(category, 30, start=T0, minutes=2)
    early_warning_scan(now=last + timedelta(seconds=1))
    # when it grows past 100 in the window
    last = wave(category, 80, start=T0 + timedelta(minutes=2), minutes=2)
    grown = early_warning_scan(now=last + timedelta(seconds=1))
    again = early_warning_scan(now=last + timedelta(seconds=30))
    # then level 2: the centre manager is told, once
    assert Alert.objects.get().level == 2
    assert grown["escalated"] == 1 and grown["notices"] == 1 and again["notices"] == 0
    assert len(sms_to("13900000002")) == 1 and len(sms_to("13900000001")) == 1
    # when it grows past 300
    last = wave(category, 200, start=T0 + timedelta(minutes=4), minutes=3)
    early_warning_scan(now=last + timedelta(seconds=1))
    early_warning_scan(now=last + timedelta(seconds=50))
    # then level 3: company management told once; each level has exactly one notice
    assert Alert.objects.get().level == 3
    assert sorted(AlertNotice.objects.values_list("level", flat=True)) == [1, 2, 3]
    assert len(sms_to("13900000003")) == 1 and len(sms_to("13900000002")) == 1 and len(sms_to("13900000001")) == 1


def test_a_wave_that_starts_above_level_3_tells_every_level(ladder):
    # given 500 complaints in 10 minutes before any scan saw them
    last = wave(ladder["category"], 500, start=T0, minutes=9)
    # when scanned right after
    done = early_warning_scan(now=last + timedelta(seconds=1))
    # then one alert at level 3, and all three levels told
    assert Alert.objects.get().level == 3
    assert done["raised"] == 1 and done["notices"] == 3
    assert all(len(sms_to(n)) == 1 for n in ("13900000001", "13900000002", "13900000003"))


def test_a_wave_lasting_beyond_the_wait_rises_a_level(ladder):
    category = ladder["category"]
    # given a steady wave of about 40 complaints per 10 minutes (above level 1, below level 2)
    last = wave(category, 160, start=T0, minutes=40)
    early_warning_scan(now=T0 + timedelta(minutes=10))
    assert Alert.objects.get().level == 1
    # when it is still on 29 minutes after the raise: no rise yet
    early_warning_scan(now=T0 + timedelta(minutes=39))
    assert Alert.objects.get().level == 1
    # when it is still on 30 minutes after the raise (level 1 waits 30)
    done = early_warning_scan(now=T0 + timedelta(minutes=40))
    # then level 2, its recipients told
    alert = Alert.objects.get()
    assert alert.level == 2 and done["escalated"] == 1
    assert alert.level_since == T0 + timedelta(minutes=40)
    assert len(sms_to("13900000002")) == 1
    assert last < T0 + timedelta(minutes=40)


def test_a_wave_that_died_down_does_not_rise_with_time(ladder):
    # given an alert raised, then no more complaints
    last = wave(ladder["category"], 30, start=T0)
    early_warning_scan(now=last + timedelta(seconds=1))
    # when the wait passes with the window empty
    early_warning_scan(now=T0 + timedelta(hours=2))
    # then it stays at level 1 (and still open: people close alerts)
    alert = Alert.objects.get()
    assert (alert.level, alert.status, alert.last_count) == (1, Alert.Status.OPEN, 0)


def test_per_area_alert_beside_the_category_one(ladder):
    category = ladder["category"]
    north, south = ServiceAreaFactory(name="North"), ServiceAreaFactory(name="South")
    # given 30 complaints in North and 10 in South within 10 minutes
    wave(category, 30, start=T0, area=north)
    last = wave(category, 10, start=T0 + timedelta(minutes=1), area=south)
    # when scanned
    early_warning_scan(now=last + timedelta(seconds=1))
    # then one alert for the category and one for North; none for South
    assert sorted((a.area_id or 0, a.last_count) for a in Alert.objects.all()) == [(0, 40), (north.pk, 30)]
    north_sms = [m.body for m in sms_to("13900000001") if "North" in m.body]
    assert len(north_sms) == 1


def test_acknowledge_then_close_and_refusals(ladder):
    last = wave(ladder["category"], 30, start=T0)
    early_warning_scan(now=last + timedelta(seconds=1))
    alert = Alert.objects.get()
    user = ladder["manager"]
    # when acknowledged
    alert_acknowledge(alert_id=alert.pk, user=user)
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (Alert.Status.ACKNOWLEDGED, user)
    # then a second acknowledgement is refused
    with pytest.raises(TransitionRefused):
        alert_acknowledge(alert_id=alert.pk, user=user)
    # when closed
    alert_close(alert_id=alert.pk, user=user)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_by) == (Alert.Status.CLOSED, user)
    # then closing again and acknowledging a closed one are refused
    with pytest.raises(TransitionRefused):
        alert_close(alert_id=alert.pk, user=user)
    with pytest.raises(TransitionRefused):
        alert_acknowledge(alert_id=alert.pk, user=user)


def test_closed_alert_same_wave_does_not_reraise_but_a_new_wave_does(ladder):
    category = ladder["category"]
    last = wave(category, 30, start=T0)
    early_warning_scan(now=last + timedelta(seconds=1))
    first = Alert.objects.get()
    # given the alert is closed while its complaints are still in the window
    alert_close(alert_id=first.pk, user=ladder["manager"])
    Alert.objects.filter(pk=first.pk).update(closed_at=T0 + timedelta(minutes=6))
    # when the next scan runs: the closed wave raises nothing
    assert early_warning_scan(now=T0 + timedelta(minutes=7))["raised"] == 0
    # when a new wave of 30 arrives after the close
    last = wave(category, 30, start=T0 + timedelta(minutes=8), minutes=3)
    done = early_warning_scan(now=last + timedelta(seconds=1))
    # then a new alert, told afresh
    assert done["raised"] == 1
    assert Alert.objects.filter(category=category).count() == 2
    assert Alert.objects.exclude(pk=first.pk).get().status == Alert.Status.OPEN
    assert len(sms_to("13900000001")) == 2


def test_one_live_alert_per_category_and_area_is_a_database_rule(ladder):
    Alert.objects.create(category=ladder["category"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(category=ladder["category"])


def test_head_without_mobile_gets_the_in_app_notice_only(ladder):
    ladder["head"].mobile = ""
    ladder["head"].save()
    last = wave(ladder["category"], 30, start=T0)
    done = early_warning_scan(now=last + timedelta(seconds=1))
    assert done["notices"] == 1 and done["sms"] == 0
    assert StaffNotice.objects.filter(recipient=ladder["head"]).count() == 1


def test_templates_are_loaded_when_missing(ladder):
    SmsTemplate.objects.filter(code=ALERT_SMS).delete()
    last = wave(ladder["category"], 30, start=T0)
    early_warning_scan(now=last + timedelta(seconds=1))
    assert len(sms_to("13900000001")) == 1


def test_without_a_ladder_the_scan_does_nothing(db):
    assert early_warning_scan()["raised"] == 0


def test_the_beat_task_scans_now(ladder):
    # given a wave just received (now)
    from django.utils import timezone

    now = timezone.now()
    wave(ladder["category"], 30, start=now - timedelta(minutes=5), minutes=4)
    # when the task runs
    early_warning_scan_task()
    # then it is raised
    assert Alert.objects.filter(level=1).count() == 1


def test_demo_seed_builds_the_ladder(db):
    from complaints import demo_warning
    from complaints.models import WarningLevel

    UserFactory(username="manager1")
    UserFactory(username="admin")
    demo_warning.seed(log=lambda *_: None)
    demo_warning.seed(log=lambda *_: None)
    assert list(WarningLevel.objects.values_list("level", "threshold")) == [(1, 30), (2, 100), (3, 300)]
    assert list(WarningLevel.objects.get(level=2).recipients.values_list("username", flat=True)) == ["manager1"]
    assert SmsTemplate.objects.filter(code=ALERT_SMS).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_raise_one_alert_and_tell_each_level_once(ladder):
    from tests.concurrency import run_concurrently

    # given a wave past level 2 that no scan has seen
    last = wave(ladder["category"], 120, start=T0, minutes=8)
    # when six scans run at the same moment on their own connections
    results = run_concurrently(lambda n: early_warning_scan(now=last + timedelta(seconds=1)), workers=6)
    # then one alert, raised once, each level told once, one SMS per person
    assert Alert.objects.count() == 1 and sum(r["raised"] for r in results) == 1
    assert sorted(AlertNotice.objects.values_list("level", flat=True)) == [1, 2]
    assert len(sms_to("13900000001")) == 1 and len(sms_to("13900000002")) == 1
