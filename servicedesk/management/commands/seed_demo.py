"""``manage.py seed_demo [--customers N] [--seed S] [--reset]``: a demo call centre.

Staff in every role (password ``demo1234``), areas, teams, departments, tariff
plans, scripts, and N customers with subscriptions and contacts. Running it
again changes nothing but tops customers up to N; ``--reset`` deletes the
customers, subscriptions and contacts first. The generation lives in
``servicedesk.demo``.
"""
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from servicedesk import demo


class Command(BaseCommand):
    help = "Create demo staff (password demo1234), reference data and N customers with subscriptions and contacts."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000, help="Customers wanted in total (default 1000).")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed (same seed, same data).")
        parser.add_argument("--reset", action="store_true", help="Delete all customers, subscriptions and contacts first.")
        parser.add_argument("--batch-size", type=int, default=demo.DEFAULT_BATCH, help="Customers per insert batch.")
        parser.add_argument(
            "--force", action="store_true",
            help="Run although DEBUG is off: the demo logins have a published password.",
        )

    def handle(self, *args, customers, seed, reset, batch_size, force, **options):
        if customers < 0 or batch_size < 1:
            raise CommandError("--customers must be >= 0 and --batch-size >= 1.")
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this may be a real system: seed_demo creates an 'admin' superuser and staff "
                f"whose password is {demo.DEMO_PASSWORD!r}. Pass --force if this really is a demo system."
            )
        started = time.perf_counter()
        result = demo.seed_demo(customers, seed=seed, reset=reset, batch_size=batch_size, log=self._log)
        self._print_logins(result)
        self._log(f"Done in {time.perf_counter() - started:.1f} s.")

    def _log(self, line: str) -> None:
        self.stdout.write(line)

    def _print_logins(self, result: demo.SeedResult) -> None:
        rows = [("username", "role", "password", "team / department / area")]
        rows += [(login.username, login.roles, login.password, login.where) for login in result.logins]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (all with password %s):" % demo.DEMO_PASSWORD))
        for index, row in enumerate(rows):
            line = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]
            self.stdout.write(self.style.MIGRATE_LABEL(line) if index == 0 else line)
        if result.api_token:
            self.stdout.write(f"API token of api1: {result.api_token}  (header: Authorization: Token {result.api_token})")
        if result.try_numbers:
            numbers = " or ".join(result.try_numbers)
            self.stdout.write(self.style.SUCCESS(f"Log in as agent1 / {demo.DEMO_PASSWORD} and try searching {numbers}."))
