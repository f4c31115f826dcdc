"""What each app contributes to the customer screen, without the core importing it.

Apps register from ``AppConfig.ready()``:
- a *panel* function ``(customer, user) -> Panel | None`` (open orders, shipments, complaints);
- a *timeline source* ``(customer, user, limit) -> list[TimelineEntry]``, newest first;
- a *customer action* ``(customer, user) -> CustomerAction | None``: a button on the customer
  screen leading to the app's page (sell, open a complaint); ``None`` when the user's role may not.
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


@dataclass(frozen=True)
class CustomerAction:
    """A button on the customer screen. The screen adds ``?number=<the number called about>``
    to ``url`` when there is one, so ``url`` carries no query string of its own."""

    key: str
    label: str
    url: str
    shortcut: str = ""  # a single key that focuses the button (see console.js)
    order: int = 100


PanelFn = Callable[[Any, Any], Panel | None]
TimelineFn = Callable[[Any, Any, int], list[TimelineEntry]]
ActionFn = Callable[[Any, Any], CustomerAction | None]

_panels: list[PanelFn] = []
_timeline_sources: list[TimelineFn] = []
_customer_actions: list[ActionFn] = []


def register_panel(fn: PanelFn) -> PanelFn:
    if fn not in _panels:
        _panels.append(fn)
    return fn


def register_timeline_source(fn: TimelineFn) -> TimelineFn:
    if fn not in _timeline_sources:
        _timeline_sources.append(fn)
    return fn


def register_customer_action(fn: ActionFn) -> ActionFn:
    if fn not in _customer_actions:
        _customer_actions.append(fn)
    return fn


def customer_actions_for(customer, user) -> list[CustomerAction]:
    found = [a for a in (fn(customer, user) for fn in _customer_actions) if a is not None]
    return sorted(found, key=lambda a: a.order)


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
