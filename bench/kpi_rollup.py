"""How long do the KPI rollups take at ten million contacts, and how fast is the dashboard?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_kpibench \\
        .venv/bin/python bench/kpi_rollup.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_kpibench_small \\
        .venv/bin/python bench/kpi_rollup.py --small

Creates the database if it is missing and migrates it. Seeds it (unless it already holds
exactly the sizes asked for; --reseed empties it and seeds again) with INSERT ... SELECT over
generate_series, all in the server: customers with areas and VIP tiers, subscriptions, agents in
teams, products, carriers, complaint categories, and the facts spread over the 365 days ending
today (Asia/Shanghai) with their KPI anchors filled as the apps' transitions fill them: contacts,
orders (decided / accepted / accept_by), shipments (closed / delivered), complaints (first
resolution, transfers, reopens, closing), satisfaction callbacks, repair work orders,
opportunities, and the transition logs the incremental update reads. VACUUM ANALYZE after.

Then, each step printing its figures (it does not assert):

  rollup     kpi.rollups.rebuild over the 365 days (total and per source), against ONE
             hand-written GROUP BY GROUPING SETS per fact table over the same rows, written into a
             temporary table in the same long shape (goal: within 1.5x); the results are compared
             row for row.
  update     kpi.rollups.rollups_update() as beat runs it (today and yesterday; goal: under 5 s), with
             and without the hourly recount of active subscriptions; then after a few hundred late
             changes (complaints reopened, orders cancelled, deliveries reported by the carrier, weeks
             after their anchor day), which recompute every day they touch.
  dashboard  GET /kpi/ (this month), the whole year, and the breakdown by agent, as a manager,
             through Django's test client (goal: p95 under 200 ms). EXPLAIN (ANALYZE, BUFFERS) of every query one
             request runs, flagging a sequential scan of kpi_rollup or of a fact table.

PostgreSQL only: use a database of the bench's own (seeding empties its fact tables).
"""
import argparse
import os
import sys
import time
import uuid
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

GOAL_RATIO = 1.5
GOAL_UPDATE_S = 5.0
GOAL_P95_MS = 200.0
DAYS = 365
STEPS = ("seed", "rollup", "update", "dashboard")

# Fact and log tables the seeding writes (emptied by --reseed), biggest first.
FACT_TABLES = [
    "servicedesk_contact", "orders_order", "orders_ordertransition", "delivery_shipment", "delivery_shipmenttransition",
    "delivery_trackingevent", "complaints_complaint",
    "complaints_complainttransition", "complaints_callback", "complaints_workorder", "orders_opportunity",
    "servicedesk_subscription", "servicedesk_customer",
]
# What a dashboard query must never scan whole.
BIG_TABLES = ["kpi_rollup", *FACT_TABLES]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--shipments", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--subscriptions", type=int, default=None, help="Default: 1.5 per customer.")
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=60)
    parser.add_argument("--areas", type=int, default=148)
    parser.add_argument("--small", action="store_true", help="1,000 rows of each fact table (use another database).")
    parser.add_argument("--reseed", action="store_true", help="Empty the fact tables and seed again.")
    parser.add_argument("--only", default=",".join(STEPS), help=f"Comma-separated steps among {', '.join(STEPS)}.")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each rollup timing; the best is kept (default 2).")
    parser.add_argument("--late-changes", type=int, default=300, help="Complaints reopened late before the timed update.")
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per dashboard page.")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--indexed", action="store_true", help="Also time the hand-written rows into a table with kpi_rollup's indexes (slow).")
    args = parser.parse_args()
    if args.small:
        args.contacts = args.orders = args.complaints = args.shipments = args.customers = 1000
        args.opportunities, args.agents, args.teams = 200, 50, 6
    args.subscriptions = args.subscriptions if args.subscriptions is not None else args.customers * 3 // 2
    args.steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    return args


