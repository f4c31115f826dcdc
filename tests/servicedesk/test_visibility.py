"""One rule narrows every app's lists to the customers a role may see."""
import pytest

from orders.models import Opportunity
from servicedesk.models import Contact
from servicedesk.selectors import restrict_to_visible_customers
from tests.factories import ContactFactory, CustomerFactory, ServiceAreaFactory

pytestmark = pytest.mark.django_db


def test_an_area_manager_keeps_only_their_areas_rows(make_user):
    manager = make_user("area_manager")
    mine = ContactFactory(customer=CustomerFactory(area=ServiceAreaFactory(manager=manager)))
    ContactFactory()
    assert list(restrict_to_visible_customers(Contact.objects.all(), manager)) == [mine]


def test_a_role_that_sees_everyone_gets_the_queryset_untouched(make_user):
    # no "customer IN (all customers)" semi-join on every list and count
    queryset = Opportunity.objects.all()
    assert restrict_to_visible_customers(queryset, make_user("agent")) is queryset


def test_a_user_without_a_role_sees_nothing(make_user):
    ContactFactory()
    assert not restrict_to_visible_customers(Contact.objects.all(), make_user()).exists()
