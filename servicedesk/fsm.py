"""Running django-fsm-2 transitions the same way in every app.

A service locks the row, calls ``run_transition``, and schedules side effects
on commit. ``run_transition`` refuses what the machine does not allow with
``TransitionRefused`` (HTTP 409 naming the allowed next states), checks the
transition's permission for the acting user, saves, and appends a record to
the app's transition log (a subclass of ``TransitionRecord``), and publishes the change
to webhook subscribers when the model's app registered it (``servicedesk.webhooks``).
"""
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .api.errors import Conflict


class TransitionRefused(Conflict):
    default_code = "transition_not_allowed"


class TransitionRecord(models.Model):
    """Append-only: who moved what from which state to which, when and why."""

    from_state = models.CharField(gettext_lazy("from"), max_length=30)
    to_state = models.CharField(gettext_lazy("to"), max_length=30)
    transition = models.CharField(gettext_lazy("transition"), max_length=50)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(gettext_lazy("at"), default=timezone.now, db_index=True)
    reason = models.CharField(gettext_lazy("reason"), max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]


def allowed_transitions(instance, field: str = "status") -> list[str]:
    return sorted({t.name for t in getattr(instance, f"get_available_{field}_transitions")()})


def allowed_targets(instance, field: str = "status") -> list[str]:
    return sorted({t.target for t in getattr(instance, f"get_available_{field}_transitions")() if t.target})


def _role_may(method, user, instance) -> bool:
    """Whether the user's role may run this transition from some state (django-fsm's
    ``has_transition_perm`` also asks about the current state, which would turn a 409 into a 403)."""
    return any(t.has_perm(instance, user) for t in method._django_fsm.transitions.values())


def run_transition(
    instance, name: str, *, by, log_model, log_fk: str, reason: str = "", field: str = "status", args: dict | None = None, at=None,
):
    """Apply transition ``name`` to a locked ``instance``, save it and record it.

    The role is checked first: a role that may never do this gets 403, not a 409 about the state.
    ``at`` dates the record when the step happened earlier than now (a carrier's event, say)."""
    method = getattr(instance, name)
    before = getattr(instance, field)
    if by is not None and not _role_may(method, by, instance):
        # Django's, not DRF's: browser views and the API's exception handler both turn it into a 403.
        raise PermissionDenied(_("Your role may not do this."))
    if name not in allowed_transitions(instance, field):
        raise TransitionRefused(
            # No step name in the message: it is a code word, and would show in English in a Chinese UI.
            _("This step is not possible while the record is “%(state)s”.") % {"state": getattr(instance, f"get_{field}_display")()},
            allowed=allowed_targets(instance, field),
            current=before,
        )
    method(**(args or {}))
    instance.save()
    record = log_model.objects.create(
        **{log_fk: instance}, from_state=before, to_state=getattr(instance, field), transition=name, by=by, reason=(reason or "")[:500],
        **({"at": at} if at is not None else {}),
    )
    # Imported here: this module is loaded while the apps' models are (TransitionRecord).
    from . import webhooks

    webhooks.status_changed(instance=instance, record=record, transition=name)
    return instance
