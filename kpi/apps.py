from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpiConfig(AppConfig):
    name = "kpi"
    verbose_name = _("KPIs")

    def ready(self):
        from servicedesk.roles import Role, grant

        # Everyone sees their own numbers and stars (no permission needed); these are the wider views.
        read = ("kpi.view_rollup", "kpi.view_starrating")
        for role in (Role.MANAGER, Role.ADMIN):
            grant(role, *read, "kpi.view_rebuildjob", "kpi.add_rebuildjob", "kpi.view_area_kpis")
        # An area manager sees the area view of their own areas only (kpi.views checks which).
        grant(Role.AREA_MANAGER, "kpi.view_area_kpis")
        # External reporting reads KPI values over the API.
        grant(Role.API_CLIENT, "kpi.view_rollup")