def ensure_database():
    """CREATE DATABASE for DATABASE_URL when it does not exist (before Django connects to it)."""
    import environ
    import psycopg2

    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the bench's own, e.g. postgres://postgres@127.0.0.1:5432/sd_kpibench")
    admin = psycopg2.connect(
        dbname="postgres", host=config.get("HOST") or None, port=config.get("PORT") or None,
        user=config.get("USER") or None, password=config.get("PASSWORD") or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
            print(f"created database {config['NAME']}")
    admin.close()


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def sql(statement: str, params=None, *, fetch: bool = False):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if fetch else cursor.rowcount


# --- 1. Seeding ----------------------------------------------------------------------------------

def seeded(args) -> bool:
    from complaints.models import Complaint
    from delivery.models import Shipment
    from orders.models import Opportunity, Order
    from servicedesk.models import Contact, Customer

    return (
        Contact.objects.count() == args.contacts and Order.objects.count() == args.orders
        and Complaint.objects.count() == args.complaints and Shipment.objects.count() == args.shipments
        and Customer.objects.count() == args.customers and Opportunity.objects.count() == args.opportunities
    )


def reference_data(args) -> dict:
    """Areas, teams, departments, agents, a manager, products, carriers, categories (idempotent)."""
    from django.contrib.auth.models import Group

    from complaints.models import ComplaintCategory
    from delivery.models import Carrier, Warehouse
    from orders.models import Flow, Product, ProductCategory
    from servicedesk.models import Department, ServiceArea, TariffPlan, Team, User
    from servicedesk.roles import Role

    areas = [ServiceArea.objects.get_or_create(code=f"KB{i:03d}", defaults={"name": f"Bench area {i:03d}", "district": "Bench"})[0].pk
             for i in range(args.areas)]
    teams = [Team.objects.get_or_create(name=f"KPI bench team {i:02d}")[0].pk for i in range(args.teams)]
    departments = [Department.objects.get_or_create(code=f"KB{i:02d}", defaults={"name": f"Bench department {i:02d}"})[0].pk
                   for i in range(12)]
    have = set(User.objects.filter(username__startswith="kb_agent").values_list("username", flat=True))
    User.objects.bulk_create([
        User(username=f"kb_agent{i:04d}", first_name=f"Agent {i:04d}", password="!", team_id=teams[i % len(teams)],
             department_id=departments[i % len(departments)], employee_no=f"KB{i:04d}")
        for i in range(args.agents) if f"kb_agent{i:04d}" not in have
    ], batch_size=1000)
    agents = list(User.objects.filter(username__startswith="kb_agent").order_by("username").values_list("pk", flat=True)[: args.agents])
    manager, _ = User.objects.get_or_create(username="kb_manager", defaults={"first_name": "Bench manager"})
    manager.groups.set([Group.objects.get(name=Role.MANAGER.value)])

    plan = TariffPlan.objects.get_or_create(code="KB-PLAN", defaults={"name": "Bench plan", "monthly_fee": 99})[0].pk
    back_office = ProductCategory.objects.get_or_create(
        code="KB-BACK", defaults={"name": "Bench back-office", "flow": Flow.BACK_OFFICE, "acceptance_limit_hours": 24})[0]
    direct = ProductCategory.objects.get_or_create(code="KB-DIRECT", defaults={"name": "Bench direct", "flow": Flow.DIRECT})[0]
    products = {
        category.flow: [Product.objects.get_or_create(code=f"KB-{category.flow}-{i:02d}", defaults={
            "name": f"Bench {category.flow} product {i:02d}", "category": category})[0].pk for i in range(20)]
        for category in (back_office, direct)
    }
    carriers = [Carrier.objects.get_or_create(code=f"KB-CARRIER-{i}", defaults={"name": f"Bench carrier {i}", "kind": "express"})[0].pk
                for i in range(6)]
    warehouse = Warehouse.objects.get_or_create(code="KB-STORE", defaults={"name": "Bench store", "level": 1})[0].pk
    categories = []
    for i in range(30):
        categories.append(ComplaintCategory.objects.get_or_create(code=f"KB{i:02d}", defaults={
            "name": f"Bench complaint kind {i:02d}", "department_id": departments[i % len(departments)],
            "time_limit_hours": (24, 48, 72)[i % 3], "is_fault": i % 3 == 0, "repair_limit_hours": (24, 48)[i % 2],
        })[0])
    return {
        "areas": areas, "agents": agents, "manager": manager, "plan": plan, "carriers": carriers, "warehouse": warehouse,
        "back_office_products": products[Flow.BACK_OFFICE], "direct_products": products[Flow.DIRECT],
        "cat_ids": [c.pk for c in categories], "cat_limits": [c.time_limit_hours for c in categories],
        "cat_repair_limits": [c.repair_limit_hours for c in categories], "cat_faults": [c.is_fault for c in categories],
        "cat_departments": [c.department_id for c in categories],
    }


# Weighted choices as arrays the SQL picks from uniformly.
CONTACT_CHANNELS = ["hotline"] * 11 + ["ivr"] * 3 + ["web_hall", "app_hall", "app_hall", "sms_hall", "walk_in", "outbound"]
ORDER_CHANNELS = ["hotline"] * 4 + ["web_hall", "app_hall", "app_hall", "walk_in", "outbound", "outbound"]
COMPLAINT_CHANNELS = ["hotline"] * 6 + ["web_hall", "app_hall", "sms_hall", "walk_in"]

# Each statement is INSERT ... SELECT in the server; random() per row comes from an inner
# SELECT with OFFSET 0, so that one draw feeds several columns consistently.
SEED_SQL = {
    "servicedesk_customer": """
        INSERT INTO servicedesk_customer (name, id_type, id_number, address, vip_tier, created_at, area_id)
        SELECT 'KB customer ' || g, 'resident_id', '', '',
               CASE WHEN r_tier < 0.01 THEN 'diamond' WHEN r_tier < 0.05 THEN 'gold' WHEN r_tier < 0.15 THEN 'silver' ELSE 'ordinary' END,
               %(start)s::timestamptz - r_age * interval '3650 days',
               CASE WHEN r_area < 0.97 THEN (%(areas)s::bigint[])[1 + g %% %(n_areas)s] END
        FROM (SELECT g, random() AS r_tier, random() AS r_age, random() AS r_area
              FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
    """,
    "servicedesk_subscription": """
        INSERT INTO servicedesk_subscription (service_number, status, activated_on, monthly_spend, customer_id, tariff_plan_id)
        SELECT '13' || lpad(g::text, 9, '0'), CASE WHEN r_status < 0.95 THEN 'active' ELSE 'closed' END,
               CASE WHEN r_when < 0.85 THEN (%(start)s::timestamptz - r_days * interval '3000 days')
                    ELSE %(start)s::timestamptz + r_days * interval '365 days' END AT TIME ZONE 'Asia/Shanghai',
               0, %(cust_lo)s + (g - 1) %% %(n_cust)s, %(plan)s
        FROM (SELECT g, random() AS r_status, random() AS r_when, random() AS r_days
              FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
    """,
    "servicedesk_contact": """
        INSERT INTO servicedesk_contact (channel, service_number, reason, business, outcome, notes, started_at, ended_at, agent_id, customer_id)
        SELECT ch, '', 'bench', '', 'resolved', '', t,
               CASE WHEN r_end < 0.97 AND t + dur <= %(now)s THEN t + dur END,
               CASE WHEN ch <> 'ivr' THEN (%(agents)s::bigint[])[1 + floor(r_agent * %(n_agents)s)::int] END,
               CASE WHEN r_cust < 0.9 THEN %(cust_lo)s + floor(r_cust / 0.9 * %(n_cust)s)::bigint END
        FROM (SELECT %(start)s::timestamptz + (g - 1 + random()) * %(step)s * interval '1 second' AS t,
                     (%(channels)s::text[])[1 + floor(random() * %(n_channels)s)::int] AS ch,
                     (20 + random() * 880) * interval '1 second' AS dur,
                     random() AS r_end, random() AS r_agent, random() AS r_cust
              FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
    """,
    # Back office: accepted (accepted_at = decided_at) or rejected, within 0.2..30 h of a 24 h limit;
    # direct: provisioned or failed within minutes. Still undecided when that moment is after now.
    "orders_order": """
        INSERT INTO orders_order (flow, status, service_number, price, delivery_address, appointment_date, appointment_slot,
            channel, notes, submitted_at, accept_by, priority, claim_expires_at, accepted_at, urgent_activation,
            billing_reference, closing_reason, closed_at, claimed_by_id, contact_id, created_by_id, customer_id,
            pool_number_id, product_id, external_id, decided_at)
        SELECT flow, status, '', 0, '', NULL, '', ch, '', t, accept_by, 0, NULL,
               CASE WHEN status IN ('accepted', 'handed_to_delivery', 'delivered', 'activated', 'cancelled') THEN decided END,
               false, '', '',
               CASE WHEN status IN ('rejected', 'failed', 'completed') THEN decided
                    WHEN status = 'cancelled' THEN LEAST(decided + interval '1 hour', %(now)s) END,
               NULL, NULL, agent, customer, NULL, product, '',
               CASE WHEN status <> 'submitted' THEN decided END
        FROM (SELECT *,
                     CASE WHEN decided > %(now)s THEN 'submitted'
                          WHEN flow = 'back_office' AND r_outcome < 0.04 THEN 'rejected'
                          WHEN flow = 'back_office' AND r_after < 0.02 THEN 'cancelled'
                          WHEN flow = 'back_office' AND r_after < 0.70 THEN 'activated'
                          WHEN flow = 'back_office' AND r_after < 0.85 THEN 'delivered'
                          WHEN flow = 'back_office' THEN 'handed_to_delivery'
                          WHEN r_outcome < 0.03 THEN 'failed'
                          WHEN r_after < 0.70 THEN 'completed'
                          ELSE 'provisioned' END AS status
              FROM (SELECT *,
                           CASE WHEN flow = 'back_office' THEN t + interval '24 hours' END AS accept_by,
                           CASE WHEN flow = 'back_office' THEN t + (0.2 + r_delay * r_delay * 30) * interval '1 hour'
                                ELSE t + (5 + r_delay * 300) * interval '1 second' END AS decided,
                           CASE WHEN flow = 'back_office' THEN (%(bo_products)s::bigint[])[1 + floor(r_product * 20)::int]
                                ELSE (%(direct_products)s::bigint[])[1 + floor(r_product * 20)::int] END AS product
                    FROM (SELECT %(start)s::timestamptz + (g - 1 + random()) * %(step)s * interval '1 second' AS t,
                                 CASE WHEN random() < 0.6 THEN 'back_office' ELSE 'direct' END AS flow,
                                 (%(channels)s::text[])[1 + floor(random() * %(n_channels)s)::int] AS ch,
                                 CASE WHEN random() < 0.95 THEN (%(agents)s::bigint[])[1 + floor(random() * %(n_agents)s)::int] END AS agent,
                                 %(cust_lo)s + floor(random() * %(n_cust)s)::bigint AS customer,
                                 random() AS r_delay, random() AS r_outcome, random() AS r_after, random() AS r_product
                          FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x OFFSET 0) y OFFSET 0) z
    """,
    "orders_ordertransition": """
        INSERT INTO orders_ordertransition (from_state, to_state, transition, at, reason, by_id, order_id)
        SELECT 'submitted', status, 'decide', decided_at, '', NULL, id
        FROM orders_order WHERE decided_at IS NOT NULL AND id BETWEEN %(lo)s AND %(hi)s
    """,
    # One shipment per order (by id, so in time order too); beyond the orders, returned re-sends.
    "delivery_shipment": """
        INSERT INTO delivery_shipment (carrier_chosen_by_clerk, tracking_number, status, appointment_date, appointment_slot,
            attempts, amount_due, amount_collected, payment_method, pos_reference, signed_by, id_checked, failure_reason,
            created_at, delivered_at, last_event_at, carrier_id, order_id, warehouse_id, closed_at)
        SELECT false, 'KB' || g, status, NULL, '', 1, 0, NULL, '', '', '', false, '', created,
               CASE WHEN status = 'delivered' THEN finished END, NULL, carrier, order_id, %(warehouse)s,
               CASE WHEN status IN ('delivered', 'returned') THEN finished
                    WHEN status = 'cancelled' THEN created + interval '10 minutes' END
        FROM (SELECT *,
                     CASE WHEN finished > %(now)s THEN 'handed_to_carrier'
                          WHEN g > %(n_orders)s OR r_outcome < 0.06 THEN 'returned'
                          WHEN r_outcome < 0.08 AND created + interval '10 minutes' <= %(now)s THEN 'cancelled'
                          ELSE 'delivered' END AS status
              FROM (SELECT g, o.id AS order_id, o.submitted_at + (1 + r_created * 5) * interval '1 hour' AS created,
                           o.submitted_at + (1 + r_created * 5 + 8 + r_took * r_took * 100) * interval '1 hour' AS finished,
                           r_outcome, (%(carriers)s::bigint[])[1 + floor(r_carrier * %(n_carriers)s)::int] AS carrier
                    FROM (SELECT g, random() AS r_created, random() AS r_took, random() AS r_outcome, random() AS r_carrier
                          FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
                    JOIN orders_order o ON o.id = %(order_lo)s + (g - 1) %% %(n_orders)s) y OFFSET 0) z
    """,
    # The shipment's closing step, and the carrier's event that reported a delivery (received a little later).
    "delivery_shipmenttransition": """
        INSERT INTO delivery_shipmenttransition (from_state, to_state, transition, at, reason, by_id, shipment_id)
        SELECT CASE status WHEN 'cancelled' THEN 'created' ELSE 'out_for_delivery' END, status,
               CASE status WHEN 'delivered' THEN 'deliver' WHEN 'returned' THEN 'return_to_stock' ELSE 'cancel' END,
               closed_at, '', NULL, id
        FROM delivery_shipment WHERE closed_at IS NOT NULL AND id BETWEEN %(lo)s AND %(hi)s
    """,
    "delivery_trackingevent": """
        INSERT INTO delivery_trackingevent (event_id, code, occurred_at, received_at, payload, applied, carrier_id, shipment_id)
        SELECT 'KB' || id, 'delivered', delivered_at, delivered_at + random() * interval '10 minutes', '{}', true, carrier_id, id
        FROM delivery_shipment WHERE delivered_at IS NOT NULL AND id BETWEEN %(lo)s AND %(hi)s
    """,
    # Resolved within 1 h .. 1.25 x the category's limit; 12 % transferred, 8 % reopened once
    # (a day later); closed 2..48 h after resolution (plus a day per reopen) when that is past.
    "complaints_complaint": """
        INSERT INTO complaints_complaint (severity, service_number, description, channel, status, received_at, due_at,
            resolution, resolved_at, closed_at, escalated, escalation_reason, appeal, appeal_due_at, reopen_count,
            external_id, area_id, contact_id, created_by_id, customer_id, department_id, first_ask_owner_id, category_id,
            first_resolved_at, transfer_count)
        SELECT 'normal', '', 'bench', ch,
               CASE WHEN NOT resolved THEN 'in_progress' WHEN closed <= %(now)s THEN 'closed' ELSE 'callback' END,
               t, t + lim * interval '1 hour', CASE WHEN resolved THEN 'bench' ELSE '' END,
               CASE WHEN resolved THEN LEAST(first_resolved + reopens * interval '12 hours', %(now)s) END,
               CASE WHEN resolved AND closed <= %(now)s THEN closed END,
               false, '', r_appeal < 0.03, NULL, CASE WHEN resolved THEN reopens ELSE 0 END, '', area, NULL, NULL, customer,
               department, agent, category,
               CASE WHEN resolved THEN first_resolved END,
               CASE WHEN r_transfer < 0.10 THEN 1 WHEN r_transfer < 0.12 THEN 2 ELSE 0 END
        FROM (SELECT *, first_resolved <= %(now)s AS resolved,
                     first_resolved + (2 + r_close * 46 + 24 * reopens) * interval '1 hour' AS closed
              FROM (SELECT x.*, cu.area_id AS area,
                           (%(cat_ids)s::bigint[])[k] AS category, (%(cat_departments)s::bigint[])[k] AS department,
                           (%(cat_limits)s::int[])[k] AS lim,
                           t + (1 + power(r_resolve, 1.3) * 1.25 * (%(cat_limits)s::int[])[k]) * interval '1 hour' AS first_resolved,
                           CASE WHEN r_reopen < 0.08 THEN 1 ELSE 0 END AS reopens
                    FROM (SELECT %(start)s::timestamptz + (g - 1 + random()) * %(step)s * interval '1 second' AS t,
                                 1 + floor(random() * %(n_cats)s)::int AS k,
                                 (%(channels)s::text[])[1 + floor(random() * %(n_channels)s)::int] AS ch,
                                 (%(agents)s::bigint[])[1 + floor(random() * %(n_agents)s)::int] AS agent,
                                 %(cust_lo)s + floor(random() * %(n_cust)s)::bigint AS customer,
                                 random() AS r_resolve, random() AS r_reopen, random() AS r_transfer, random() AS r_close,
                                 random() AS r_appeal
                          FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
                    JOIN servicedesk_customer cu ON cu.id = x.customer) y OFFSET 0) z
    """,
    "complaints_complainttransition": """
        INSERT INTO complaints_complainttransition (from_state, to_state, transition, at, reason, by_id, complaint_id)
        SELECT CASE status WHEN 'closed' THEN 'callback' ELSE 'assigned' END, status,
               CASE status WHEN 'closed' THEN 'close' WHEN 'callback' THEN 'await_callback' ELSE 'start' END,
               COALESCE(closed_at, first_resolved_at, received_at), '', NULL, id
        FROM complaints_complaint WHERE id BETWEEN %(lo)s AND %(hi)s
    """,
    # The 100 % callback: completed (scored) for 93 % of closed complaints, exhausted for the rest,
    # due for those awaiting it.
    "complaints_callback": """
        INSERT INTO complaints_callback (kind, status, due_at, attempts, max_attempts, reached, satisfaction, solved,
            repair_time_score, technician_score, notes, completed_at, by_id, complaint_id)
        SELECT 'satisfaction', status, first_resolved_at + interval '24 hours',
               CASE WHEN status = 'due' THEN 0 WHEN status = 'exhausted' THEN 3 ELSE 1 END, 3,
               CASE WHEN status = 'completed' THEN true WHEN status = 'exhausted' THEN false END,
               CASE WHEN status = 'completed' THEN
                    CASE WHEN r_score < 0.05 THEN 1 WHEN r_score < 0.10 THEN 2 WHEN r_score < 0.20 THEN 3 WHEN r_score < 0.50 THEN 4 ELSE 5 END END,
               CASE WHEN status = 'completed' THEN r_score >= 0.2 END, NULL, NULL, '',
               CASE WHEN status = 'completed' THEN closed_at - r_when * interval '30 minutes' END,
               CASE WHEN status <> 'due' THEN agent END, id
        FROM (SELECT c.id, c.first_resolved_at, c.closed_at,
                     CASE WHEN c.status = 'callback' THEN 'due' WHEN random() < 0.93 THEN 'completed' ELSE 'exhausted' END AS status,
                     random() AS r_score, random() AS r_when,
                     (%(agents)s::bigint[])[1 + floor(random() * %(n_agents)s)::int] AS agent
              FROM complaints_complaint c
              WHERE c.status IN ('closed', 'callback') AND c.id BETWEEN %(lo)s AND %(hi)s OFFSET 0) x
    """,
    # Fault complaints get a repair work order: done within 0..1.3 x the repair limit, never
    # after the complaint's first resolution.
    "complaints_workorder": """
        INSERT INTO complaints_workorder (kind, status, opened_at, due_at, done_at, breached_at, technician, complaint_id,
            department_id, handler_id)
        SELECT 'repair', CASE WHEN done IS NULL THEN 'open' ELSE 'done' END, opened, due, done, NULL, 'bench', id, department_id, agent
        FROM (SELECT *, CASE WHEN first_resolved_at IS NOT NULL
                             THEN LEAST(first_resolved_at, opened + r_took * r_took * 1.3 * repair_limit * interval '1 hour') END AS done
              FROM (SELECT c.id, c.first_resolved_at, c.department_id, c.received_at + interval '10 minutes' AS opened,
                           c.received_at + interval '10 minutes' + cat.repair_limit_hours * interval '1 hour' AS due,
                           cat.repair_limit_hours AS repair_limit, random() AS r_took,
                           (%(agents)s::bigint[])[1 + floor(random() * %(n_agents)s)::int] AS agent
                    FROM complaints_complaint c JOIN complaints_complaintcategory cat ON cat.id = c.category_id
                    WHERE cat.is_fault AND c.id BETWEEN %(lo)s AND %(hi)s OFFSET 0) x OFFSET 0) y
    """,
    "orders_opportunity": """
        INSERT INTO orders_opportunity (intent, callback_at, notes, status, overdue, overdue_notified_at, lost_reason,
            created_at, closed_at, assigned_to_id, contact_id, created_by_id, customer_id, order_id, product_id)
        SELECT 'medium', t + interval '1 day', '', status, false, NULL, CASE WHEN status = 'lost' THEN 'bench' ELSE '' END,
               t, CASE WHEN status <> 'open' THEN closes END, agent, NULL, agent, customer, NULL, product
        FROM (SELECT *, CASE WHEN closes > %(now)s OR r_open < 0.05 THEN 'open' WHEN r_won < 0.3 THEN 'converted' ELSE 'lost' END AS status
              FROM (SELECT %(start)s::timestamptz + (g - 1 + random()) * %(step)s * interval '1 second' AS t,
                           random() AS r_open, random() AS r_won, random() AS r_closes,
                           (%(agents)s::bigint[])[1 + floor(random() * %(n_agents)s)::int] AS agent,
                           %(cust_lo)s + floor(random() * %(n_cust)s)::bigint AS customer,
                           (%(products)s::bigint[])[1 + floor(random() * %(n_products)s)::int] AS product
                    FROM generate_series(%(lo)s, %(hi)s) g OFFSET 0) x
              CROSS JOIN LATERAL (SELECT x.t + (1 + x.r_closes * x.r_closes * 240) * interval '1 hour' AS closes) c OFFSET 0) y
    """,
}


def _bulk_load(table: str, statement: str, params: dict, lo: int, hi: int, chunk: int = 1_000_000) -> int:
    """Run ``statement`` over ids lo..hi in chunks, in one transaction, without the table's secondary
    indexes (rebuilt at the end: far faster than maintaining them row by row) and without the
    foreign-key triggers (every id the SQL draws exists by construction)."""
    from django.db import transaction

    started = time.perf_counter()
    written = 0
    with transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")
        sql("SET LOCAL maintenance_work_mem = '512MB'")
        sql("SET LOCAL work_mem = '256MB'")
        indexes = sql("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """, [table], fetch=True)
        for name, _definition in indexes:
            sql(f"DROP INDEX {name}")
        _default_missing_columns(table, statement)
        for first in range(lo, hi + 1, chunk):
            written += sql(statement, {**params, "lo": first, "hi": min(hi, first + chunk - 1)})
            if hi - lo >= chunk:
                print(f"    {table}: {written:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        for _name, definition in indexes:
            sql(definition)
        for (column,) in sql("SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_default IS NOT NULL "
                             "AND column_default NOT LIKE 'nextval%%' AND is_identity = 'NO'", [table], fetch=True):
            sql(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
    sql(f"ANALYZE {table}")
    print(f"  {table}: {written:,} rows, {len(indexes)} indexes rebuilt, {time.perf_counter() - started:.1f} s", flush=True)
    return written


def _default_missing_columns(table: str, statement: str) -> None:
    """Give the NOT NULL columns the statement does not name their model's default, for this transaction only
    (the apps add columns as they grow; the seeding need not know them all)."""
    import re

    from django.apps import apps
    from django.db import connection

    named = {c.strip() for c in re.search(r"INSERT INTO \w+ \(([^)]*)\)", statement).group(1).split(",")}
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    for field in model._meta.concrete_fields:
        if field.column in named or field.null or field.primary_key:
            continue
        value = field.get_db_prep_save(field.get_default(), connection)
        if value is None:
            raise SystemExit(f"{table}.{field.column} is NOT NULL without a default: name it in SEED_SQL[{table!r}]")
        sql(f"ALTER TABLE {table} ALTER COLUMN {field.column} SET DEFAULT %s", [value])


def seed(args, now: datetime, start: datetime):
    from django.db.models import Max, Min

    from complaints.models import Complaint
    from delivery.models import Shipment
    from orders.models import Order
    from servicedesk.models import Customer

    tables = ", ".join(FACT_TABLES + ["kpi_rollup", "kpi_rollupsource", "kpi_rebuildjob"])
    sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    ref = reference_data(args)
    span = (now - start).total_seconds()
    base = {
        "now": now, "start": start, "areas": ref["areas"], "n_areas": len(ref["areas"]), "agents": ref["agents"],
        "n_agents": len(ref["agents"]), "plan": ref["plan"], "warehouse": ref["warehouse"], "carriers": ref["carriers"],
        "n_carriers": len(ref["carriers"]), "bo_products": ref["back_office_products"], "direct_products": ref["direct_products"],
        "products": ref["back_office_products"] + ref["direct_products"], "n_products": 40,
        "cat_ids": ref["cat_ids"], "cat_limits": ref["cat_limits"], "cat_departments": ref["cat_departments"], "n_cats": len(ref["cat_ids"]),
    }

    def facts(n, channels=None):
        extra = {"step": span / n}
        if channels:
            extra.update(channels=channels, n_channels=len(channels))
        return {**base, **extra}

    def id_range(model):
        bounds = model.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
        return bounds["lo"] or 0, bounds["hi"] or -1

    _bulk_load("servicedesk_customer", SEED_SQL["servicedesk_customer"], base, 1, args.customers)
    cust_lo, cust_hi = id_range(Customer)
    base.update(cust_lo=cust_lo, n_cust=cust_hi - cust_lo + 1)
    _bulk_load("servicedesk_subscription", SEED_SQL["servicedesk_subscription"], base, 1, args.subscriptions)
    _bulk_load("servicedesk_contact", SEED_SQL["servicedesk_contact"], facts(args.contacts, CONTACT_CHANNELS), 1, args.contacts)
    _bulk_load("orders_order", SEED_SQL["orders_order"], facts(args.orders, ORDER_CHANNELS), 1, args.orders)
    order_lo, order_hi = id_range(Order)
    _bulk_load("orders_ordertransition", SEED_SQL["orders_ordertransition"], base, order_lo, order_hi)
    _bulk_load("delivery_shipment", SEED_SQL["delivery_shipment"], {**base, "order_lo": order_lo, "n_orders": order_hi - order_lo + 1},
               1, args.shipments)
    shipment_lo, shipment_hi = id_range(Shipment)
    for table in ("delivery_shipmenttransition", "delivery_trackingevent"):
        _bulk_load(table, SEED_SQL[table], base, shipment_lo, shipment_hi)
    _bulk_load("complaints_complaint", SEED_SQL["complaints_complaint"], facts(args.complaints, COMPLAINT_CHANNELS), 1, args.complaints)
    complaint_lo, complaint_hi = id_range(Complaint)
    for table in ("complaints_complainttransition", "complaints_callback", "complaints_workorder"):
        _bulk_load(table, SEED_SQL[table], base, complaint_lo, complaint_hi)
    _bulk_load("orders_opportunity", SEED_SQL["orders_opportunity"], facts(args.opportunities), 1, args.opportunities)


def report_rows():
    rows = sql("""
        SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c
        WHERE c.relname = ANY(%s) ORDER BY pg_total_relation_size(c.oid) DESC
    """, [FACT_TABLES], fetch=True)
    print("Rows (planner estimate after ANALYZE) and size with indexes:")
    for name, tuples, size in rows:
        print(f"  {name:<32} {tuples:>12,} rows {size / 2**20:>9,.0f} MB")


# --- 2. Full rollup against hand-written SQL ---------------------------------------------------------

# One hand-written query per fact source: the same rows (same joins and filters as kpi.facts), the
# same sums, grouped by day and by each dimension in turn, straight on the tables' own columns, then
# unpivoted into one row per KPI (where numerator or denominator is non-zero), as kpi_rollup holds them.
DAY = "(({col}) AT TIME ZONE 'Asia/Shanghai')::date"
HAND_SQL = {
    "contacts": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(c.agent_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(cu.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END AS dimension,
               COALESCE(c.agent_id::text, u.team_id::text, cu.area_id::text, c.channel, cu.vip_tier, '') AS key,
               count(*) AS contacts, count(c.ended_at) AS finished,
               COALESCE(sum(round(extract(epoch FROM c.ended_at - c.started_at))::bigint), 0) AS handling_seconds
        FROM servicedesk_contact c
        LEFT JOIN servicedesk_user u ON u.id = c.agent_id
        LEFT JOIN servicedesk_customer cu ON cu.id = c.customer_id
        WHERE c.started_at >= %(start)s AND c.started_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, c.agent_id), (1, u.team_id), (1, cu.area_id), (1, c.channel), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="c.started_at")),
        "('contact_volume', g.contacts, g.contacts), ('aht', g.handling_seconds, g.finished)"),
    "complaints_resolved": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(c.first_ask_owner_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(c.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(c.department_id) = 0 THEN 'department' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(c.first_ask_owner_id::text, u.team_id::text, c.area_id::text, c.channel, c.department_id::text, cu.vip_tier, ''),
               count(*) AS resolved,
               count(*) FILTER (WHERE c.reopen_count = 0 AND c.transfer_count = 0) AS first_contact,
               count(*) FILTER (WHERE c.first_resolved_at <= c.due_at) AS in_time
        FROM complaints_complaint c
        JOIN servicedesk_user u ON u.id = c.first_ask_owner_id
        JOIN servicedesk_customer cu ON cu.id = c.customer_id
        WHERE c.first_resolved_at >= %(start)s AND c.first_resolved_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, c.first_ask_owner_id), (1, u.team_id), (1, c.area_id), (1, c.channel),
                                (1, c.department_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="c.first_resolved_at")),
        "('fcr', g.first_contact, g.resolved), ('complaint_timeliness', g.in_time, g.resolved)"),
    "complaints_received": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(c.first_ask_owner_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(c.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(c.department_id) = 0 THEN 'department' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(c.first_ask_owner_id::text, u.team_id::text, c.area_id::text, c.channel, c.department_id::text, cu.vip_tier, ''),
               count(*) AS received, count(*) FILTER (WHERE c.appeal) AS appealed
        FROM complaints_complaint c
        JOIN servicedesk_user u ON u.id = c.first_ask_owner_id
        JOIN servicedesk_customer cu ON cu.id = c.customer_id
        WHERE c.received_at >= %(start)s AND c.received_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, c.first_ask_owner_id), (1, u.team_id), (1, c.area_id), (1, c.channel),
                                (1, c.department_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="c.received_at")),
        "('complaint_rate', g.received, 0), ('appeal_share', g.appealed, g.received)"),
    "complaints_closed": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(c.first_ask_owner_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(c.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(c.department_id) = 0 THEN 'department' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(c.first_ask_owner_id::text, u.team_id::text, c.area_id::text, c.channel, c.department_id::text, cu.vip_tier, ''),
               count(*) AS closed, count(cb.complaint_id) AS called_back
        FROM complaints_complaint c
        JOIN servicedesk_user u ON u.id = c.first_ask_owner_id
        JOIN servicedesk_customer cu ON cu.id = c.customer_id
        LEFT JOIN (SELECT DISTINCT complaint_id FROM complaints_callback
                   WHERE kind = 'satisfaction' AND status = 'completed') cb ON cb.complaint_id = c.id
        WHERE c.closed_at >= %(start)s AND c.closed_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, c.first_ask_owner_id), (1, u.team_id), (1, c.area_id), (1, c.channel),
                                (1, c.department_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="c.closed_at")),
        "('callback_coverage', g.called_back, g.closed)"),
    "callbacks_scored": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(c.first_ask_owner_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(c.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(c.department_id) = 0 THEN 'department' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(c.first_ask_owner_id::text, u.team_id::text, c.area_id::text, c.channel, c.department_id::text, cu.vip_tier, ''),
               count(*) AS scored, count(*) FILTER (WHERE b.satisfaction >= 4) AS satisfied
        FROM complaints_callback b
        JOIN complaints_complaint c ON c.id = b.complaint_id
        JOIN servicedesk_user u ON u.id = c.first_ask_owner_id
        JOIN servicedesk_customer cu ON cu.id = c.customer_id
        WHERE b.kind = 'satisfaction' AND b.status = 'completed' AND b.satisfaction IS NOT NULL
          AND b.completed_at >= %(start)s AND b.completed_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, c.first_ask_owner_id), (1, u.team_id), (1, c.area_id), (1, c.channel),
                                (1, c.department_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="b.completed_at")),
        "('satisfaction', g.satisfied, g.scored)"),
    "repairs_done": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(w.handler_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(c.area_id) = 0 THEN 'area' WHEN GROUPING(c.channel) = 0 THEN 'channel'
                    WHEN GROUPING(w.department_id) = 0 THEN 'department' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(w.handler_id::text, u.team_id::text, c.area_id::text, c.channel, w.department_id::text, cu.vip_tier, ''),
               count(*) AS done, count(*) FILTER (WHERE w.done_at <= w.due_at) AS in_time
        FROM complaints_workorder w
        LEFT JOIN servicedesk_user u ON u.id = w.handler_id
        JOIN complaints_complaint c ON c.id = w.complaint_id
        JOIN servicedesk_customer cu ON cu.id = c.customer_id
        WHERE w.kind = 'repair' AND w.status = 'done' AND w.done_at >= %(start)s AND w.done_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, w.handler_id), (1, u.team_id), (1, c.area_id), (1, c.channel),
                                (1, w.department_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="w.done_at")),
        "('repair_timeliness', g.in_time, g.done)"),
    "orders_decided": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(o.created_by_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(cu.area_id) = 0 THEN 'area' WHEN GROUPING(o.product_id) = 0 THEN 'product'
                    WHEN GROUPING(o.channel) = 0 THEN 'channel' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(o.created_by_id::text, u.team_id::text, cu.area_id::text, o.product_id::text, o.channel, cu.vip_tier, ''),
               count(*) AS decided,
               count(*) FILTER (WHERE o.status NOT IN ('rejected', 'failed')) AS succeeded,
               count(o.accepted_at) AS accepted,
               count(o.accepted_at) FILTER (WHERE o.status <> 'cancelled') AS accurate,
               count(o.accepted_at) FILTER (WHERE o.accept_by IS NULL OR o.accepted_at <= o.accept_by) AS in_time
        FROM orders_order o
        LEFT JOIN servicedesk_user u ON u.id = o.created_by_id
        JOIN servicedesk_customer cu ON cu.id = o.customer_id
        WHERE o.decided_at >= %(start)s AND o.decided_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, o.created_by_id), (1, u.team_id), (1, cu.area_id), (1, o.product_id),
                                (1, o.channel), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="o.decided_at")),
        "('acceptance_success', g.succeeded, g.decided), ('acceptance_accuracy', g.accurate, g.accepted), ('acceptance_timeliness', g.in_time, g.accepted)"),
    "orders_submitted": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(o.created_by_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(cu.area_id) = 0 THEN 'area' WHEN GROUPING(o.product_id) = 0 THEN 'product'
                    WHEN GROUPING(o.channel) = 0 THEN 'channel' WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(o.created_by_id::text, u.team_id::text, cu.area_id::text, o.product_id::text, o.channel, cu.vip_tier, ''),
               count(*) AS sold
        FROM orders_order o
        LEFT JOIN servicedesk_user u ON u.id = o.created_by_id
        JOIN servicedesk_customer cu ON cu.id = o.customer_id
        WHERE o.submitted_at >= %(start)s AND o.submitted_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, o.created_by_id), (1, u.team_id), (1, cu.area_id), (1, o.product_id),
                                (1, o.channel), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="o.submitted_at")),
        "('channel_share', g.sold, g.sold)"),
    "shipments_closed": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(o.created_by_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(cu.area_id) = 0 THEN 'area' WHEN GROUPING(o.product_id) = 0 THEN 'product'
                    WHEN GROUPING(o.channel) = 0 THEN 'channel' WHEN GROUPING(s.carrier_id) = 0 THEN 'carrier'
                    WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(o.created_by_id::text, u.team_id::text, cu.area_id::text, o.product_id::text, o.channel,
                        s.carrier_id::text, cu.vip_tier, ''),
               count(*) AS closed, count(*) FILTER (WHERE s.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE s.status = 'delivered' AND s.delivered_at <= o.submitted_at + interval '3 days') AS delivered_in_time
        FROM delivery_shipment s
        JOIN orders_order o ON o.id = s.order_id
        LEFT JOIN servicedesk_user u ON u.id = o.created_by_id
        JOIN servicedesk_customer cu ON cu.id = o.customer_id
        WHERE s.status IN ('delivered', 'returned') AND s.closed_at >= %(start)s AND s.closed_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, o.created_by_id), (1, u.team_id), (1, cu.area_id), (1, o.product_id),
                                (1, o.channel), (1, s.carrier_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="s.closed_at")),
        "('delivery_success', g.delivered, g.closed), ('delivery_timeliness', g.delivered_in_time, g.delivered)"),
    "opportunities_closed": ("""
        SELECT {day} AS day,
               CASE WHEN GROUPING(p.assigned_to_id) = 0 THEN 'agent' WHEN GROUPING(u.team_id) = 0 THEN 'team'
                    WHEN GROUPING(cu.area_id) = 0 THEN 'area' WHEN GROUPING(p.product_id) = 0 THEN 'product'
                    WHEN GROUPING(cu.vip_tier) = 0 THEN 'vip_tier' ELSE 'all' END,
               COALESCE(p.assigned_to_id::text, u.team_id::text, cu.area_id::text, p.product_id::text, cu.vip_tier, ''),
               count(*) AS closed, count(*) FILTER (WHERE p.status = 'converted') AS converted
        FROM orders_opportunity p
        LEFT JOIN servicedesk_user u ON u.id = p.assigned_to_id
        JOIN servicedesk_customer cu ON cu.id = p.customer_id
        WHERE p.status IN ('converted', 'lost') AND p.closed_at >= %(start)s AND p.closed_at < %(end)s
        GROUP BY GROUPING SETS ((1), (1, p.assigned_to_id), (1, u.team_id), (1, cu.area_id), (1, p.product_id), (1, cu.vip_tier))
    """.replace("{day}", DAY.format(col="p.closed_at")),
        "('conversion', g.converted, g.closed)"),
}
# The headline: the biggest fact tables (contacts, orders, complaints, shipments).
SWAP = "swap"
HEADLINE = ["contacts", "orders_decided", "orders_submitted", "complaints_resolved", "complaints_received",
            "complaints_closed", "shipments_closed"]


