"""Staff roles and the permissions each one carries.

Roles are Django groups, so permissions follow roles through Django's own
machinery. The core grants its own permissions here; each domain app adds the
ones it owns from its ``AppConfig.ready()`` through ``grant`` (the core never
imports a domain app). ``sync_role_groups`` runs after every migrate.
"""
from collections import defaultdict

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    BACK_OFFICE = "back_office", _("Back-office clerk")
    OUTBOUND = "outbound", _("Outbound agent")
    DELIVERY_CLERK = "delivery_clerk", _("Delivery clerk")
    ACCOUNT_CLERK = "account_clerk", _("Account clerk")
    ACCOUNT_SUPERVISOR = "account_supervisor", _("Account supervisor")
    COMPLAINT_HANDLER = "complaint_handler", _("Complaint handler")
    AREA_MANAGER = "area_manager", _("Area manager")
    MANAGER = "manager", _("Manager")
    API_CLIENT = "api_client", _("API client")
    ADMIN = "admin", _("Administrator")


# role -> set of "app_label.codename"
_GRANTS: dict[str, set[str]] = defaultdict(set)


def require_permission(user, permission: str) -> None:
    """In a service: refuse (403) unless the acting user's role holds ``permission``.
    ``None`` is the platform itself (a task, a carrier's event), which may."""
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(gettext("Your role may not do this."))


def grant(role: Role | str, *permissions: str) -> None:
    _GRANTS[str(role)].update(permissions)


def granted(role: Role | str) -> frozenset[str]:
    return frozenset(_GRANTS[str(role)])


_CUSTOMER_READ = (
    "servicedesk.view_customer",
    "servicedesk.view_subscription",
    "servicedesk.view_contact",
    "servicedesk.view_script",
)
for _role in Role:
    if _role != Role.API_CLIENT:
        grant(_role, *_CUSTOMER_READ)
grant(Role.API_CLIENT, *_CUSTOMER_READ, "servicedesk.add_contact")
# The SMS gateway hands inbound SMS to the SMS hall (servicedesk.sms_hall) as an API client.
grant(Role.API_CLIENT, "servicedesk.add_inboundsms")
for _role in (Role.AGENT, Role.OUTBOUND, Role.BACK_OFFICE, Role.COMPLAINT_HANDLER, Role.DELIVERY_CLERK, Role.ADMIN):
    grant(_role, "servicedesk.add_contact")
# Who needs the whole ID number: identity is checked at acceptance and at the door.
for _role in (Role.BACK_OFFICE, Role.DELIVERY_CLERK, Role.ADMIN):
    grant(_role, "servicedesk.view_full_id_number")
# Who needs the whole address: agents take delivery addresses, couriers go there.
for _role in (Role.AGENT, Role.BACK_OFFICE, Role.DELIVERY_CLERK, Role.AREA_MANAGER, Role.ADMIN):
    grant(_role, "servicedesk.view_full_address")
grant(Role.ADMIN, "servicedesk.change_script", "servicedesk.add_script", "servicedesk.delete_script")
grant(Role.MANAGER, "servicedesk.change_script", "servicedesk.add_script")
# SMS are the core's: those who talk to customers read what was sent; admins edit the notice texts.
for _role in (Role.AGENT, Role.DELIVERY_CLERK, Role.BACK_OFFICE, Role.MANAGER, Role.ADMIN):
    grant(_role, "servicedesk.view_smsmessage")
grant(Role.ADMIN, "servicedesk.change_smstemplate")
# The duty manager watches contacts per channel per hour.
for _role in (Role.MANAGER, Role.ADMIN):
    grant(_role, "servicedesk.view_channel_live")


def sync_role_groups(**kwargs) -> None:
    """Create one group per role and give it exactly its granted permissions."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = set()
        for dotted in granted(role):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.add(perm.pk)
        group.permissions.set(wanted)
