"""Forms of the complaints pages: they parse; the services decide."""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.models import Channel, Department

from .models import Callback, ComplaintCategory, Severity, WorkOrder


class ComplaintForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=ComplaintCategory.objects.none(), empty_label=_("Choose…"))
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.NORMAL)
    service_number = forms.ChoiceField(label=_("Service number"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.HOTLINE)
    description = forms.CharField(label=_("Description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ComplaintCategory.objects.filter(active=True).order_by("code")
        numbers = [s.service_number for s in customer.subscriptions.all()]
        self.fields["service_number"].choices = [("", _("No particular line"))] + [(n, n) for n in numbers]


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(label=_("To department"), queryset=Department.objects.order_by("code"))
    reason = forms.CharField(label=_("Why"), max_length=400)


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=[("repeat", _("Repeat within 30 days")), ("vip", _("VIP customer")),
                                                         ("regulator", _("Regulator involved"))])


class AppealForm(forms.Form):
    due_at = forms.DateTimeField(label=_("Answer due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean_due_at(self):
        due = self.cleaned_data["due_at"]
        if due <= timezone.now():
            raise forms.ValidationError(_("The answer must be due in the future."))
        return due


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


SCORES = [("", "—")] + [(str(n), str(n)) for n in range(1, 6)]
YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


class CallbackForm(forms.Form):
    reached = forms.ChoiceField(label=_("Customer reached"), choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect)
    satisfaction = forms.TypedChoiceField(label=_("Satisfaction (1–5)"), choices=SCORES, coerce=int, empty_value=None, required=False)
    solved = forms.ChoiceField(label=_("Problem solved"), choices=YES_NO, required=False)
    repair_time_score = forms.TypedChoiceField(label=_("Repair time (1–5)"), choices=SCORES, coerce=int, empty_value=None, required=False)
    technician_score = forms.TypedChoiceField(label=_("Technician's attitude (1–5)"), choices=SCORES, coerce=int, empty_value=None, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)

    def arguments(self) -> dict:
        data = self.cleaned_data
        solved = {"yes": True, "no": False}.get(data.get("solved") or "")
        return {
            "reached": data["reached"] == "yes", "satisfaction": data.get("satisfaction"), "solved": solved,
            "repair_time_score": data.get("repair_time_score"), "technician_score": data.get("technician_score"), "notes": data.get("notes", ""),
        }


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All kinds"))] + WorkOrder.Kind.choices, required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=ComplaintCategory.objects.order_by("code"), required=False, empty_label=_("All categories"))
    breached_only = forms.BooleanField(label=_("Past deadline only"), required=False)


class CallbackFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All kinds"))] + Callback.Kind.choices, required=False)
    overdue_only = forms.BooleanField(label=_("Due now only"), required=False)
