"""Shared fixtures, and the gates for tests that need PostgreSQL or Chromium.

Locally, tests marked ``postgres`` skip on SQLite and tests marked ``browser``
skip without Chromium, each with a clear reason. Tests marked ``redis`` skip
without REDIS_URL. CI sets REQUIRE_POSTGRES=1, REQUIRE_REDIS=1 and REQUIRE_BROWSER=1, and then a missing service fails the run instead.
"""
import os
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from servicedesk.celery import app as celery_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    need_pg = [i for i in items if i.get_closest_marker("postgres")]
    need_browser = [i for i in items if i.get_closest_marker("browser")]
    if need_pg and not _on_postgres():
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL: the locking tests would not run.")
        skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run")
        for item in need_pg:
            item.add_marker(skip)
    need_redis = [i for i in items if i.get_closest_marker("redis")]
    if need_redis and not os.environ.get("REDIS_URL"):
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise pytest.UsageError("REQUIRE_REDIS=1 but REDIS_URL is not set: the broker tests would not run.")
        skip = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://... to run")
        for item in need_redis:
            item.add_marker(skip)
    if need_browser and not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            raise pytest.UsageError(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}: install Debian's chromium package.")
        skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
        for item in need_browser:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Tasks run in-process after commit, as on the embedded defaults, whatever broker is configured."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_kpi_demo_history(monkeypatch):
    """seed_demo's KPI history is thousands of rows other demo tests don't count on; tests/kpi/test_demo.py turns it back on."""
    monkeypatch.setattr("kpi.demo.HISTORY_DAYS", 0)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Full-strength PBKDF2 costs ~0.7 s per user created; the tests do not test hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    def make(*roles, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def api_for(make_user):
    """``api_for("agent")`` -> an APIClient authenticated by token as a new user with that role."""

    def make(*roles, user=None):
        user = user or make_user(*roles)
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.user = user
        return client

    return make


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session, driven by Playwright."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


@pytest.fixture
def login(page):
    def do(username: str, password: str = "pass-1234"):
        page.goto(page.base_url + "/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(page.base_url + "/")

    return do
