from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("Service desk")

    def ready(self):
        from . import registry, selectors, selectors_channels
        from . import sms  # noqa: F401  (registers the "sms.send" outbox handler and the SMS timeline source)
        from .roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="servicedesk.sync_role_groups")
        registry.register_timeline_source(selectors.contact_timeline_entries)
        registry.register_panel(selectors_channels.recent_channels_panel)
