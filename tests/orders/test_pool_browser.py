"""The number pool in real Chromium: uploading a file, and the import page following a running import."""
import os

import pytest

from orders.models import NumberImport, PoolNumber
from tests.factories import PoolNumberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("POOL_SCREENSHOTS", "")  # a folder: save screenshots there, to look at the pages


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_clerk_uploads_a_file_and_sees_the_refused_rows(page, login, tmp_path):
    # given a back-office clerk and a file with one good row and two bad ones
    UserFactory(username="clerk1", roles=["back_office"])
    PoolNumberFactory(number="18600000002")
    upload = tmp_path / "numbers.csv"
    upload.write_text("number,class,fee,note\n18600008888,,,\n18600000002,,,\n1860000,,,\n", encoding="utf-8")
    login("clerk1")

    # when the clerk goes from the pool to the import page and uploads it
    page.click("nav >> text=Number pool")
    shot(page, "pool-list-empty")
    page.click("text=Import from a file")
    page.set_input_files("#id_file", str(upload))
    page.click("text=Upload and import")

    # then the status page lists each refused row with its reason, and the good row is in the pool
    page.wait_for_selector("text=1 added, 2 refused.")
    shot(page, "pool-import-done")
    table = page.locator("table.import-errors").inner_text()
    assert "Already in the pool." in table and "1860000" in table
    assert PoolNumber.objects.filter(number="18600008888", number_class="lucky").exists()
    page.goto(page.base_url + "/numbers/")
    shot(page, "pool-list")
    page.click("text=18600008888")
    shot(page, "pool-edit")


def test_the_status_page_follows_a_running_import_until_it_is_done(page, login):
    # given an import a worker is running, a quarter through
    clerk = UserFactory(username="clerk2", roles=["back_office"])
    running = NumberImport.objects.create(
        file_name="big.xlsx", created_by=clerk, status=NumberImport.Status.RUNNING, total_rows=4000, processed_rows=1000, created_count=990, error_count=10,
        errors=[[2 + n, "bad", "Enter an 11-digit mobile number or a fixed line with its area code."] for n in range(10)],
    )
    login("clerk2")
    page.goto(page.base_url + f"/numbers/imports/{running.pk}/")
    assert "1000 of 4000 rows" in page.locator("#import-progress").inner_text()
    shot(page, "pool-import-running")

    # when the worker moves on, then the page shows it without a reload
    NumberImport.objects.filter(pk=running.pk).update(processed_rows=3000, created_count=2980, error_count=20)
    page.wait_for_selector("#import-progress >> text=3000 of 4000 rows")

    # and when it finishes, the page shows the result and stops asking
    NumberImport.objects.filter(pk=running.pk).update(status=NumberImport.Status.DONE, processed_rows=4000, created_count=3970, error_count=30)
    page.wait_for_selector("#import-progress >> text=3970 added, 30 refused.")
    assert "Done" in page.locator("#import-progress").inner_text()
    assert page.locator("#import-progress[hx-trigger]").count() == 0
