"""Flows are configuration: an admin moves a category to another flow in the admin, and the next sale follows it."""
import pytest
from django.urls import reverse

from orders.models import Flow, ProductCategory
from tests.factories import ProductCategoryFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(roles=["admin"], is_staff=True, is_superuser=True))
    return client


def test_an_admin_changes_a_categorys_flow_and_time_limit(admin_client):
    category = ProductCategoryFactory(flow=Flow.DIRECT, acceptance_limit_hours=24)
    ProductFactory(category=category)

    page = admin_client.get(reverse("admin:orders_productcategory_change", args=[category.pk]))
    assert page.status_code == 200
    response = admin_client.post(reverse("admin:orders_productcategory_change", args=[category.pk]), {
        "code": category.code, "name": category.name, "flow": Flow.BACK_OFFICE, "acceptance_limit_hours": 4,
        "products-TOTAL_FORMS": "0", "products-INITIAL_FORMS": "0", "products-MIN_NUM_FORMS": "0", "products-MAX_NUM_FORMS": "1000",
    })

    assert response.status_code == 302, response.content[:2000]
    category.refresh_from_db()
    assert (category.flow, category.acceptance_limit_hours) == (Flow.BACK_OFFICE, 4)


@pytest.mark.parametrize("name", ["order", "poolnumber", "opportunity", "numberimport"])
def test_orders_numbers_and_opportunities_are_read_only_in_the_admin(admin_client, name):
    # they change only through the services, which validate and record every step
    assert admin_client.get(reverse(f"admin:orders_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:orders_{name}_add")).status_code == 403


def test_the_admin_lists_categories_with_their_flows(admin_client):
    ProductCategoryFactory(name="新入网号卡", flow=Flow.BACK_OFFICE)
    page = admin_client.get(reverse("admin:orders_productcategory_changelist"))
    assert "新入网号卡" in page.content.decode()
    assert ProductCategory.objects.count() == 1
