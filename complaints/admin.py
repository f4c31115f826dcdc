"""Complaint categories and early-warning levels are configuration, edited here.

Complaints, work orders and callbacks change only through complaints.services (the pages
and the API), so here they are read-only records to look at.
"""
from django.contrib import admin

from .models import (
    Callback,
    Complaint,
    ComplaintCategory,
    ComplaintTransition,
    WarningLevel,
    WorkOrder,
)


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "time_limit_hours", "is_fault", "repair_limit_hours", "active"]
    list_editable = ["time_limit_hours", "active"]
    list_filter = ["department", "is_fault", "active"]
    search_fields = ["code", "name"]


@admin.register(WarningLevel)
class WarningLevelAdmin(admin.ModelAdmin):
    list_display = ["level", "name", "threshold", "window_minutes", "wait_minutes", "notify_department_head"]
    filter_horizontal = ["recipients"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransitionInline(admin.TabularInline):
    model = ComplaintTransition
    extra = 0
    fields = ["at", "transition", "from_state", "to_state", "by", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "category", "status", "department", "due_at", "escalated"]
    list_filter = ["status", "category", "escalated"]
    list_select_related = ["customer", "category", "department"]
    raw_id_fields = ["customer", "first_ask_owner", "contact", "created_by"]
    inlines = [TransitionInline]


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "complaint", "department", "kind", "status", "due_at", "breached_at"]
    list_filter = ["status", "kind", "department"]
    list_select_related = ["complaint__category", "department"]


@admin.register(Callback)
class CallbackAdmin(ReadOnlyAdmin):
    list_display = ["id", "complaint", "kind", "status", "due_at", "attempts", "satisfaction"]
    list_filter = ["status", "kind"]
    list_select_related = ["complaint__category"]
