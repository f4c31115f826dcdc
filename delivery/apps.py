from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("Delivery")

    def ready(self):
        from . import selfservice  # noqa: F401  (registers the self-service halls' deliveries and appointment change)
        from servicedesk.roles import Role, grant

        see = ("delivery.view_shipment", "delivery.view_warehouse", "delivery.view_sku", "delivery.view_stocklevel",
               "delivery.view_stockmovement", "delivery.view_carrier", "delivery.view_transfer")
        for role in Role:
            if role not in (Role.AREA_MANAGER, Role.API_CLIENT):
                grant(role, *see)
        grant(Role.AREA_MANAGER, "delivery.view_shipment")
        grant(Role.DELIVERY_CLERK, "delivery.move_shipment", "delivery.support_shipment", "delivery.change_shipment",
              "delivery.add_transfer", "delivery.change_transfer", "delivery.add_stockmovement",
              "delivery.prepare_dailyreport", "delivery.view_dailyreport", "orders.move_order")
        grant(Role.BACK_OFFICE, "delivery.support_shipment", "delivery.add_transfer", "delivery.change_transfer", "delivery.add_stockmovement")
        grant(Role.ACCOUNT_CLERK, "delivery.view_dailyreport", "delivery.check_dailyreport")
        grant(Role.ACCOUNT_SUPERVISOR, "delivery.view_dailyreport", "delivery.approve_dailyreport")
        grant(Role.MANAGER, "delivery.view_dailyreport")
        grant(Role.ADMIN, "delivery.move_shipment", "delivery.support_shipment", "delivery.change_shipment", "delivery.add_transfer",
              "delivery.change_transfer", "delivery.add_stockmovement", "delivery.view_dailyreport", "delivery.prepare_dailyreport",
              "delivery.check_dailyreport", "delivery.approve_dailyreport", "delivery.change_carrier", "delivery.add_carrier")

        # Each part of the app registers its hooks (orders' acceptance/release, customer-screen
        # panels and timeline, SMS notices) from its services module.
        from . import sms_commands  # the SMS hall's SHIP, CONFIRM and CHANGE commands
        from .services import money, notices, shipments, stock

        for part in (stock, shipments, notices, money, sms_commands):
            part.register()
        from servicedesk.webhooks import publish_status_changes
        publish_status_changes("delivery.Shipment", "shipment", refs=("order_id", "tracking_number"))  # not Transfer, DailyReport
