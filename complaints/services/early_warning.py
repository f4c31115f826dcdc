"""Early warning: a wave of complaints of one kind (and area) raises an alert that climbs a ladder.

``early_warning_scan`` runs every minute (``complaints.tasks_warning``). For each window size of
the ladder it counts the complaints received in that sliding window, grouped by category and by
(category, area), in one grouped query each, on the indexes ``complaint_category_time_idx`` and
``complaint_cat_area_time_idx``; no complaint row is ever loaded.

- A count at or above level 1's threshold raises an alert (one live alert per category and area,
  a database constraint; a scan that loses the race to create it takes the winner's row).
- The alert rises to the highest level whose threshold its window count reaches, and one level
  further each time it stays above level 1's threshold (the wave goes on) for longer than the
  current level's ``wait_minutes``.
- Each level is told once (``AlertNotice`` unique per alert and level): the category's department
  head for levels with ``notify_department_head``, plus the level's recipients, by SMS and by an
  in-app notice.
- People acknowledge and close alerts; a closed alert lets the next wave raise a new one.
"""
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from servicedesk.fsm import TransitionRefused
from servicedesk.notices import staff_notice
from servicedesk.sms import SmsTemplateMissing, register_template_placeholders, sms_send, sms_templates_load

from ..models import Alert, AlertNotice, Complaint, ComplaintCategory, WarningLevel

ALERT_SMS = "complaints.alert"

PLACEHOLDERS = {
    ALERT_SMS: {
        "level": "ladder level (1, 2, 3)", "level_name": "name of the level", "category": "complaint category",
        "area": "service area (or all areas)", "count": "complaints in the window", "window": "window (minutes)",
        "raised": "when the alert was raised",
    },
}

# code -> (when it is sent, {language: text})
DEFAULT_TEMPLATES = {
    ALERT_SMS: (
        "Early warning: a wave of complaints of one kind reached a level of the ladder",
        {
            "zh-hans": (
                "【客服预警】{level_name}（{level}级）：{area}“{category}”类投诉{window}分钟内已达{count}件，"
                "预警于{raised}发出。请立即组织处理，并在系统中确认。"
            ),
            "en": (
                "[Service desk warning] {level_name} (level {level}): {count} complaints of \"{category}\" in {area} "
                "in {window} minutes; alert raised {raised}. Please act now and acknowledge it in the system."
            ),
        },
    ),
}
ALL_AREAS = {"zh-hans": "全部区域", "en": "all areas"}

LIVE = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)


def alert_templates_load(*, overwrite: bool = False) -> int:
    """Write the default texts; an existing (possibly edited) text stays unless ``overwrite``."""
    return sms_templates_load(DEFAULT_TEMPLATES, overwrite=overwrite)


# --- The scan ---------------------------------------------------------------------------------

Key = tuple[int, int | None]  # (category id, area id or None for all areas)


def _window_counts(*, minutes: int, now: datetime) -> dict[Key, int]:
    """Complaints received in (now - minutes, now], by category and by (category, area): two grouped queries."""
    received = Complaint.objects.filter(received_at__gt=now - timedelta(minutes=minutes), received_at__lte=now)
    counts: dict[Key, int] = {}
    for row in received.order_by().values("category_id").annotate(n=Count("id")):
        counts[(row["category_id"], None)] = row["n"]
    for row in received.filter(area__isnull=False).order_by().values("category_id", "area_id").annotate(n=Count("id")):
        counts[(row["category_id"], row["area_id"])] = row["n"]
    return counts


def _count_since(*, key: Key, since: datetime, now: datetime) -> int:
    category_id, area_id = key
    received = Complaint.objects.filter(category_id=category_id, received_at__gt=since, received_at__lte=now)
    return (received.filter(area_id=area_id) if area_id is not None else received).count()


