"""The alert pages: who may see and act, and what bad input gets."""
import pytest
from django.urls import reverse

from complaints.models import Alert
from tests.factories import ComplaintCategoryFactory, ServiceAreaFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert():
    return Alert.objects.create(category=ComplaintCategoryFactory(name="Billing error"), level=2, count_at_raise=120, last_count=130)


def test_manager_sees_live_alerts(client, make_user, alert):
    # given a closed alert of another category beside the live one
    closed = Alert.objects.create(category=ComplaintCategoryFactory(name="Slow data"), status=Alert.Status.CLOSED)
    client.force_login(make_user("manager"))
    response = client.get(reverse("complaints:alerts"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-alert="{alert.pk}"' in body and f'data-alert="{closed.pk}"' not in body
    assert reverse("complaints:alert_close", args=[alert.pk]) in body


def test_closed_filter_and_area_shown(client, make_user):
    area = ServiceAreaFactory(name="Nankai")
    Alert.objects.create(category=ComplaintCategoryFactory(name="Slow data"), area=area, status=Alert.Status.CLOSED)
    client.force_login(make_user("manager"))
    body = client.get(reverse("complaints:alerts"), {"status": "closed"}).content.decode()
    assert "Slow data" in body and "Nankai" in body


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"category": "x'; drop"}, {"category": "99999999"}, {"page": "-3"}, {"page": "999"}])
def test_bad_filters_are_reported_never_a_500(client, make_user, alert, params):
    client.force_login(make_user("manager"))
    response = client.get(reverse("complaints:alerts"), params)
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["agent", "delivery_clerk", "area_manager"])
def test_roles_without_alert_permission_get_403(client, make_user, alert, role):
    client.force_login(make_user(role))
    assert client.get(reverse("complaints:alerts")).status_code == 403
    assert client.post(reverse("complaints:alert_acknowledge", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_anonymous_is_sent_to_login(client, alert):
    response = client.get(reverse("complaints:alerts"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_acknowledge_then_close_in_the_browser(client, make_user, alert):
    user = make_user("complaint_handler")
    client.force_login(user)
    # when acknowledged
    response = client.post(reverse("complaints:alert_acknowledge", args=[alert.pk]), {"back": "status=all"})
    assert response.status_code == 302 and response["Location"].endswith("?status=all")
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (Alert.Status.ACKNOWLEDGED, user)
    # when acknowledged again: 409 with the reason, nothing changed
    response = client.post(reverse("complaints:alert_acknowledge", args=[alert.pk]))
    assert response.status_code == 409 and b"Only an open alert" in response.content
    # when closed
    response = client.post(reverse("complaints:alert_close", args=[alert.pk]), {"back": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("complaints:alerts")
    alert.refresh_from_db()
    assert (alert.status, alert.closed_by) == (Alert.Status.CLOSED, user)
    # when closed again: 409
    assert client.post(reverse("complaints:alert_close", args=[alert.pk])).status_code == 409


def test_unknown_alert_is_404_and_get_is_405(client, make_user):
    client.force_login(make_user("manager"))
    assert client.post(reverse("complaints:alert_close", args=[987654])).status_code == 404
    assert client.get(reverse("complaints:alert_close", args=[987654])).status_code == 405


def test_viewer_without_change_sees_no_buttons(client, make_user, alert, django_user_model):
    from django.contrib.auth.models import Permission

    user = make_user()
    user.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    body = client.get(reverse("complaints:alerts")).content.decode()
    assert "Billing error" in body and reverse("complaints:alert_close", args=[alert.pk]) not in body
    assert client.post(reverse("complaints:alert_close", args=[alert.pk])).status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_acknowledges_and_closes_an_alert_in_chromium(page, login):
    from playwright.sync_api import expect

    from tests.factories import UserFactory

    # given a manager and a live alert
    UserFactory(username="manager9", roles=["manager"])
    live = Alert.objects.create(category=ComplaintCategoryFactory(name="Billing error"), level=1, last_count=42)
    # when the manager opens the alerts page and acknowledges it
    login("manager9")
    page.goto(page.base_url + reverse("complaints:alerts"))
    row = page.locator(f'tr[data-alert="{live.pk}"]')
    expect(row).to_contain_text("Billing error")
    row.get_by_test_id("acknowledge").click()
    expect(page.locator(f'tr[data-alert="{live.pk}"]')).to_contain_text("Acknowledged by")
    # and closes it
    page.locator(f'tr[data-alert="{live.pk}"]').get_by_test_id("close").click()
    # then it leaves the live list and is closed
    expect(page.locator(f'tr[data-alert="{live.pk}"]')).to_have_count(0)
    live.refresh_from_db()
    assert live.status == Alert.Status.CLOSED
