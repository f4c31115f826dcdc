"""The orders tests exercise the orders app on its own.

The delivery app plugs stock reservation into acceptance through ``orders.hooks``;
here those hooks are set aside (each test that needs a hook registers its own), and
tests/delivery covers acceptance with real stock."""
import pytest

from orders import hooks


@pytest.fixture(autouse=True)
def _orders_without_downstream_hooks(monkeypatch):
    monkeypatch.setattr(hooks, "acceptance_checks", [])
    monkeypatch.setattr(hooks, "release_hooks", [])
