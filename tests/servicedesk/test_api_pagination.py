"""Every list endpoint is paginated the same way, and no client can ask for an unbounded page."""
import pytest

from servicedesk.roles import Role
from tests.factories import ContactFactory, CustomerFactory, ScriptFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/customers/", "/api/v1/subscriptions/", "/api/v1/contacts/?customer={customer}", "/api/v1/scripts/"]



@pytest.fixture
def agent(api_for):
    return api_for(Role.AGENT)


@pytest.fixture
def three_of_each():
    customer = CustomerFactory()
    CustomerFactory.create_batch(2)
    SubscriptionFactory.create_batch(3, customer=customer)
    ContactFactory.create_batch(3, customer=customer)
    ScriptFactory.create_batch(3)
    return customer


@pytest.mark.parametrize("path", LISTS)
def test_every_list_has_the_page_envelope_and_follows_next_links(agent, three_of_each, path):
    # given three of everything and pages of two
    url = path.format(customer=three_of_each.pk)
    separator = "&" if "?" in url else "?"

    # when the first page is read
    first = agent.get(f"{url}{separator}page_size=2").json()

    # then it has the envelope, and its next link leads to the last row
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"] and "page=2" in first["next"]
    second = agent.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"]
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])


@pytest.mark.parametrize(("asked", "given"), [(None, 25), ("10", 10), ("200", 200), ("201", 200), ("100000", 200), ("abc", 25), ("0", 25), ("-5", 25)])
def test_page_size_defaults_to_25_and_is_capped_at_200(agent, asked, given):
    # given more scripts than the largest page
    ScriptFactory.create_batch(205)

    # when a page of the asked size is read
    response = agent.get("/api/v1/scripts/", {"page_size": asked} if asked else {})

    # then at most 200 rows come back, whatever was asked
    assert response.status_code == 200
    assert response.json()["count"] == 205
    assert len(response.json()["results"]) == given
