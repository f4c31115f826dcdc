from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from . import outbox
from .masking import mask_id_number
from .models import Contact, Customer, Department, OutboxMessage, Script, ServiceArea, Subscription, TariffPlan, Team, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + ((_("Organisation"), {"fields": ("employee_no", "team", "department", "mobile")}),)
    list_display = ("username", "get_full_name", "team", "department", "is_active")
    list_filter = ("groups", "team", "department", "is_active")


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "district", "manager")
    search_fields = ("code", "name", "district")
    autocomplete_fields = ("manager",)


admin.site.register(Team, list_display=("name", "lead"), search_fields=("name",))
admin.site.register(Department, list_display=("code", "name", "head"), search_fields=("name",))
admin.site.register(TariffPlan, list_display=("code", "name", "monthly_fee"), search_fields=("code", "name"))


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    autocomplete_fields = ("tariff_plan",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "masked_id", "vip_tier", "area")
    list_filter = ("vip_tier", "area")
    search_fields = ("=id_number", "name", "=subscriptions__service_number")
    list_select_related = ("area",)
    inlines = [SubscriptionInline]
    show_full_result_count = False

    @admin.display(description=_("ID number"))
    def masked_id(self, customer):
        return mask_id_number(customer.id_number)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("started_at", "channel", "service_number", "reason", "outcome", "agent")
    list_filter = ("channel", "outcome")
    raw_id_fields = ("customer", "agent")
    search_fields = ("=service_number",)
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "category", "updated_at")
    list_filter = ("kind", "category")
    search_fields = ("title", "keywords", "body")


@admin.register(OutboxMessage)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "key", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("=key",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.action(description=_("Send the selected failed messages again"))
    def retry(self, request, queryset):
        for message in queryset.filter(status=OutboxMessage.Status.FAILED):
            outbox.outbox_retry(message_id=message.pk)
        self.message_user(request, _("Queued again."), messages.SUCCESS)


from . import admin_sms  # noqa: E402,F401  (SMS templates and messages)