def hand_insert(code: str, start: datetime, end: datetime, table: str = "hand_rollup") -> int:
    grouped, kpis = HAND_SQL[code]
    return sql(
        f"INSERT INTO {table} (day, kpi, dimension, key, numerator, denominator) "
        f"SELECT g.day, v.kpi, g.dimension, g.key, v.n, v.d FROM ({grouped}) AS g(day, dimension, key) "
        f"CROSS JOIN LATERAL (VALUES {kpis}) AS v(kpi, n, d) WHERE v.n <> 0 OR v.d <> 0",
        {"start": start, "end": end},
    )


def create_hand_tables():
    sql("CREATE TEMP TABLE IF NOT EXISTS hand_rollup (day date, kpi varchar(40), dimension varchar(12), key varchar(40), "
        "numerator bigint, denominator bigint)")
    # The same rows into a table with kpi_rollup's columns and indexes: the writing the rollups must do too.
    sql("CREATE TEMP TABLE IF NOT EXISTS hand_rollup_indexed (LIKE kpi_rollup INCLUDING ALL)")


def differing_rows(code: str) -> int:
    """Rows in kpi_rollup for the source's KPIs and not in hand_rollup, plus the reverse."""
    from kpi.facts import SOURCES

    kpis = list(SOURCES[code].kpis)
    columns = "day, kpi, dimension, key, numerator, denominator"
    return sql(f"""
        SELECT (SELECT count(*) FROM (SELECT {columns} FROM kpi_rollup WHERE kpi = ANY(%(k)s)
                                      EXCEPT ALL SELECT {columns} FROM hand_rollup WHERE kpi = ANY(%(k)s)) a)
             + (SELECT count(*) FROM (SELECT {columns} FROM hand_rollup WHERE kpi = ANY(%(k)s)
                                      EXCEPT ALL SELECT {columns} FROM kpi_rollup WHERE kpi = ANY(%(k)s)) b)
    """, {"k": kpis}, fetch=True)[0][0]