def early_warning_scan(*, now: datetime | None = None) -> dict:
    """Raise, escalate and notify; returns what it did. Idempotent: a second scan at the same moment does nothing new."""
    now = now or timezone.now()
    levels = list(WarningLevel.objects.order_by("level").prefetch_related("recipients"))
    done = {"raised": 0, "escalated": 0, "notices": 0, "sms": 0, "live": 0}
    if not levels:
        return done
    counts_by_window = {minutes: _window_counts(minutes=minutes, now=now) for minutes in {lv.window_minutes for lv in levels}}

    live = set(Alert.objects.filter(status__in=LIVE).values_list("category_id", "area_id"))
    keys = set(live)
    for level in levels:
        keys.update(k for k, n in counts_by_window[level.window_minutes].items() if n >= level.threshold)
    # A wave whose alert was closed within the longest window is still in the counts: only complaints
    # received after the close count towards a new alert (a few indexed counts, for those keys only).
    longest = max(lv.window_minutes for lv in levels)
    recent = Alert.objects.filter(status=Alert.Status.CLOSED, closed_at__gt=now - timedelta(minutes=longest), closed_at__lte=now)
    closed_recently = {(c, a): t for c, a, t in recent.order_by("closed_at").values_list("category_id", "area_id", "closed_at")}

    for key in sorted(keys, key=lambda k: (k[0], k[1] or 0)):
        if key in live or key not in closed_recently:
            n = {lv.level: counts_by_window[lv.window_minutes].get(key, 0) for lv in levels}
        else:
            n = {lv.level: _count_since(key=key, since=max(now - timedelta(minutes=lv.window_minutes), closed_recently[key]), now=now)
                 for lv in levels}
        reached = max((lv.level for lv in levels if n[lv.level] >= lv.threshold), default=0)
        if key not in live and reached == 0:
            continue
        first = levels[0]
        outcome = _alert_step(key=key, reached=reached, wave_on=n[first.level] >= first.threshold,
                              last_count=n[first.level], levels=levels, now=now)
        for name, value in outcome.items():
            done[name] += value
    done["live"] = Alert.objects.filter(status__in=LIVE).count()
    return done


def _alert_step(*, key: Key, reached: int, wave_on: bool, last_count: int, levels: list[WarningLevel], now: datetime) -> dict:
    """One category (and area): raise or move its live alert, then tell the levels not told yet. Own transaction."""
    category_id, area_id = key
    outcome = {"raised": 0, "escalated": 0, "notices": 0, "sms": 0}
    by_level = {lv.level: lv for lv in levels}
    top = levels[-1].level
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(category_id=category_id, area_id=area_id, status__in=LIVE).first()
        if alert is None:
            if reached == 0:
                return outcome
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(category_id=category_id, area_id=area_id, level=reached, count_at_raise=last_count,
                                                 last_count=last_count, raised_at=now, level_since=now)
                outcome["raised"] = 1
            except IntegrityError:  # another scan raised it a moment ago: go on with its alert
                alert = Alert.objects.select_for_update().get(category_id=category_id, area_id=area_id, status__in=LIVE)
        else:
            new_level = alert.level
            if reached > new_level:
                new_level = reached
            else:
                current = by_level.get(alert.level)
                if (wave_on and current is not None and alert.level < top
                        and now - alert.level_since >= timedelta(minutes=current.wait_minutes)):
                    new_level = min(lv.level for lv in levels if lv.level > alert.level)
            fields = ["last_count"]
            alert.last_count = last_count
            if new_level > alert.level:
                alert.level, alert.level_since = new_level, now
                fields += ["level", "level_since"]
                outcome["escalated"] = 1
            alert.save(update_fields=fields)
        for level in levels:
            if level.level > alert.level:
                break
            told, sms = _tell_level(alert=alert, level=level, count=last_count, now=now)
            outcome["notices"] += told
            outcome["sms"] += sms
    return outcome


