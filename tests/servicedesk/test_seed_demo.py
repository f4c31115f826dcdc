"""``manage.py seed_demo``: demo logins for every role, and customers that pass the platform's own rules."""
import random
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.utils import timezone

from servicedesk import demo
from servicedesk.models import (
    Contact, Customer, Department, IdType, Script, ServiceArea, Subscription, TariffPlan, Team, User, VipTier,
)
from servicedesk.phones import normalize_service_number
from servicedesk.roles import Role

pytestmark = pytest.mark.django_db

CUSTOMERS = 50



def seed(**options) -> str:
    out = StringIO()
    # pytest runs with DEBUG off, where the command wants --force.
    call_command("seed_demo", customers=options.pop("customers", CUSTOMERS), force=True, stdout=out, **options)
    return out.getvalue()


def _check_digit(first17: str) -> str:
    """GB 11643 written out again, independently of the seeder's."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def test_every_role_has_a_user_who_logs_in_with_demo1234():
    output = seed()
    for role in Role:
        users = list(User.objects.filter(groups__name=role.value, is_active=True))
        assert users, f"no demo user in role {role.value}"
        assert authenticate(username=users[0].username, password=demo.DEMO_PASSWORD) is not None, role.value
        assert users[0].username in output
    admin = authenticate(username="admin", password="demo1234")
    assert admin is not None and admin.is_superuser
    assert "demo1234" in output and "agent1" in output and "api1" in output


def test_staff_sit_in_teams_departments_and_areas():
    seed()
    assert User.objects.filter(groups__name=Role.AGENT).exclude(team=None).count() >= 3
    assert not User.objects.filter(groups__name=Role.AGENT, team=None).exists()
    assert not User.objects.filter(groups__name=Role.COMPLAINT_HANDLER, department=None).exists()
    assert Team.objects.count() >= 3 and not Team.objects.filter(lead=None).exists()
    assert Department.objects.count() == 5
    for department in Department.objects.select_related("head"):
        assert department.head is not None and department.head.mobile
        assert normalize_service_number(department.head.mobile) == department.head.mobile
    assert ServiceArea.objects.count() == 12
    assert not ServiceArea.objects.filter(manager=None).exists()
    assert all(area.manager.has_role(Role.AREA_MANAGER) for area in ServiceArea.objects.select_related("manager"))


def test_creates_the_asked_number_of_customers_and_tops_up():
    seed()
    assert Customer.objects.count() == CUSTOMERS
    seed()
    assert Customer.objects.count() == CUSTOMERS
    seed(customers=CUSTOMERS + 7)
    assert Customer.objects.count() == CUSTOMERS + 7
    seed(customers=10)  # fewer than there are: nothing deleted
    assert Customer.objects.count() == CUSTOMERS + 7


def test_reset_replaces_customers_subscriptions_and_contacts():
    seed()
    seed(customers=20, reset=True)
    assert Customer.objects.count() == 20
    assert not Subscription.objects.exclude(customer__in=Customer.objects.all()).exists()
    assert not Contact.objects.exclude(customer__in=Customer.objects.all()).exists()


def test_service_numbers_are_unique_and_already_normalized():
    seed(customers=CUSTOMERS)
    seed(customers=CUSTOMERS + 30, seed=7)  # topped up with another seed: still no clash
    numbers = list(Subscription.objects.values_list("service_number", flat=True))
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert normalize_service_number(number) == number
    assert any(n.startswith("022") for n in numbers), "some fixed lines expected"
    assert not Customer.objects.annotate(n=Count("subscriptions")).filter(n=0).exists()
    assert not Customer.objects.annotate(n=Count("subscriptions")).filter(n__gt=3).exists()


def test_number_generators_give_valid_unique_numbers_on_a_large_sample():
    generator = demo.ServiceNumbers(demo.DEFAULT_SEED)
    pks = random.Random(1).sample(range(1, 50_000_000), 3000) + list(range(1, 30))
    numbers = [generator.mobile(pk, slot) for pk in pks for slot in range(3)] + [generator.fixed(pk) for pk in pks]
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert normalize_service_number(number) == number


def test_first_customers_have_predictable_numbers_and_the_command_prints_two():
    output = seed(reset=True)
    first = Customer.objects.order_by("pk").first()
    assert first.subscriptions.filter(service_number="13800000001").exists()
    assert Subscription.objects.filter(service_number="13800000002").exists()
    assert "13800000001" in output and "13800000002" in output


def test_resident_ids_have_a_valid_check_digit_and_birth_date():
    seed()
    ids = list(Customer.objects.values_list("id_type", "id_number"))
    assert len({number for _type, number in ids}) == len(ids)
    for id_type, number in ids:
        assert id_type == IdType.RESIDENT_ID
        assert len(number) == 18 and number[:17].isdigit()
        assert number[17] == _check_digit(number[:17]), number
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert date(1940, 1, 1) <= born <= timezone.localdate() - timedelta(days=16 * 365)
        assert demo.resident_id_is_valid(number)


def test_vip_tier_follows_the_total_monthly_spend():
    seed()
    customers = Customer.objects.annotate(total=Sum("subscriptions__monthly_spend"))
    assert customers.count() == CUSTOMERS
    for customer in customers:
        assert customer.vip_tier == demo.vip_tier_for_spend(customer.total), (customer.pk, customer.total)
    assert len({c.vip_tier for c in customers}) >= 3, "a realistic spread of tiers"


@pytest.mark.parametrize(
    ("spend", "tier"),
    [
        ("0", VipTier.ORDINARY), ("149.99", VipTier.ORDINARY), ("150", VipTier.SILVER), ("299.99", VipTier.SILVER),
        ("300", VipTier.GOLD), ("499.99", VipTier.GOLD), ("500", VipTier.DIAMOND), ("1200.50", VipTier.DIAMOND),
    ],
)
def test_vip_tier_rule(spend, tier):
    assert demo.vip_tier_for_spend(Decimal(spend)) == tier


def test_subscriptions_have_plans_spend_and_dates():
    seed()
    today = timezone.localdate()
    for sub in Subscription.objects.select_related("tariff_plan"):
        assert sub.monthly_spend >= 0
        assert sub.activated_on is not None and sub.activated_on <= today
        sub.full_clean()  # the model's own validators, the service-number one included
    assert Subscription.objects.filter(status=Subscription.Status.ACTIVE).count() > Subscription.objects.count() * 0.8
    assert TariffPlan.objects.count() >= 5


def test_contacts_end_after_they_start_within_the_last_180_days():
    seed()
    contacts = list(Contact.objects.select_related("customer"))
    assert contacts, "some contacts expected for 50 customers"
    oldest = timezone.now() - timedelta(days=demo.CONTACT_WINDOW_DAYS + 1)
    per_customer = Contact.objects.values("customer").annotate(n=Count("id"))
    assert max(row["n"] for row in per_customer) <= 5
    for contact in contacts:
        assert contact.ended_at is not None and contact.ended_at > contact.started_at
        assert oldest <= contact.started_at <= timezone.now()
        assert contact.reason and contact.customer is not None
        assert contact.customer.subscriptions.filter(service_number=contact.service_number).exists()
        if contact.channel in ("hotline", "walk_in"):
            assert contact.agent is not None and contact.agent.has_role(Role.AGENT)


def test_running_twice_does_not_duplicate_reference_data():
    seed()
    counts = lambda: [m.objects.count() for m in (User, Team, Department, ServiceArea, TariffPlan, Script)]  # noqa: E731
    memberships = lambda: sorted(User.groups.through.objects.values_list("user_id", "group_id"))  # noqa: E731
    before, groups_before = counts(), memberships()
    seed()
    assert counts() == before
    assert memberships() == groups_before
    assert Customer.objects.count() == CUSTOMERS


def test_scripts_are_searchable():
    seed()
    assert Script.objects.count() >= 20
    assert not Script.objects.filter(search_text="").exists()
    assert {kind for kind in Script.objects.values_list("kind", flat=True)} == set(Script.Kind.values)
    assert Script.objects.filter(search_text__contains="5g").exists()
    assert Script.objects.filter(search_text__contains="宽带").exists()


def test_same_seed_same_customers():
    seed(reset=True)
    first = list(Customer.objects.order_by("pk").values_list("name", "id_number", "address"))
    seed(reset=True)
    assert list(Customer.objects.order_by("pk").values_list("name", "id_number", "address")) == first


def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", customers=1, stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()


def test_numbers_already_taken_are_drawn_again():
    from tests.factories import CustomerFactory, SubscriptionFactory

    owner = CustomerFactory()
    wanted = demo.ServiceNumbers(demo.DEFAULT_SEED).mobile(owner.pk + 1, 0)  # the next customer's first number
    taken = SubscriptionFactory(customer=owner, service_number=wanted)
    output = seed(customers=CUSTOMERS + 1)
    assert "re-drawn" in output
    assert Customer.objects.count() == CUSTOMERS + 1
    numbers = list(Subscription.objects.values_list("service_number", flat=True))
    assert len(numbers) == len(set(numbers))
    assert Subscription.objects.get(service_number=wanted) == taken
    for number in Customer.objects.get(pk=owner.pk + 1).subscriptions.values_list("service_number", flat=True):
        assert normalize_service_number(number) == number


def test_the_demo_shows_the_sms_hall_at_work_once():
    from servicedesk.models import InboundSms

    # when the demo is seeded twice
    seed(reset=True)
    seed()

    # then three SMS reached the hall once each: two answered, one waiting for an agent in the inbox
    inbound = {sms.gateway_id: sms for sms in InboundSms.objects.all()}
    assert sorted(inbound) == ["demo-sms-1", "demo-sms-2", "demo-sms-3"]
    assert inbound["demo-sms-1"].outcome == InboundSms.Outcome.ANSWERED and inbound["demo-sms-1"].reply
    assert inbound["demo-sms-2"].outcome == InboundSms.Outcome.FOR_AGENT
    assert Contact.objects.filter(awaiting_agent=True).count() == 1
