"""Extension points for downstream apps (delivery), so that orders never imports them.

- ``acceptance_checks``: ``fn(order)`` run when back-office accepts an order, inside its
  transaction; raise ``ValidationError`` to refuse (e.g. no stock), or reserve what is needed.
- ``release_hooks``: ``fn(order)`` run when an order is rejected or cancelled, inside its
  transaction, to give back whatever was reserved for it.
"""
from collections.abc import Callable

acceptance_checks: list[Callable] = []
release_hooks: list[Callable] = []


def register_acceptance_check(fn: Callable) -> Callable:
    if fn not in acceptance_checks:
        acceptance_checks.append(fn)
    return fn


def register_release_hook(fn: Callable) -> Callable:
    if fn not in release_hooks:
        release_hooks.append(fn)
    return fn
