"""How long does the server take to find a customer by service number?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_bench \\
        .venv/bin/python bench/customer_lookup.py --customers 1000000 --lookups 2000

Seeds the database up to --customers (servicedesk.demo, as ``manage.py seed_demo``),
then times, in-process through Django's test client (no network, no WSGI server):

  api      GET /api/v1/customers/?service_number=N   token-authenticated agent
  search   GET /?q=N                                   logged-in agent; 302 to the customer when found
  screen   GET /customers/<id>/                        the customer screen the search redirects to

over random existing numbers plus ~10 % unknown ones, and prints p50/p95/p99/max
in milliseconds against the goal p95 < 50 ms. It prints; it does not assert.
Meaningful only on PostgreSQL (see bench/README.md).
"""
import argparse
import os
import random
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

GOAL_P95_MS = 50.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000, help="Customers to have in the database (seeded if fewer).")
    parser.add_argument("--lookups", type=int, default=2000, help="Timed requests per endpoint.")
    parser.add_argument("--unknown", type=float, default=0.10, help="Share of numbers that belong to nobody (default 0.10).")
    parser.add_argument("--warmup", type=int, default=50, help="Untimed requests per endpoint first.")
    parser.add_argument("--seed", type=int, default=None, help="Seed for the data and for the choice of numbers.")
    parser.add_argument("--agent", default="agent1", help="Demo user the requests run as (default agent1).")
    return parser.parse_args()


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Timings:
    def __init__(self, name: str):
        self.name = name
        self.ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.queries: int | None = None
        self.error = ""  # set when the endpoint could not be measured at all
        self.note = ""  # the first unexpected response, printed under the table

    def add(self, elapsed_ns: int, response, expected: tuple[int, ...] = (200,)) -> None:
        self.ms.append(elapsed_ns / 1e6)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code not in expected and not self.note:
            self.note = f"{self.name}: status {response.status_code}: {response.content[:300]!r}"

    def row(self) -> str:
        if self.error:
            return f"{self.name:<34} {'-':>6}  not measured: {self.error}"
        values = sorted(self.ms)
        p50, p95, p99 = (percentile(values, s) for s in (0.50, 0.95, 0.99))
        verdict = "ok" if p95 < GOAL_P95_MS else "MISSED"
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(self.statuses.items()))
        queries = "" if self.queries is None else f"{self.queries:>3}"
        return (
            f"{self.name:<34} {len(values):>6} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f} {values[-1]:>8.2f}  {verdict:<7}"
            f" {queries:>7}  {statuses}"
        )


