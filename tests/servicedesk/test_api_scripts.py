"""Script search: every word must match, Chinese included, with kind and category filters."""
import pytest

from servicedesk.models import Script
from servicedesk.roles import Role
from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def agent(api_for):
    return api_for(Role.AGENT)


@pytest.fixture
def scripts():
    return {
        "5g": ScriptFactory(title="Plan change", category="Tariff", body="5G套餐变更: 次月生效"),
        "4g": ScriptFactory(title="Old plans", category="Tariff", body="4G套餐 no longer sold"),
        "roaming": ScriptFactory(title="International roaming", category="Roaming", keywords="国际漫游 出国", body="Open roaming before travel."),
        "complaint": ScriptFactory(
            kind=Script.Kind.COMPLAINT_TEMPLATE, title="Signal complaint", category="Network", body="5G signal is weak at home"
        ),
        "service": ScriptFactory(kind=Script.Kind.SERVICE, title="Greeting", category="Opening", body="您好, 请问有什么可以帮您"),
    }


def titles(response):
    assert response.status_code == 200, response.content
    return {row["title"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("套餐 5g", {"Plan change"}, id="chinese-and-latin-any-order-any-case"),
        pytest.param("5G", {"Plan change", "Signal complaint"}, id="one-word-two-hits"),
        pytest.param("套餐", {"Plan change", "Old plans"}, id="chinese-word"),
        pytest.param("套餐 变更", {"Plan change"}, id="both-chinese-words-must-match"),
        pytest.param("5g 漫游", set(), id="words-from-different-scripts-match-none"),
        pytest.param("漫游", {"International roaming"}, id="keywords-are-searched"),
        pytest.param("roaming", {"International roaming"}, id="title-and-category-are-searched"),
        pytest.param("network", {"Signal complaint"}, id="category-is-searched"),
        pytest.param("  GREETING  ", {"Greeting"}, id="case-and-spaces"),
        pytest.param("50%", set(), id="like-wildcards-are-literal"),
        pytest.param("_", set(), id="underscore-is-literal"),
        pytest.param("", {"Plan change", "Old plans", "International roaming", "Signal complaint", "Greeting"}, id="empty-is-all"),
    ],
)
def test_every_word_must_match(agent, scripts, query, expected):
    assert titles(agent.get("/api/v1/scripts/", {"q": query})) == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (Script.Kind.COMPLAINT_TEMPLATE, {"Signal complaint"}),
        (Script.Kind.SERVICE, {"Greeting"}),
        (Script.Kind.BUSINESS, {"Plan change", "Old plans", "International roaming"}),
    ],
)
def test_kind_filter(agent, scripts, kind, expected):
    assert titles(agent.get("/api/v1/scripts/", {"kind": kind})) == expected


def test_kind_and_words_combine(agent, scripts):
    assert titles(agent.get("/api/v1/scripts/", {"kind": "business", "q": "5g"})) == {"Plan change"}


def test_category_filter_is_exact(agent, scripts):
    assert titles(agent.get("/api/v1/scripts/", {"category": "Tariff"})) == {"Plan change", "Old plans"}
    assert titles(agent.get("/api/v1/scripts/", {"category": "Tarif"})) == set()


def test_an_edited_script_is_found_by_its_new_words(agent, scripts):
    # given a script whose text is changed after it was written
    script = scripts["4g"]
    script.body = "携号转网 procedure"
    script.save()

    # then the new words find it and the old ones no longer do
    assert titles(agent.get("/api/v1/scripts/", {"q": "携号转网"})) == {"Old plans"}
    assert "Old plans" not in titles(agent.get("/api/v1/scripts/", {"q": "4g"}))
