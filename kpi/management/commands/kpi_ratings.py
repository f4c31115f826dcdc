from datetime import date

from django.core.management.base import BaseCommand

from kpi import ratings


class Command(BaseCommand):
    help = "Compute the star ratings of agents and teams for a month (default: last month)."

    def add_arguments(self, parser):
        parser.add_argument("--month", type=lambda s: date.fromisoformat(s + "-01"), help="YYYY-MM")

    def handle(self, *args, month=None, **options):
        month = month or ratings.previous_month()
        rated = ratings.ratings_compute(month=month)
        self.stdout.write(self.style.SUCCESS(f"{month:%Y-%m}: {rated} agents and teams rated"))
