"""Admin for SMS: the notice texts are edited here; sent messages are read-only, numbers masked in lists.

Imported from ``servicedesk/admin.py``."""
from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .masking import mask_phone
from .models import SmsMessage, SmsTemplate
from .sms import placeholders_in, template_placeholders


class SmsTemplateForm(forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = ("code", "language", "description", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 6, "cols": 80})}  # noqa: RUF012  (Django's Meta convention)

    def clean(self):
        cleaned = super().clean()
        code, body = cleaned.get("code"), cleaned.get("body") or ""
        known = template_placeholders(code) if code else None
        if known is not None:
            unknown = sorted(set(placeholders_in(body)) - set(known))
            if unknown:
                self.add_error("body", _("Unknown placeholders: %(unknown)s. This notice fills: %(known)s.") % {
                    "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                    "known": ", ".join(f"{{{name}}}" for name in known),
                })
        return cleaned


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    form = SmsTemplateForm
    list_display = ("code", "language", "description")
    list_filter = ("language",)
    search_fields = ("code", "description", "body")
    readonly_fields = ("placeholders",)

    @admin.display(description=_("placeholders this notice fills"))
    def placeholders(self, template):
        known = template_placeholders(template.code) if template.code else None
        if not known:
            return "—"
        return format_html_join("", "<div><code>{{{}}}</code> {}</div>", known.items())


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "masked_number", "template", "status", "sent_at")
    list_filter = ("status", "template")
    search_fields = ("=to_number", "=key")
    raw_id_fields = ("customer",)
    readonly_fields = tuple(f.name for f in SmsMessage._meta.fields)
    show_full_result_count = False

    @admin.display(description=pgettext_lazy("sms recipient", "to"))
    def masked_number(self, message):
        return mask_phone(message.to_number)

    def has_add_permission(self, request):
        return False  # messages are sent by notices, never typed in here
