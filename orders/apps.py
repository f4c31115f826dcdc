from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from . import selfservice  # noqa: F401  (registers the self-service halls' orders section and API)
        from servicedesk import registry, webhooks
        from servicedesk.roles import Role, grant

        from . import handlers, selectors, sms_commands  # noqa: F401  (registers the provisioning handler)

        view = ("orders.view_order", "orders.view_product", "orders.view_productcategory", "orders.view_poolnumber", "orders.view_opportunity")
        for role in Role:
            if role != Role.AREA_MANAGER:
                grant(role, *view)
        grant(Role.AREA_MANAGER, "orders.view_order", "orders.view_opportunity")
        grant(Role.AGENT, "orders.add_order", "orders.add_opportunity", "orders.cancel_order")
        grant(Role.BACK_OFFICE, "orders.accept_order", "orders.cancel_order", "orders.urgent_activate_order", "orders.move_order",
              "orders.add_poolnumber", "orders.change_poolnumber", "orders.delete_poolnumber")
        grant(Role.OUTBOUND, "orders.add_order", "orders.add_opportunity", "orders.change_opportunity", "orders.delete_opportunity")
        grant(Role.DELIVERY_CLERK, "orders.move_order", "orders.cancel_order", "orders.urgent_activate_order")
        grant(Role.MANAGER, "orders.delete_opportunity", "orders.change_opportunity")
        grant(Role.API_CLIENT, "orders.add_order", "orders.cancel_order")
        grant(Role.ADMIN, "orders.add_order", "orders.accept_order", "orders.cancel_order", "orders.urgent_activate_order", "orders.move_order",
              "orders.add_poolnumber", "orders.change_poolnumber", "orders.delete_poolnumber",
              "orders.add_opportunity", "orders.change_opportunity", "orders.delete_opportunity",
              "orders.add_product", "orders.change_product", "orders.add_productcategory", "orders.change_productcategory")

        registry.register_panel(selectors.open_orders_panel)
        registry.register_timeline_source(selectors.order_timeline_entries)
        registry.register_customer_action(selectors.sale_customer_action)
        sms_commands.register()  # the SMS hall's ORDER command
        webhooks.publish_status_changes("orders.Order", "order", refs=("external_id", "customer_id"))
