"""Reads for the channels side of the console: which channels a caller used lately and what they
asked there (the customer screen's "Recent channels" panel), and contacts per channel per hour for
the duty manager's live view."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from .dates import local_days
from .masking import mask_phone, scrub
from .models import Channel, Contact, Customer
from .registry import Panel

RECENT_DAYS = 30
# The panel reads at most this many of the customer's latest contacts: one bounded query on
# contact_customer_time_idx. A customer with more in 30 days gets counts shown as "200+".
RECENT_LIMIT = 200
ASKED_LENGTH = 40


# --- the customer screen: recent channels ---------------------------------------------------

@dataclass(frozen=True)
class ChannelActivity:
    channel: str
    count: int
    last: Contact  # the latest contact through this channel


def recent_channels(*, customer: Customer, now: datetime | None = None, days: int = RECENT_DAYS,
                    limit: int = RECENT_LIMIT) -> tuple[list[ChannelActivity], bool]:
    """Per channel the customer used in the last ``days``: how often and the latest contact,
    latest channel first; and whether ``limit`` cut the counts short."""
    now = now or timezone.now()
    contacts = list(
        Contact.objects.filter(customer=customer, started_at__gte=now - timedelta(days=days), started_at__lte=now)
        .only("channel", "service_number", "reason", "business", "outcome", "awaiting_agent", "started_at")
        .order_by("-started_at", "-id")[:limit]
    )
    counts: dict[str, int] = {}
    latest: dict[str, Contact] = {}
    for contact in contacts:  # newest first, so the first seen per channel is its latest
        counts[contact.channel] = counts.get(contact.channel, 0) + 1
        latest.setdefault(contact.channel, contact)
    return [ChannelActivity(channel, counts[channel], last) for channel, last in latest.items()], len(contacts) == limit


def _ago(at: datetime, now: datetime) -> str:
    if now - at < timedelta(minutes=1):
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(at, now, depth=1)}


def _asked(contact: Contact) -> str:
    """What the customer asked, short, with any phone or ID number in the free text masked."""
    asked = contact.reason
    if contact.business and contact.business.lower() not in contact.reason.lower():  # an SMS command's keyword is in its text
        asked = f"{asked} / {contact.business}"
    return Truncator(scrub(asked)).chars(ASKED_LENGTH)


def recent_channels_panel(customer: Customer, user) -> Panel | None:
    """The customer screen's "Recent channels": per channel the last contact's time, what was asked,
    the outcome and how many; the latest contact outside the hotline first and marked."""
    if not user.has_perm("servicedesk.view_contact"):
        return None
    now = timezone.now()
    activity, capped = recent_channels(customer=customer, now=now, limit=RECENT_LIMIT)
    elsewhere = next((a for a in activity if a.channel != Channel.HOTLINE), None)
    if elsewhere is not None:  # before answering the hotline, what they did elsewhere matters most
        activity = [elsewhere] + [a for a in activity if a is not elsewhere]
    labels = dict(Channel.choices)
    items = []
    for a in activity:
        contact = a.last
        summary = _("%(channel)s %(ago)s: %(asked)s") % {
            "channel": labels.get(a.channel, a.channel), "ago": _ago(contact.started_at, now), "asked": _asked(contact),
        }
        if contact.service_number:
            summary += f" ({mask_phone(contact.service_number)})"
        count = f"{a.count}+" if capped else str(a.count)
        summary += " · " + _("%(count)s in %(days)s days") % {"count": count, "days": RECENT_DAYS}
        if a is elsewhere:
            summary = _("Latest: %(summary)s") % {"summary": summary}
        items.append({
            "label": summary,
            "state": _("awaiting an agent") if contact.awaiting_agent else contact.get_outcome_display(),
            "channel": a.channel, "count": a.count, "at": contact.started_at, "highlight": a is elsewhere,
        })
    return Panel(key="recent_channels", title=_("Recent channels (%(days)s days)") % {"days": RECENT_DAYS}, items=items,
                 empty_text=_("No contact in the last %(days)s days.") % {"days": RECENT_DAYS}, order=5)


# --- the duty manager's live view -----------------------------------------------------------

@dataclass(frozen=True)
class HourRow:
    hour: int
    counts: list[int]  # one per channel, in the order of ``HourlyTable.channels``
    total: int


@dataclass(frozen=True)
class HourlyTable:
    day: date
    channels: list[tuple[str, str]]  # (value, label) of each column
    rows: list[HourRow]
    totals: list[int]
    total: int


def contacts_per_channel_per_hour(*, first_day: date, last_day: date, now: datetime) -> list[HourlyTable]:
    """Contacts per channel and local hour (Asia/Shanghai), one table per day from ``first_day`` to
    ``last_day``, each up to the hour of ``now``: one grouped query over the started_at range."""
    tz = timezone.get_default_timezone()
    local_now = timezone.localtime(now, tz)
    start, end = local_days(first_day, last_day)
    end = min(end, now)
    counted: dict[tuple[date, int, str], int] = {}
    if start < end:
        grouped = (
            Contact.objects.filter(started_at__gte=start, started_at__lt=end)
            .annotate(slot=TruncHour("started_at", tzinfo=tz))
            .values("slot", "channel")
            .annotate(n=Count("*"))
            .order_by()
        )
        for row in grouped:
            slot = timezone.localtime(row["slot"], tz)
            counted[(slot.date(), slot.hour, row["channel"])] = row["n"]
    channels = list(Channel.choices)
    tables = []
    day = first_day
    while day <= last_day:
        last_hour = local_now.hour if day == local_now.date() else (-1 if day > local_now.date() else 23)
        rows = []
        for hour in range(last_hour + 1):
            counts = [counted.get((day, hour, value), 0) for value, _label in channels]
            rows.append(HourRow(hour, counts, sum(counts)))
        totals = [sum(row.counts[i] for row in rows) for i in range(len(channels))]
        tables.append(HourlyTable(day, channels, rows, totals, sum(totals)))
        day += timedelta(days=1)
    return tables


@dataclass(frozen=True)
class AwaitingAgent:
    count: int
    oldest: datetime | None


def contacts_awaiting_agent() -> AwaitingAgent:
    """Self-service contacts waiting for an agent (read from the partial index contact_awaiting_idx)."""
    found = Contact.objects.filter(awaiting_agent=True).aggregate(count=Count("*"), oldest=Min("started_at"))
    return AwaitingAgent(found["count"], found["oldest"])


@dataclass(frozen=True)
class LiveView:
    now: datetime
    today: HourlyTable
    yesterday: HourlyTable
    awaiting: AwaitingAgent

    @property
    def chart(self) -> dict:
        """Totals per hour, today against yesterday, for the bar chart (the tables hold the same figures)."""
        hours = [f"{h:02d}" for h in range(24)]
        today = {row.hour: row.total for row in self.today.rows}
        return {
            "labels": hours,
            "today": [today.get(h) for h in range(24)],
            "yesterday": [row.total for row in self.yesterday.rows],
            "todayLabel": _("Today"), "yesterdayLabel": _("Yesterday"),
        }


def channels_live(*, now: datetime | None = None) -> LiveView:
    now = now or timezone.now()
    today = timezone.localdate(now, timezone.get_default_timezone())
    yesterday_table, today_table = contacts_per_channel_per_hour(first_day=today - timedelta(days=1), last_day=today, now=now)
    return LiveView(now=now, today=today_table, yesterday=yesterday_table, awaiting=contacts_awaiting_agent())
