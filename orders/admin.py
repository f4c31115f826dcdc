"""The catalogue is configuration, edited here: categories name their flow and time limit.

Orders, numbers and opportunities change state only through orders.services (the
pages and the API), so here they are read-only records to look at.
"""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import NumberImport, Opportunity, Order, OrderTransition, PoolNumber, Product, ProductCategory


class ProductInline(admin.TabularInline):
    model = Product
    fields = ["code", "name", "price", "needs_number", "item_kind", "item_model", "tariff_plan", "active"]
    extra = 0
    show_change_link = True


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "flow", "acceptance_limit_hours", "product_count"]
    list_editable = ["flow", "acceptance_limit_hours"]
    list_filter = ["flow"]
    search_fields = ["code", "name"]
    inlines = [ProductInline]

    @admin.display(description=_("products"))
    def product_count(self, category):
        return category.products.count()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "flow_of_category", "price", "needs_number", "item_kind", "active"]
    list_filter = ["category__flow", "category", "item_kind", "needs_number", "active"]
    list_select_related = ["category", "tariff_plan"]
    search_fields = ["code", "name", "item_model"]
    autocomplete_fields = ["category"]

    @admin.display(description=_("flow"), ordering="category__flow")
    def flow_of_category(self, product):
        return product.category.get_flow_display()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Looked at here, changed only through the services (so every change is validated and recorded)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderTransitionInline(admin.TabularInline):
    model = OrderTransition
    fields = ["at", "transition", "from_state", "to_state", "by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "product", "flow", "status", "submitted_at", "accept_by", "created_by"]
    list_filter = ["status", "flow"]
    list_select_related = ["customer", "product", "created_by"]
    search_fields = ["=id", "=service_number", "=pool_number__number", "=external_id"]
    date_hierarchy = "submitted_at"
    inlines = [OrderTransitionInline]


@admin.register(PoolNumber)
class PoolNumberAdmin(ReadOnlyAdmin):
    list_display = ["number", "status", "number_class", "price", "order", "updated_at"]
    list_filter = ["status", "number_class"]
    search_fields = ["number"]


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "product", "intent", "callback_at", "status", "overdue", "assigned_to"]
    list_filter = ["status", "intent", "overdue"]
    list_select_related = ["customer", "product", "assigned_to"]


@admin.register(NumberImport)
class NumberImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "file_name", "status", "total_rows", "created_count", "error_count", "created_by", "created_at"]
    list_filter = ["status"]