def _seconds(run) -> float:
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def step_rollup(args, first_day: date, last_day: date) -> dict:
    from kpi import rollups
    from kpi.facts import SOURCES, day_bounds
    from kpi.models import RebuildJob

    start, end = day_bounds(first_day, last_day)
    create_hand_tables()
    kpi_best: dict[str, float] = {}
    hand_best: dict[str, float] = {}
    rows_written: dict[str, int] = {}
    totals = []
    for run in range(args.repeat):
        # The hand-written queries first, so that neither side finds the pages cached by the other only.
        sql("TRUNCATE hand_rollup")
        for code in HAND_SQL:
            hand_best[code] = min(hand_best.get(code, 1e9), _seconds(lambda code=code: hand_insert(code, start, end)))
        job = RebuildJob.objects.create(first_day=first_day, last_day=last_day)
        marks = [time.perf_counter()]
        before = [0]

        def progress(job, marks=marks, before=before):
            # On PostgreSQL a whole-range rebuild ends with one more step: indexes built once, the new table swapped in.
            code = rollups.ALL_SOURCES[job.done_steps - 1] if job.done_steps <= len(rollups.ALL_SOURCES) else SWAP
            marks.append(time.perf_counter())
            kpi_best[code] = min(kpi_best.get(code, 1e9), marks[-1] - marks[-2])
            rows_written[code] = job.rows_written - before[0]
            before[0] = job.rows_written

        rollups.rebuild(job, progress)
        totals.append(marks[-1] - marks[0])
        print(f"  run {run + 1}: rebuild {totals[-1]:.1f} s ({job.rows_written:,} rows); hand-written into a temporary table "
              f"{sum(hand_best.values()):.1f} s (best so far)", flush=True)

    # Once each: both grouped SELECTs alone, and (--indexed) the hand-written rows into a table with kpi_rollup's indexes.
    indexed, kpi_select, hand_select = {}, {}, {}
    for code in HAND_SQL:
        if args.indexed:
            sql("TRUNCATE hand_rollup_indexed")
            indexed[code] = _seconds(lambda code=code: hand_insert(code, start, end, "hand_rollup_indexed"))
        else:
            indexed[code] = float("nan")
        grouped, params = rollups.grouped_sql(SOURCES[code], first_day, last_day)
        kpi_select[code] = _seconds(lambda grouped=grouped, params=params: sql(f"SELECT count(*) FROM ({grouped}) q", params, fetch=True))
        hand_select[code] = _seconds(lambda code=code: sql(f"SELECT count(*) FROM ({HAND_SQL[code][0]}) q", {"start": start, "end": end},
                                                            fetch=True))
    sql("TRUNCATE hand_rollup_indexed")

    days = (last_day - first_day).days + 1
    print(f"\nFull rollup over {first_day}..{last_day} ({days} days), seconds (best of {args.repeat} runs for the first two)")
    print("  kpi: rollups.rebuild's step for the source (on PostgreSQL over 28+ days: its grouped INSERT into the new table,")
    print("       which has no index yet; the last step, swap, builds the indexes and swaps the table in)")
    print("  hand: the hand-written GROUP BY GROUPING SETS, INSERT into a temporary table without indexes")
    print("  hand+idx (--indexed): the same into a temporary table with kpi_rollup's indexes; select: both grouped SELECTs alone, counted")
    print(f"{'source':<22} {'rows':>10} {'kpi':>7} {'hand':>7} {'ratio':>6} {'hand+idx':>8} {'ratio':>6} "
          f"{'kpi sel':>7} {'hand sel':>8} {'ratio':>6}  same rows")
    for code in [*rollups.ALL_SOURCES, SWAP]:
        if code == SWAP:
            if SWAP in kpi_best:
                print(f"{SWAP:<22} {'':>10} {kpi_best[SWAP]:>7.1f}   (the indexes built once on the new table, swapped in, analyzed)")
            continue
        if code not in HAND_SQL:
            print(f"{code:<22} {rows_written.get(code, 0):>10,} {kpi_best[code]:>7.1f}   (no hand-written query: a running count in Python)")
            continue
        differ = differing_rows(code)
        print(f"{code:<22} {rows_written[code]:>10,} {kpi_best[code]:>7.1f} {hand_best[code]:>7.1f} {kpi_best[code] / hand_best[code]:>6.2f} "
              f"{indexed[code]:>8.1f} {kpi_best[code] / indexed[code]:>6.2f} {kpi_select[code]:>7.1f} {hand_select[code]:>8.1f} "
              f"{kpi_select[code] / hand_select[code]:>6.2f}  {'yes' if differ == 0 else f'NO: {differ} differ'}")
    for label, codes in (("all fact sources", list(HAND_SQL)), ("headline (big tables)", HEADLINE)):
        k, h, i = (sum(d[c] for c in codes) for d in (kpi_best, hand_best, indexed))
        ks, hs = sum(kpi_select[c] for c in codes), sum(hand_select[c] for c in codes)
        print(f"{label:<22} {'':>10} {k:>7.1f} {h:>7.1f} {k / h:>6.2f} {i:>8.1f} {k / i:>6.2f} {ks:>7.1f} {hs:>8.1f} {ks / hs:>6.2f}")
    k, h = sum(kpi_best[c] for c in HAND_SQL) + kpi_best.get(SWAP, 0.0), sum(hand_best[c] for c in HAND_SQL)
    print(f"Goal: the rollup (every fact source's step and the swap) within {GOAL_RATIO}x of the hand-written GROUP BYs "
          f"(into a temporary table): {k:.1f} s / {h:.1f} s = {k / h:.2f}x, {'met' if k / h <= GOAL_RATIO else 'MISSED'}")
    print(f"Whole rebuild (all {len(rollups.ALL_SOURCES)} sources incl. the subscription snapshot): best {min(totals):.1f} s")

    sql("VACUUM ANALYZE kpi_rollup")  # as autovacuum does soon after a rebuild: the dashboard's planner statistics
    size = sql("SELECT count(*), pg_relation_size('kpi_rollup'), pg_indexes_size('kpi_rollup') FROM kpi_rollup", fetch=True)[0]
    print(f"\nkpi_rollup: {size[0]:,} rows, table {size[1] / 2**20:.0f} MB, indexes {size[2] / 2**20:.0f} MB")
    by_dimension = sql("SELECT dimension, count(*) FROM kpi_rollup GROUP BY 1 ORDER BY 2 DESC", fetch=True)
    print("  by grouping: " + ", ".join(f"{d} {n:,}" for d, n in by_dimension))
    return {"kpi": kpi_best, "hand": hand_best}


