"""What each app contributes to the customer screen, without the core importing it.

Apps register from ``AppConfig.ready()``:
- a *panel* function ``(customer, user) -> Panel | None`` (open orders, shipments, complaints);
- a *timeline source* ``(customer, user, limit) -> list[TimelineEntry]``, newest first.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "contact", "order", "shipment", "complaint", ...
    title: str
    detail: str = ""
    channel: str = ""  # channel label, where the entry came in through one
    actor: str = ""
    url: str = ""
    badge: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    items: list[dict[str, Any]]
    empty_text: str = ""
    order: int = 100


PanelFn = Callable[[Any, Any], Panel | None]
TimelineFn = Callable[[Any, Any, int], list[TimelineEntry]]

_panels: list[PanelFn] = []
_timeline_sources: list[TimelineFn] = []


def register_panel(fn: PanelFn) -> PanelFn:
    if fn not in _panels:
        _panels.append(fn)
    return fn


def register_timeline_source(fn: TimelineFn) -> TimelineFn:
    if fn not in _timeline_sources:
        _timeline_sources.append(fn)
    return fn


def panels_for(customer, user) -> list[Panel]:
    found = [p for p in (fn(customer, user) for fn in _panels) if p is not None]
    return sorted(found, key=lambda p: p.order)


def timeline_for(customer, user, *, limit: int) -> list[TimelineEntry]:
    """The newest ``limit`` entries over every source, merged newest first."""
    entries: list[TimelineEntry] = []
    for source in _timeline_sources:
        entries.extend(source(customer, user, limit))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
