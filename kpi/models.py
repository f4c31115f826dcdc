"""Rollups: per day, KPI and grouping, the two counts a KPI is made of.

A period's value is always sum(numerator) / sum(denominator) over its days,
never an average of daily ratios. The rows are written only by
``kpi.rollups`` (delete a day's rows and insert them again, under the
source's row lock), so they never hold half a recomputation.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Rollup(models.Model):
    day = models.DateField(_("day"))
    kpi = models.CharField(_("KPI"), max_length=40)
    # "all" for the whole centre, else one of kpi.definitions.Dimension.
    dimension = models.CharField(_("grouping"), max_length=12)
    # The group's id or code as text; "" where the row has none (no area, no team).
    key = models.CharField(_("group"), max_length=40, blank=True)
    numerator = models.BigIntegerField(_("numerator"))
    denominator = models.BigIntegerField(_("denominator"))

    class Meta:
        verbose_name = _("KPI rollup")
        verbose_name_plural = _("KPI rollups")
        permissions = [("view_area_kpis", _("Can see the area view"))]
        constraints = [
            # Also the index every dashboard query reads: one KPI, one grouping, a range of days.
            models.UniqueConstraint(fields=["kpi", "dimension", "day", "key"], name="rollup_one_row_per_group_day"),
        ]
        indexes = [
            # A group's own page (an agent, an area): every KPI of one key.
            models.Index(fields=["dimension", "key", "day"], name="rollup_group_idx"),
        ]

    def __str__(self):
        return f"{self.day} {self.kpi} {self.dimension}={self.key}: {self.numerator}/{self.denominator}"


class RollupSource(models.Model):
    """One row per fact source: locked while that source's rollups are rewritten, and when it was last done."""

    code = models.CharField(max_length=40, unique=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # Changes logged after this moment have not been looked at yet by the incremental update.
    watermark = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.code


class RebuildJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("rebuild status", "Queued")
        RUNNING = "running", pgettext_lazy("rebuild status", "Running")
        DONE = "done", pgettext_lazy("rebuild status", "Done")
        FAILED = "failed", pgettext_lazy("rebuild status", "Failed")

    first_day = models.DateField(pgettext_lazy("first day of a period", "from"))
    last_day = models.DateField(pgettext_lazy("last day of a period", "to"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_steps = models.PositiveIntegerField(default=0)
    done_steps = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rollup rebuild")
        verbose_name_plural = _("rollup rebuilds")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="rebuild_range_ordered")]

    def __str__(self):
        return f"{self.first_day}–{self.last_day} {self.status}"

    @property
    def percent(self) -> int:
        return int(100 * self.done_steps / self.total_steps) if self.total_steps else 0


class StarRating(models.Model):
    """A month's 1–5 stars for an agent or a team, kept as history (see kpi.ratings for the rule)."""

    class Subject(models.TextChoices):
        AGENT = "agent", _("Agent")
        TEAM = "team", _("Team")

    month = models.DateField(_("month"), help_text="The first day of the month rated.")
    subject = models.CharField(_("rated"), max_length=5, choices=Subject.choices)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="star_ratings")
    team = models.ForeignKey("servicedesk.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="star_ratings")
    stars = models.PositiveSmallIntegerField(_("stars"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=4)
    # {kpi: {"numerator", "denominator", "value", "target", "attainment", "weight"}}: why these stars.
    basis = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("star rating")
        verbose_name_plural = _("star ratings")
        ordering = ["-month", "-stars", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["month", "agent"], condition=Q(subject="agent"), name="rating_once_per_agent_month"),
            models.UniqueConstraint(fields=["month", "team"], condition=Q(subject="team"), name="rating_once_per_team_month"),
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="rating_stars_1_to_5"),
            models.CheckConstraint(
                condition=Q(subject="agent", agent__isnull=False, team__isnull=True) | Q(subject="team", team__isnull=False, agent__isnull=True),
                name="rating_subject_matches",
            ),
        ]
        indexes = [
            models.Index(fields=["month", "subject", "-stars"], name="rating_month_idx"),
            models.Index(fields=["agent", "-month"], name="rating_agent_idx"),
            models.Index(fields=["team", "-month"], name="rating_team_idx"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.agent or self.team}: {self.stars}★"