def main():
    args = parse_args()

    import django

    django.setup()
    # WhiteNoise warns that STATIC_ROOT is missing once DEBUG is off; irrelevant here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from servicedesk import demo
    from servicedesk.models import Contact, Customer, Subscription, User

    seed = demo.DEFAULT_SEED if args.seed is None else args.seed
    vendor = connection.vendor
    print(f"Database: {vendor} {connection.settings_dict.get('NAME')}")
    if vendor != "postgresql":
        print("WARNING: not PostgreSQL. Production runs on PostgreSQL; these figures say little about it.")

    # 1. Data ------------------------------------------------------------------------------
    started = time.perf_counter()
    result = demo.seed_reference(log=lambda line: None)
    demo.seed_customers(args.customers, seed=seed, log=print, result=result)
    seeding = time.perf_counter() - started
    if result.customers_created:
        print(f"Seeding: {result.customers_created:,} customers in {result.customer_seconds:.1f} s ({seeding:.1f} s in all).")
    if vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give soon after a load
            cursor.execute("ANALYZE servicedesk_customer, servicedesk_subscription, servicedesk_contact")
    customers = Customer.objects.count()
    subscriptions = Subscription.objects.count()
    print(f"Rows: {customers:,} customers, {subscriptions:,} subscriptions, {Contact.objects.count():,} contacts.")

    # 2. Numbers to look up ---------------------------------------------------------------------
    rng = random.Random(seed)
    unknown_n = round(args.lookups * args.unknown)
    known = _random_existing_numbers(rng, args.lookups - unknown_n, Subscription)
    unknown = _unknown_numbers(rng, unknown_n, demo)
    numbers = [(n, True) for n in known] + [(n, False) for n in unknown]
    rng.shuffle(numbers)
    warmup = [(n, True) for n in _random_existing_numbers(rng, args.warmup, Subscription)]

    # 3. Clients, as in production: DEBUG off (no query log, no template debug) ----------------------
    settings.DEBUG = False
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    agent = User.objects.get(username=args.agent)
    token, _ = Token.objects.get_or_create(user=agent)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    console = Client()
    console.force_login(agent)

    api_known, api_unknown = Timings("api    known number"), Timings("api    unknown number")
    search_known, search_unknown = Timings("search known number (302)"), Timings("search unknown number (200)")
    screen = Timings("screen customer page (200)")
    redirects: list[str] = []

    def timed(client, path, **query):
        t0 = time.perf_counter_ns()
        response = client.get(path, query)
        return time.perf_counter_ns() - t0, response

    # Warm up: imports, URL resolver, template loading, connection, caches.
    for number, _known in warmup:
        timed(api, "/api/v1/customers/", service_number=number)
        _elapsed, response = timed(console, "/", q=number)
        if response.status_code == 302:
            try:
                timed(console, response["Location"])
            except Exception as exc:  # the console is being built: report, do not stop
                screen.error = f"{type(exc).__name__}: {exc}"[:200]

    for number, is_known in numbers:
        elapsed, response = timed(api, "/api/v1/customers/", service_number=number)
        (api_known if is_known else api_unknown).add(elapsed, response)
    for number, is_known in numbers:
        elapsed, response = timed(console, "/", q=number)
        if is_known:
            search_known.add(elapsed, response, expected=(302,))
        else:
            search_unknown.add(elapsed, response)
        if response.status_code == 302:
            redirects.append(response["Location"])
    if not screen.error:
        for location in redirects:
            try:
                elapsed, response = timed(console, location)
            except Exception as exc:
                screen.error = f"{type(exc).__name__}: {exc}"[:200]
                break
            screen.add(elapsed, response)

    # Queries per request, one sample each.
    sample_known = known[0] if known else ""
    sample_unknown = unknown[0] if unknown else ""
    for timings, client, path, query in (
        (api_known, api, "/api/v1/customers/", {"service_number": sample_known}),
        (api_unknown, api, "/api/v1/customers/", {"service_number": sample_unknown}),
        (search_known, console, "/", {"q": sample_known}),
        (search_unknown, console, "/", {"q": sample_unknown}),
    ):
        with CaptureQueriesContext(connection) as ctx:
            client.get(path, query)
        timings.queries = len(ctx.captured_queries)
    if redirects and not screen.error:
        with CaptureQueriesContext(connection) as ctx:
            console.get(redirects[0])
        screen.queries = len(ctx.captured_queries)

    # 4. Report -----------------------------------------------------------------------------
    print()
    print(f"Server time per request in ms ({customers:,} customers, {vendor}); goal: p95 < {GOAL_P95_MS:.0f} ms")
    print(f"{'endpoint':<34} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  {'goal':<7} {'queries':>7}  statuses")
    rows = (api_known, api_unknown, search_known, search_unknown, screen)
    for timings in rows:
        if timings.ms or timings.error:
            print(timings.row())
    for timings in rows:
        if timings.note:
            print("Unexpected response: " + timings.note)
    print()
    print("In-process Django test client: includes middleware, auth, session and DB; excludes network and the WSGI server.")


def _random_existing_numbers(rng: random.Random, count: int, Subscription) -> list[str]:
    """``count`` numbers of random subscriptions, picked by id without scanning the table."""
    from django.db.models import Max, Min

    if count <= 0:
        return []
    bounds = Subscription.objects.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return []
    found: list[str] = []
    for _attempt in range(20):
        ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(max(50, (count - len(found)) * 2))]
        for i in range(0, len(ids), 900):
            found.extend(Subscription.objects.filter(id__in=ids[i : i + 900]).values_list("service_number", flat=True))
        if len(found) >= count:
            break
    rng.shuffle(found)
    return found[:count]


def _unknown_numbers(rng: random.Random, count: int, demo) -> list[str]:
    """Valid mobile numbers that no subscription has."""
    numbers: set[str] = set()
    while len(numbers) < count:
        candidates = {f"{rng.choice(demo.MOBILE_PREFIXES)}{rng.randrange(10**8):08d}" for _ in range(count * 2)}
        candidates -= demo._existing_numbers(sorted(candidates))
        numbers.update(list(candidates)[: count - len(numbers)])
    return sorted(numbers)


if __name__ == "__main__":
    main()
