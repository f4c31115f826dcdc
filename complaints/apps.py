from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from . import selfservice  # noqa: F401  (registers the self-service halls' complaints, filing, rating and API)
        from servicedesk.roles import Role, grant

        see = ("complaints.view_complaint", "complaints.view_complaintcategory", "complaints.view_workorder", "complaints.view_callback")
        for role in (Role.AGENT, Role.OUTBOUND, Role.BACK_OFFICE, Role.COMPLAINT_HANDLER, Role.MANAGER, Role.AREA_MANAGER, Role.ADMIN,
                     Role.DELIVERY_CLERK):
            grant(role, *see)
        grant(Role.AGENT, "complaints.add_complaint", "complaints.add_complaintnote", "complaints.callback_complaint")
        grant(Role.OUTBOUND, "complaints.callback_complaint")
        grant(Role.API_CLIENT, "complaints.view_complaint", "complaints.add_complaint", "complaints.add_complaintnote")
        grant(Role.COMPLAINT_HANDLER, "complaints.work_complaint", "complaints.add_complaintnote", "complaints.change_complaint",
              "complaints.escalate_complaint", "complaints.callback_complaint")
        grant(Role.MANAGER, "complaints.escalate_complaint", "complaints.view_alert", "complaints.change_alert", "complaints.add_complaintnote")
        grant(Role.AREA_MANAGER, "complaints.escalate_complaint")
        grant(Role.ADMIN, "complaints.add_complaint", "complaints.work_complaint", "complaints.callback_complaint", "complaints.escalate_complaint",
              "complaints.add_complaintnote", "complaints.change_complaint", "complaints.view_alert", "complaints.change_alert",
              "complaints.change_complaintcategory", "complaints.add_complaintcategory", "complaints.change_warninglevel",
              "complaints.add_warninglevel")
        grant(Role.COMPLAINT_HANDLER, "complaints.view_alert", "complaints.change_alert")

        # Each part registers its hooks (customer-screen panel and timeline, ...) from its services module.
        from . import sms_commands  # the SMS hall's COMPLAINT and SCORE commands
        from .services import callbacks, early_warning, intake, work

        for part in (intake, work, callbacks, early_warning, sms_commands):
            part.register()
        from servicedesk.webhooks import publish_status_changes
        publish_status_changes("complaints.Complaint", "complaint", refs=("external_id", "customer_id"))