def _level_recipients(*, alert: Alert, level: WarningLevel) -> list:
    people = {}
    if level.notify_department_head:
        head = ComplaintCategory.objects.select_related("department__head").get(pk=alert.category_id).department.head
        if head is not None and head.is_active:
            people[head.pk] = head
    for user in level.recipients.all():
        if user.is_active:
            people[user.pk] = user
    return list(people.values())


def _tell_level(*, alert: Alert, level: WarningLevel, count: int, now: datetime) -> tuple[int, int]:
    """Tell a level of an alert once: the AlertNotice row is the proof it was sent."""
    try:
        with transaction.atomic():
            notice = AlertNotice.objects.create(alert=alert, level=level.level, sent_at=now)
    except IntegrityError:  # already told (by this scan's predecessor or a concurrent one)
        return 0, 0
    alert = Alert.objects.select_related("category", "area").get(pk=alert.pk)
    people = _level_recipients(alert=alert, level=level)
    language = settings.SMS_DEFAULT_LANGUAGE
    context = {
        "level": level.level, "level_name": level.name, "category": alert.category.name,
        "area": alert.area.name if alert.area_id else ALL_AREAS.get(language, ALL_AREAS["en"]),
        "count": count, "window": level.window_minutes,
        "raised": timezone.localtime(alert.raised_at).strftime("%Y-%m-%d %H:%M"),
    }
    sent = 0
    for person in people:
        if not person.mobile:
            continue
        try:
            _send(person=person, alert=alert, level=level, context=context, language=language)
        except ValueError:  # not a usable number: the in-app notice still reaches them
            continue
        sent += 1
    with override(language):
        text = _("Early warning, level %(level)s: %(count)s complaints of “%(category)s” (%(area)s) in %(window)s minutes.") % context
    staff_notice(recipients=people, key=f"complaints.alert:{alert.pk}:{level.level}", text=text, url=reverse("complaints:alerts"))
    notice.recipients = len(people)
    notice.save(update_fields=["recipients"])
    return 1, sent


def _send(*, person, alert: Alert, level: WarningLevel, context: dict, language: str) -> None:
    key = f"complaints.alert:{alert.pk}:{level.level}:{person.pk}"
    try:
        sms_send(to_number=person.mobile, template=ALERT_SMS, context=context, language=language, key=key)
    except SmsTemplateMissing:  # a fresh database: load the default texts and send
        alert_templates_load()
        sms_send(to_number=person.mobile, template=ALERT_SMS, context=context, language=language, key=key)


# --- People acknowledge and close -------------------------------------------------------------

def _locked(alert_id: int) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert_id)


@transaction.atomic
def alert_acknowledge(*, alert_id: int, user) -> Alert:
    """Someone responsible has seen the alert and is acting on it. Only an open alert can be acknowledged."""
    alert = _locked(alert_id)
    if alert.status != Alert.Status.OPEN:
        raise TransitionRefused(_("Only an open alert can be acknowledged; this one is %(status)s.") % {"status": alert.get_status_display()},
                                allowed=[Alert.Status.CLOSED] if alert.status == Alert.Status.ACKNOWLEDGED else [], current=alert.status)
    alert.status, alert.acknowledged_by, alert.acknowledged_at = Alert.Status.ACKNOWLEDGED, user, timezone.now()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    return alert


@transaction.atomic
def alert_close(*, alert_id: int, user) -> Alert:
    """The wave is over or handled; the next wave of this category and area raises a new alert."""
    alert = _locked(alert_id)
    if alert.status == Alert.Status.CLOSED:
        raise TransitionRefused(_("This alert is already closed."), allowed=[], current=alert.status)
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user, now
    alert.status, alert.closed_by, alert.closed_at = Alert.Status.CLOSED, user, now
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "closed_by", "closed_at"])
    return alert


def register() -> None:
    """Hooks into the customer screen etc.; called from ComplaintsConfig.ready()."""
    for code, placeholders in PLACEHOLDERS.items():
        register_template_placeholders(code, placeholders)
