"""Staff notices: the top-bar count, the notices page, and marking read only one's own."""
import pytest
from django.urls import reverse

from servicedesk.models import StaffNotice
from servicedesk.notices import staff_notice, staff_notice_mark_read

pytestmark = pytest.mark.django_db


def test_a_notice_with_the_same_key_reaches_each_recipient_once(make_user):
    lead = make_user("outbound")
    assert staff_notice(recipients=[lead], key="overdue:1", text="3 callbacks are overdue.") == 1
    staff_notice(recipients=[lead], key="overdue:1", text="3 callbacks are overdue.")
    assert StaffNotice.objects.filter(recipient=lead).count() == 1


def test_marking_notices_read_touches_only_the_users_own(make_user):
    me, colleague = make_user("outbound"), make_user("outbound")
    mine = StaffNotice.objects.create(recipient=me, key="a", text="one")
    StaffNotice.objects.create(recipient=me, key="b", text="two")
    theirs = StaffNotice.objects.create(recipient=colleague, key="a", text="one")

    assert staff_notice_mark_read(user=me, notice_id=theirs.pk) == 0
    assert staff_notice_mark_read(user=me, notice_id=mine.pk) == 1
    assert staff_notice_mark_read(user=me) == 1

    assert not StaffNotice.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert StaffNotice.objects.get(pk=theirs.pk).read_at is None


def test_the_top_bar_counts_unread_notices_and_the_page_lists_and_clears_them(client, make_user):
    me = make_user("outbound")
    for n in range(3):
        StaffNotice.objects.create(recipient=me, key=f"k{n}", text=f"notice {n}", url="/outbound/")
    client.force_login(me)

    home = client.get(reverse("console:home"))
    assert b'data-testid="notice-count">3<' in home.content

    page = client.get(reverse("console:notices"))
    assert [n.text for n in page.context["page"].object_list] == ["notice 2", "notice 1", "notice 0"]

    response = client.post(reverse("console:notices_read"))
    assert response.status_code == 302
    assert not StaffNotice.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert b'data-testid="notice-count"' not in client.get(reverse("console:home")).content


def test_the_notices_page_needs_a_login_and_shows_only_ones_own(client, make_user):
    assert client.get(reverse("console:notices")).status_code == 302
    me, other = make_user("agent"), make_user("agent")
    StaffNotice.objects.create(recipient=other, key="x", text="not yours")
    client.force_login(me)
    assert b"not yours" not in client.get(reverse("console:notices")).content
