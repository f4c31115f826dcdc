"""Roles are groups kept in step with the grant table after every migrate."""
import pytest
from django.contrib.auth.models import Group, Permission

from servicedesk.roles import Role, granted, sync_role_groups

pytestmark = pytest.mark.django_db



def perms_of(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def snapshot() -> dict[str, set[str]]:
    return {g.name: perms_of(g) for g in Group.objects.all()}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_after_migrate_every_role_has_its_group_with_exactly_its_grants(role):
    group = Group.objects.get(name=role.value)

    assert perms_of(group) == set(granted(role))
    assert "servicedesk.view_customer" in perms_of(group)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_granted_permission_exists(role):
    # a misspelt grant would be skipped silently by sync_role_groups; catch it here
    for dotted in granted(role):
        app_label, codename = dotted.split(".", 1)
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), dotted


@pytest.mark.parametrize(
    ("role", "perm", "has"),
    [
        (Role.AGENT, "servicedesk.add_contact", True),
        (Role.ADMIN, "servicedesk.add_contact", True),
        (Role.AGENT, "servicedesk.view_full_id_number", False),
        (Role.AGENT, "servicedesk.view_full_address", True),
        (Role.AREA_MANAGER, "servicedesk.view_full_id_number", False),
        (Role.AREA_MANAGER, "servicedesk.view_full_address", True),
        (Role.AREA_MANAGER, "servicedesk.add_contact", False),
        (Role.BACK_OFFICE, "servicedesk.view_full_id_number", True),
        (Role.DELIVERY_CLERK, "servicedesk.view_full_id_number", True),
        (Role.API_CLIENT, "servicedesk.add_contact", True),
        (Role.API_CLIENT, "servicedesk.view_full_id_number", False),
        (Role.API_CLIENT, "servicedesk.view_full_address", False),
        (Role.MANAGER, "servicedesk.view_full_id_number", False),
        (Role.MANAGER, "servicedesk.change_script", True),
        (Role.MANAGER, "servicedesk.delete_script", False),
        (Role.ADMIN, "servicedesk.delete_script", True),
        (Role.OUTBOUND, "servicedesk.add_contact", True),
        (Role.ACCOUNT_CLERK, "servicedesk.add_contact", False),
        (Role.AGENT, "servicedesk.change_customer", False),
        (Role.ADMIN, "servicedesk.delete_customer", False),
    ],
)
def test_a_member_of_a_role_has_its_permissions(make_user, role, perm, has):
    user = make_user(role)

    assert user.has_perm(perm) is has
    assert user.has_role(role)
    assert user.roles == frozenset({role.value})


def test_a_user_in_two_roles_has_both_roles_permissions(make_user):
    user = make_user(Role.AREA_MANAGER, Role.BACK_OFFICE)

    assert user.has_perm("servicedesk.view_full_id_number")
    assert user.has_perm("servicedesk.add_contact")  # from back office
    assert user.role_labels == ["Area manager", "Back-office clerk"]


def test_superuser_holds_every_role(make_user):
    user = make_user(is_superuser=True)

    assert user.roles == frozenset(r.value for r in Role)


def test_sync_role_groups_is_idempotent():
    # given the groups as migrate left them
    before = snapshot()
    group_ids = set(Group.objects.values_list("id", flat=True))

    # when sync runs again (every later migrate does)
    sync_role_groups()
    sync_role_groups()

    # then nothing changed: same groups (not recreated), same permissions
    assert snapshot() == before
    assert set(Group.objects.values_list("id", flat=True)) == group_ids
    assert Group.objects.filter(name__in=Role.values).count() == len(Role)


def test_sync_role_groups_restores_exactly_the_grants():
    # given a role group edited by hand in the admin: a permission added, one removed, and the group deleted for another
    agent = Group.objects.get(name=Role.AGENT)
    agent.permissions.add(Permission.objects.get(codename="delete_customer"))
    agent.permissions.remove(Permission.objects.get(codename="add_contact"))
    Group.objects.filter(name=Role.BACK_OFFICE).delete()
    other = Group.objects.create(name="night-shift")
    other.permissions.add(Permission.objects.get(codename="view_customer"))

    # when sync runs
    sync_role_groups()

    # then the role groups have exactly their grants again, and a group that is not a role is left alone
    assert perms_of(Group.objects.get(name=Role.AGENT)) == set(granted(Role.AGENT))
    assert perms_of(Group.objects.get(name=Role.BACK_OFFICE)) == set(granted(Role.BACK_OFFICE))
    assert perms_of(Group.objects.get(name="night-shift")) == {"servicedesk.view_customer"}