# --- 3. Incremental update ----------------------------------------------------------------------

def step_update(args, first_day: date, last_day: date):
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from complaints.models import Complaint, ComplaintTransition
    from delivery.models import Shipment, ShipmentStatus, TrackingEvent
    from kpi import rollups
    from kpi.facts import day_bounds
    from orders.models import Order, OrderStatus, OrderTransition

    from kpi.models import RollupSource

    # The beat's steady state: a first update (untimed) sets every source's watermark past earlier runs' changes.
    t = time.perf_counter()
    done = rollups.rollups_update()
    print(f"settling update (catches up with whatever changed before): {time.perf_counter() - t:.2f} s, "
          f"{sum((b - a).days + 1 for runs in done.values() for a, b in runs)} source-days")
    for label, stale_stock in (("with the hourly recount of active subscriptions", True), ("between recounts (most runs)", False)):
        if stale_stock:
            RollupSource.objects.filter(code=rollups.SNAPSHOT).update(computed_at=None)
        t = time.perf_counter()
        done = rollups.rollups_update()
        plain_s = time.perf_counter() - t
        plain_days = sum((b - a).days + 1 for runs in done.values() for a, b in runs)
        print(f"update of today and yesterday, no late change, {label}: {plain_s:.2f} s, {plain_days} source-days recomputed "
              f"(goal < {GOAL_UPDATE_S:.0f} s: {'met' if plain_s < GOAL_UPDATE_S else 'MISSED'})")

    # Late changes: complaints first resolved 2-5 weeks ago reopened now; orders decided 1-6 weeks ago cancelled now.
    now = timezone.now()
    today = timezone.localdate()
    lo, hi = day_bounds(today - timedelta(days=35), today - timedelta(days=14))
    reopened = list(Complaint.objects.filter(first_resolved_at__gte=lo, first_resolved_at__lt=hi)
                    .order_by("?").values_list("pk", flat=True)[: args.late_changes])
    lo, hi = day_bounds(today - timedelta(days=42), today - timedelta(days=7))
    cancelled = list(Order.objects.filter(decided_at__gte=lo, decided_at__lt=hi, accepted_at__isnull=False)
                     .exclude(status=OrderStatus.CANCELLED).order_by("?").values_list("pk", flat=True)[: args.late_changes // 3])
    lo, hi = day_bounds(today - timedelta(days=28), today - timedelta(days=7))
    late_events = list(Shipment.objects.filter(status=ShipmentStatus.DELIVERED, closed_at__gte=lo, closed_at__lt=hi)
                       .order_by("?").values_list("pk", "carrier_id", "delivered_at")[: args.late_changes // 3])
    with transaction.atomic():
        TrackingEvent.objects.bulk_create([
            TrackingEvent(event_id=f"KB-late-{uuid.uuid4().hex}", code="delivered", occurred_at=delivered_at, received_at=now,
                          payload={}, applied=False, carrier_id=carrier_id, shipment_id=pk)
            for pk, carrier_id, delivered_at in late_events])
        Complaint.objects.filter(pk__in=reopened).update(reopen_count=F("reopen_count") + 1)
        ComplaintTransition.objects.bulk_create([
            ComplaintTransition(complaint_id=pk, from_state="callback", to_state="in_progress", transition="reopen", at=now)
            for pk in reopened])
        Order.objects.filter(pk__in=cancelled).update(status=OrderStatus.CANCELLED, closed_at=now)
        OrderTransition.objects.bulk_create([
            OrderTransition(order_id=pk, from_state="activated", to_state="cancelled", transition="cancel", at=now)
            for pk in cancelled])
    t = time.perf_counter()
    done = rollups.rollups_update()
    late_s = time.perf_counter() - t
    days = {code: sum((b - a).days + 1 for a, b in runs) for code, runs in done.items()}
    touched = sum((b - a).days + 1 for runs in done.values() for a, b in runs)
    print(f"update after {len(reopened)} complaints reopened, {len(cancelled)} orders cancelled and {len(late_events)} deliveries "
          f"reported late: {late_s:.2f} s for {touched} source-days ({1000 * late_s / max(touched, 1):.0f} ms each; "
          f"the goal is for one day's update: a late change recomputes every day it touches)")
    print("  source-days recomputed: " + ", ".join(f"{code} {n}" for code, n in days.items() if n)
          + f"; {sum(days.values())} in all")
    for code, runs in done.items():
        if len(runs) > 1 or (runs and (runs[0][1] - runs[0][0]).days > 1):
            print(f"  {code}: " + ", ".join(f"{a}..{b}" for a, b in runs))

    # The rollups still equal the hand-written computation over the raw rows.
    start, end = day_bounds(first_day, last_day)
    create_hand_tables()
    sql("TRUNCATE hand_rollup")
    for code in ("complaints_resolved", "complaints_received", "callbacks_scored", "orders_decided", "shipments_closed"):
        hand_insert(code, start, end)
        # The update covers today; the hand query the whole range up to today's end: same days.
        differ = differing_rows(code)
        print(f"  after the update, {code} against the hand-written query: {'same rows' if differ == 0 else f'{differ} rows DIFFER'}")
    return late_s


# --- 4. Dashboard -----------------------------------------------------------------------------------

def dashboard_pages(first_day: date, last_day: date) -> list[tuple[str, dict]]:
    """The dashboard as a manager opens it: this month (with the default breakdown by team), the year, by agent."""
    return [
        ("GET /kpi/ (this month, by team)", {}),
        ("GET /kpi/ (365 days, by team)", {"first": first_day.isoformat(), "last": last_day.isoformat()}),
        ("GET /kpi/?dimension=agent (this month)", {"dimension": "agent"}),
    ]


def step_dashboard(args, first_day: date, last_day: date):
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from servicedesk.models import User

    settings.DEBUG = False
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username="kb_manager"))
    url = reverse("kpi:dashboard")
    rows = []
    slowest = (0.0, "", "")
    flagged = []
    for label, query in dashboard_pages(first_day, last_day):
        statuses: dict[int, int] = {}
        for _ in range(args.warmup):
            client.get(url, query)
        ms = []
        for _ in range(args.requests):
            t = time.perf_counter_ns()
            response = client.get(url, query)
            ms.append((time.perf_counter_ns() - t) / 1e6)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        with CaptureQueriesContext(connection) as captured:
            client.get(url, query)
        queries = [q["sql"] for q in captured.captured_queries]
        for statement in queries:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            took = float(plan.rsplit("Execution Time:", 1)[1].split("ms")[0])
            if took > slowest[0]:
                slowest = (took, statement, plan)
            for table in BIG_TABLES:
                if f"Seq Scan on {table} " in plan:
                    flagged.append((label, table, statement[:200]))
        ms.sort()
        rows.append((label, ms, len(queries), statuses))

    print(f"\nDashboard server time in ms (in-process test client, DEBUG off), {args.requests} requests each; goal p95 < {GOAL_P95_MS:.0f} ms")
    print(f"{'request':<42} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  {'goal':<6} {'queries':>7}  statuses")
    for label, ms, queries, statuses in rows:
        p50, p95, p99 = (percentile(ms, s) for s in (0.50, 0.95, 0.99))
        verdict = "ok" if p95 < GOAL_P95_MS else "MISSED"
        codes = " ".join(f"{c}x{n}" for c, n in sorted(statuses.items())) or "-"
        print(f"{label:<42} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {ms[-1]:>8.1f}  {verdict:<6} {queries:>7}  {codes}")
    print("\nSequential scans of kpi_rollup or a fact table in the dashboard's queries: "
          + ("none" if not flagged else f"{len(flagged)}"))
    for label, table, statement in flagged:
        print(f"  {label}: Seq Scan on {table}: {statement}")
    if slowest[1]:
        print(f"\nSlowest dashboard query ({slowest[0]:.1f} ms):\n  {slowest[1][:600]}")
        print("  " + slowest[2].replace("\n", "\n  "))


# --- main ----------------------------------------------------------------------------------------

def main():
    args = parse_args()
    ensure_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from kpi.facts import day_bounds

    call_command("migrate", verbosity=0)
    print(f"Database: {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version // 10000}), "
          f"shared_buffers {sql('SHOW shared_buffers', fetch=True)[0][0]}, work_mem {sql('SHOW work_mem', fetch=True)[0][0]}")
    last_day = timezone.localdate()
    first_day = last_day - timedelta(days=DAYS - 1)
    now = timezone.now()
    start, _end = day_bounds(first_day, last_day)

    if "seed" in args.steps:
        if args.reseed or not seeded(args):
            print(f"Seeding {args.contacts:,} contacts, {args.orders:,} orders and shipments {args.shipments:,}, "
                  f"{args.complaints:,} complaints, {args.customers:,} customers, {args.opportunities:,} opportunities "
                  f"over {first_day}..{last_day}", flush=True)
            t = time.perf_counter()
            seed(args, now, start)
            sql("VACUUM ANALYZE")
            print(f"Seeding: {time.perf_counter() - t:.0f} s (with VACUUM ANALYZE)", flush=True)
        else:
            print("Data already seeded at these sizes (--reseed to start again).")
        report_rows()
    # The data's own year (it ends on the day it was seeded).
    newest = sql("SELECT max(started_at) FROM servicedesk_contact", fetch=True)[0][0]
    if newest is not None:
        last_day = timezone.localtime(newest).date()
        first_day = last_day - timedelta(days=DAYS - 1)

    if "rollup" in args.steps:
        print(f"\n== Full rollup ({first_day}..{last_day}) ==", flush=True)
        step_rollup(args, first_day, last_day)
    if "update" in args.steps:
        print("\n== Incremental update ==", flush=True)
        step_update(args, first_day, timezone.localdate())
    if "dashboard" in args.steps:
        print("\n== Dashboard ==", flush=True)
        from kpi.models import Rollup

        if not Rollup.objects.exists():
            print("(no rollups yet: run the rollup step first)")
        else:
            step_dashboard(args, first_day, timezone.localdate())


if __name__ == "__main__":
    main()
