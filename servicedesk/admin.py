from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import outbox, webhooks
from .masking import mask_id_number
from .models import Contact, Customer, Department, OutboxMessage, Script, ServiceArea, Subscription, TariffPlan, Team, User, WebhookSubscription


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


class WebhookSubscriptionFilter(admin.SimpleListFilter):
    """The messages of one webhook subscription (their keys start ``webhook:<id>:``)."""

    title = _("webhook subscription")
    parameter_name = "webhook"

    def lookups(self, request, model_admin):
        return [(str(s.pk), s.name) for s in WebhookSubscription.objects.order_by("name", "id")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(kind="webhook", key__startswith=f"webhook:{self.value()}:")
        return queryset


@admin.register(OutboxMessage)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "key", "stream", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "kind", WebhookSubscriptionFilter)
    search_fields = ("=key", "=stream")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.action(description=_("Send the selected failed messages again"))
    def retry(self, request, queryset):
        for message in queryset.filter(status=OutboxMessage.Status.FAILED):
            outbox.outbox_retry(message_id=message.pk)
        self.message_user(request, _("Queued again."), messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Integrating systems' subscriptions, with how their deliveries stand; the counts link to the messages."""

    list_display = ("name", "client", "url", "active", "delivered", "pending", "failing")
    list_filter = ("active",)
    search_fields = ("name", "url", "client__username")
    raw_id_fields = ("client",)
    readonly_fields = ("created_at",)
    actions = ["retry_failing"]

    def _counts(self, subscription) -> dict:
        if not hasattr(subscription, "_delivery_counts"):
            by_status = dict(
                webhooks.webhook_deliveries(subscription_id=subscription.pk).order_by().values_list("status").annotate(n=Count("id"))
            )
            subscription._delivery_counts = by_status
        return subscription._delivery_counts

    def _link(self, subscription, statuses: list[str]):
        count = sum(self._counts(subscription).get(s, 0) for s in statuses)
        url = reverse("admin:servicedesk_outboxmessage_changelist") + f"?webhook={subscription.pk}&status__in={','.join(statuses)}"
        return format_html('<a href="{}">{}</a>', url, count)

    @admin.display(description=pgettext_lazy("webhook deliveries", "delivered"))
    def delivered(self, subscription):
        return self._link(subscription, [OutboxMessage.Status.SENT])

    @admin.display(description=_("pending"))
    def pending(self, subscription):
        return self._link(subscription, [OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING])

    @admin.display(description=_("failing"))
    def failing(self, subscription):
        return self._link(subscription, [OutboxMessage.Status.FAILED])

    @admin.action(description=_("Send the failed deliveries of the selected subscriptions again"))
    def retry_failing(self, request, queryset):
        for subscription in queryset:
            failed = webhooks.webhook_deliveries(subscription_id=subscription.pk).filter(status=OutboxMessage.Status.FAILED)
            for message_id in failed.order_by("id").values_list("id", flat=True):
                outbox.outbox_retry(message_id=message_id)
        self.message_user(request, _("Queued again."), messages.SUCCESS)


from . import admin_sms  # noqa: E402,F401  (SMS templates and messages)
