from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated


class RoleModelPermissions(DjangoModelPermissions):
    """Model permissions (granted through role groups), reads included.

    DRF's own class lets anyone authenticated read; here reading customers
    needs the role's view permission too. Views without a queryset fall back
    to "authenticated".
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }

    def has_permission(self, request, view):
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return IsAuthenticated().has_permission(request, view)
        return super().has_permission(request, view)
