"""A small seeded world of KPI facts, and every KPI counted over it by hand.

``generate(seed)`` writes a few hundred facts of every source the KPIs read
(contacts, orders, shipments, opportunities, complaints, work orders,
callbacks, subscriptions) over ten days around ``CENTRE_DAY``, spread over
agents with and without a team, customers with and without an area, every
channel and VIP tier, products, carriers and departments. Each kind of fact
cycles through its fates (an order accepted late, a complaint reopened, a
delivery refused...) and the seed moves times and groups; test_rollups checks
that every case is there. Rows are created directly, with their status and
the KPI anchors set as the apps' services set them, and with their
transition log rows. The same seed makes the same world.

``by_hand(facts, code, first, last, dimension)`` is the other side of the
check: DOMAIN.md section 5 read literally and computed in plain Python over
model instances (``load_facts()``), without kpi.facts or kpi.selectors.
"""
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import cycle

from django.utils import timezone

from complaints.models import Callback, Complaint, ComplaintStatus, ComplaintTransition, WorkOrder
from delivery.models import Shipment, ShipmentStatus, ShipmentTransition
from kpi import rollups
from kpi.definitions import Dimension
from kpi.models import Rollup
from kpi.selectors import kpi_values
from orders.models import Flow, Opportunity, Order, OrderStatus, OrderTransition
from servicedesk.models import Channel, Contact, Subscription, VipTier
from tests.factories import (
    CarrierFactory, ComplaintCategoryFactory, CustomerFactory, DepartmentFactory, ProductCategoryFactory, ProductFactory,
    ServiceAreaFactory, SubscriptionFactory, TeamFactory, UserFactory, WarehouseFactory,
)

SEED = 6
CENTRE_DAY = date(2025, 3, 14)
FIRST_DAY = CENTRE_DAY - timedelta(days=5)
LAST_DAY = CENTRE_DAY + timedelta(days=4)
# Every anchor falls in here (the later steps of a complaint or a delivery run past LAST_DAY).
ROLLUP_FIRST, ROLLUP_LAST = FIRST_DAY - timedelta(days=2), LAST_DAY + timedelta(days=12)
# No fact is anchored on these days: the empty period.
EMPTY_FIRST, EMPTY_LAST = LAST_DAY + timedelta(days=10), LAST_DAY + timedelta(days=12)

DELIVERY_DAYS = 3   # DOMAIN.md: delivered within 3 days of the order
SATISFIED = (4, 5)  # DOMAIN.md: a score of 4-5 of 5 counts as satisfied


def local(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """That wall-clock time in Asia/Shanghai."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)), timezone.get_default_timezone())


@dataclass
class World:
    seed: int
    agents: list
    teams: list
    areas: list
    departments: list
    products: list
    carriers: list
    customers: list
    counts: dict = field(default_factory=dict)
    facts: "Facts | None" = None     # its rows read back (load_facts), once they are wanted


def generate(seed: int = SEED) -> World:
    rng = random.Random(seed)
    areas = [ServiceAreaFactory() for _ in range(3)]
    teams = [TeamFactory() for _ in range(2)]
    departments = [DepartmentFactory() for _ in range(2)]
    # Four agents in two teams and one in none.
    agents = [UserFactory(team=teams[n % 2] if n < 4 else None) for n in range(5)]
    customers = [
        CustomerFactory(area=rng.choice([*areas, None]), vip_tier=VipTier.values[n % len(VipTier.values)]) for n in range(16)
    ]
    back_office = ProductCategoryFactory(flow=Flow.BACK_OFFICE, acceptance_limit_hours=24)
    products = [ProductFactory(category=back_office), ProductFactory(category=back_office), ProductFactory(direct=True)]
    carriers = [CarrierFactory(), CarrierFactory()]
    world = World(seed, agents, teams, areas, departments, products, carriers, customers)

    def moment() -> datetime:
        """A whole second somewhere in the ten days."""
        return local(FIRST_DAY) + timedelta(seconds=rng.randrange(10 * 86400))

    _subscriptions(rng, customers)
    world.counts["contacts"] = _contacts(rng, moment, agents, customers)
    world.counts["orders"] = _orders(rng, moment, world)
    world.counts["opportunities"] = _opportunities(rng, moment, world)
    world.counts["complaints"] = _complaints(rng, moment, world)
    return world


def _subscriptions(rng, customers):
    for n, customer in enumerate(customers):
        for _ in range(rng.randint(1, 3)):
            status, activated = [
                (Subscription.Status.ACTIVE, FIRST_DAY - timedelta(days=rng.randint(1, 700))),
                (Subscription.Status.ACTIVE, FIRST_DAY + timedelta(days=rng.randint(0, 12))),  # the stock grows during the days
                (Subscription.Status.ACTIVE, None),                                            # before records began
                (Subscription.Status.CLOSED, FIRST_DAY - timedelta(days=rng.randint(1, 99))),
                (Subscription.Status.SUSPENDED, FIRST_DAY - timedelta(days=rng.randint(1, 99))),
            ][(n + rng.randint(0, 4)) % 5]
            SubscriptionFactory(customer=customer, status=status, activated_on=activated)


def _contacts(rng, moment, agents, customers) -> int:
    rows = []
    for _ in range(120):
        started = moment()
        ended = started + timedelta(seconds=rng.randint(15, 2400)) if rng.random() < 0.8 else None
        rows.append(Contact(
            customer=rng.choice([*customers, None]), channel=rng.choice(Channel.values), agent=rng.choice([*agents, None]),
            reason="Balance query", started_at=started, ended_at=ended,
        ))
    # Around midnight in Asia/Shanghai (UTC is eight hours behind: 15:59 and 16:01 the same UTC day).
    late_calls = [(local(CENTRE_DAY, 23, 59), 300), (local(CENTRE_DAY, 23, 59, 59), 61), (local(CENTRE_DAY + timedelta(days=1), 0, 1), 90)]
    for started, seconds in late_calls:
        rows.append(Contact(customer=rng.choice(customers), channel=Channel.HOTLINE, agent=rng.choice(agents), reason="Late call",
                            started_at=started, ended_at=started + timedelta(seconds=seconds)))
    Contact.objects.bulk_create(rows)
    return len(rows)


ORDER_FATES = {
    Flow.DIRECT: ["provisioned", "provisioned", "failed", "waiting"],
    Flow.BACK_OFFICE: [
        "accepted", "accepted_late", "accepted", "rejected", "accepted_cancelled", "accepted_at_limit",
        "cancelled_undecided", "accepted", "waiting", "accepted_late",
    ],
}
SHIPMENT_FATES = ["delivered", "delivered_late", "returned", "delivered", "cancelled", "under_way", "delivered_at_limit", "none"]


def _orders(rng, moment, world) -> int:
    fates = {flow: cycle(names) for flow, names in ORDER_FATES.items()}
    shipment_fates = cycle(SHIPMENT_FATES)
    warehouse = WarehouseFactory()
    logs = []
    count = 0
    for _ in range(80):
        product = rng.choice(world.products)
        flow = product.category.flow
        submitted = moment()
        order = Order(
            customer=rng.choice(world.customers), product=product, flow=flow, channel=rng.choice(Channel.values),
            created_by=rng.choice([*world.agents, None]), submitted_at=submitted,
            accept_by=submitted + timedelta(hours=24) if flow == Flow.BACK_OFFICE else None,
        )
        fate = next(fates[flow])
        steps = [("", OrderStatus.SUBMITTED, "submit", submitted)]
        shipment = None
        if fate == "provisioned":
            order.decided_at = submitted + timedelta(seconds=rng.randint(5, 900))
            order.closed_at = order.decided_at + timedelta(seconds=2)
            status = OrderStatus.COMPLETED
            steps += [(OrderStatus.SUBMITTED, OrderStatus.PROVISIONED, "provision", order.decided_at),
                      (OrderStatus.PROVISIONED, OrderStatus.COMPLETED, "complete", order.closed_at)]
        elif fate == "failed":
            order.decided_at = order.closed_at = submitted + timedelta(seconds=rng.randint(5, 900))
            status = OrderStatus.FAILED
            steps.append((OrderStatus.SUBMITTED, OrderStatus.FAILED, "fail", order.decided_at))
        elif fate == "rejected":
            order.decided_at = order.closed_at = submitted + timedelta(minutes=rng.randint(5, 40 * 60))
            status = OrderStatus.REJECTED
            steps.append((OrderStatus.SUBMITTED, OrderStatus.REJECTED, "reject", order.decided_at))
        elif fate == "cancelled_undecided":
            order.closed_at = submitted + timedelta(minutes=rng.randint(5, 600))
            status = OrderStatus.CANCELLED
            steps.append((OrderStatus.SUBMITTED, OrderStatus.CANCELLED, "cancel", order.closed_at))
        elif fate.startswith("accepted"):
            delay = {
                "accepted": timedelta(minutes=rng.randint(5, 23 * 60)), "accepted_late": timedelta(minutes=rng.randint(25 * 60, 40 * 60)),
                "accepted_at_limit": timedelta(hours=24), "accepted_cancelled": timedelta(minutes=rng.randint(5, 30 * 60)),
            }[fate]
            order.accepted_at = order.decided_at = submitted + delay
            status = OrderStatus.ACCEPTED
            steps.append((OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, "accept", order.accepted_at))
            if fate == "accepted_cancelled":
                order.closed_at = order.accepted_at + timedelta(hours=rng.randint(1, 48))
                status = OrderStatus.CANCELLED
                steps.append((OrderStatus.ACCEPTED, OrderStatus.CANCELLED, "cancel", order.closed_at))
            else:
                shipment = _shipment(rng, next(shipment_fates), order, warehouse, world.carriers)
                if shipment is not None:
                    status = shipment.pop("order_status")
                    if status == OrderStatus.CANCELLED:  # refused at the door, or the shipment cancelled: the order is rolled back
                        order.closed_at = shipment["closed_at"]
                        steps.append((OrderStatus.ACCEPTED, OrderStatus.CANCELLED, "cancel", order.closed_at))
        else:  # waiting
            status = OrderStatus.SUBMITTED
        order = with_status(order, status)
        order.save()
        count += 1
        logs += [OrderTransition(order=order, from_state=a, to_state=b, transition=name, at=at) for a, b, name, at in steps]
        if shipment is not None:
            _save_shipment(order, shipment)
    OrderTransition.objects.bulk_create(logs)
    return count


def _shipment(rng, fate, order, warehouse, carriers) -> dict | None:
    """What becomes of an accepted order's shipment (None: not shipped yet), and the order's status after it."""
    if fate == "none":
        return None
    placed = order.submitted_at
    common = {"warehouse": warehouse, "carrier": rng.choice([*carriers, None]), "created_at": order.accepted_at + timedelta(minutes=30)}
    if fate in ("delivered", "delivered_late", "delivered_at_limit"):
        after = {
            "delivered": timedelta(minutes=rng.randint(_minutes_to_acceptance(order) + 60, DELIVERY_DAYS * 24 * 60 - 1)),
            "delivered_late": timedelta(minutes=rng.randint(DELIVERY_DAYS * 24 * 60 + 1, 5 * 24 * 60)),
            "delivered_at_limit": timedelta(days=DELIVERY_DAYS),
        }[fate]
        at = placed + after
        return {**common, "status": ShipmentStatus.DELIVERED, "delivered_at": at, "closed_at": at, "order_status": OrderStatus.COMPLETED,
                "step": (ShipmentStatus.OUT_FOR_DELIVERY, "deliver")}
    if fate == "returned":  # refused at the door: back to stock, and the order is cancelled
        at = order.accepted_at + timedelta(hours=rng.randint(20, 80))
        return {**common, "status": ShipmentStatus.RETURNED, "closed_at": at, "failure_reason": "Refused at the door",
                "order_status": OrderStatus.CANCELLED, "step": (ShipmentStatus.FAILED, "return_to_stock")}
    if fate == "cancelled":
        at = order.accepted_at + timedelta(hours=rng.randint(1, 20))
        return {**common, "status": ShipmentStatus.CANCELLED, "closed_at": at, "failure_reason": "Customer changed their mind",
                "order_status": OrderStatus.CANCELLED, "step": (ShipmentStatus.PICKED, "cancel")}
    return {**common, "status": ShipmentStatus.HANDED_TO_CARRIER, "order_status": OrderStatus.HANDED_TO_DELIVERY, "step": None}


def with_status(instance, status):
    """The unsaved instance in ``status`` (a protected FSM field is only given when the object is made)."""
    fields = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.name not in ("id", "status")}
    return type(instance)(status=status, **fields)


def _minutes_to_acceptance(order) -> int:
    """Minutes from the order to its acceptance: a delivery comes after both."""
    return int((order.accepted_at - order.submitted_at).total_seconds() // 60)


def _save_shipment(order, fields):
    step = fields.pop("step")
    shipment = Shipment.objects.create(order=order, **fields)
    if step is not None:
        ShipmentTransition.objects.create(
            shipment=shipment, from_state=step[0], to_state=shipment.status, transition=step[1], at=shipment.closed_at,
        )


def _opportunities(rng, moment, world) -> int:
    fates = cycle([Opportunity.Status.CONVERTED, Opportunity.Status.LOST, Opportunity.Status.LOST, Opportunity.Status.OPEN])
    rows = []
    for _ in range(30):
        created = moment()
        status = next(fates)
        rows.append(Opportunity(
            customer=rng.choice(world.customers), product=rng.choice(world.products), callback_at=created + timedelta(hours=2),
            status=status, created_by=rng.choice(world.agents), assigned_to=rng.choice([*world.agents, None]), created_at=created,
            closed_at=None if status == Opportunity.Status.OPEN else created + timedelta(minutes=rng.randint(10, 3 * 24 * 60)),
            lost_reason="Too expensive" if status == Opportunity.Status.LOST else "",
        ))
    Opportunity.objects.bulk_create(rows)
    return len(rows)


COMPLAINT_FATES = [
    "closed_satisfied", "reopened", "transferred", "late", "closed_unreached", "open", "awaiting_callback",
    "closed_satisfied", "received_only", "reopened_twice", "at_limit", "transferred_twice",
]


def _complaints(rng, moment, world) -> int:
    plain = ComplaintCategoryFactory(department=world.departments[0], time_limit_hours=48)
    fault = ComplaintCategoryFactory(department=world.departments[1], time_limit_hours=24, is_fault=True, repair_limit_hours=8)
    fates = cycle(COMPLAINT_FATES)
    repair_fates = cycle(["in_time", "late", "open", "in_time", "at_limit"])
    count = 0
    for n in range(72):
        fate = next(fates)
        category = fault if n % 3 == 0 else plain
        customer = rng.choice(world.customers)
        received = moment()
        complaint = Complaint(
            customer=customer, category=category, description="No signal", channel=rng.choice(Channel.values),
            first_ask_owner=rng.choice(world.agents), area_id=customer.area_id, received_at=received,
            due_at=received + timedelta(hours=category.time_limit_hours), appeal=rng.random() < 0.2,
            department=None if fate == "received_only" else category.department,
        )
        logs = [("", ComplaintStatus.RECEIVED, "take", received)]
        callbacks = []
        now = received + timedelta(minutes=1)
        if fate != "received_only":
            logs.append((ComplaintStatus.RECEIVED, ComplaintStatus.ASSIGNED, "assign", now))
        transfers = {"transferred": 1, "transferred_twice": 2}.get(fate, 0)
        for _ in range(transfers):
            now += timedelta(minutes=rng.randint(10, 300))
            complaint.department = world.departments[1] if complaint.department == world.departments[0] else world.departments[0]
            logs.append((ComplaintStatus.ASSIGNED, ComplaintStatus.ASSIGNED, "transfer", now))
        complaint.transfer_count = transfers
        if fate in ("open", "received_only"):
            status = ComplaintStatus.IN_PROGRESS if fate == "open" else ComplaintStatus.RECEIVED
        else:
            # First resolution: within the limit, exactly at it, or after it.
            if fate == "late":
                first = complaint.due_at + timedelta(minutes=rng.randint(1, 24 * 60))
            elif fate == "at_limit":
                first = complaint.due_at
            else:
                first = received + timedelta(minutes=rng.randint(30, category.time_limit_hours * 60 - 1))
            complaint.first_resolved_at = complaint.resolved_at = first
            logs += [(ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS, "start", first - timedelta(minutes=20)),
                     (ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, "resolve", first),
                     (ComplaintStatus.RESOLVED, ComplaintStatus.CALLBACK, "await_callback", first)]
            resolved = first
            for _ in range({"reopened": 1, "reopened_twice": 2}.get(fate, 0)):
                # The customer says at the callback it is not solved: reopened, resolved again.
                called = resolved + timedelta(minutes=rng.randint(60, 30 * 60))
                callbacks.append(Callback(kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED, due_at=called, attempts=1,
                                          reached=True, solved=False, satisfaction=rng.randint(1, 3), completed_at=called))
                resolved = called + timedelta(minutes=rng.randint(60, 20 * 60))
                complaint.reopen_count += 1
                logs += [(ComplaintStatus.CALLBACK, ComplaintStatus.IN_PROGRESS, "reopen", called),
                         (ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, "resolve", resolved),
                         (ComplaintStatus.RESOLVED, ComplaintStatus.CALLBACK, "await_callback", resolved)]
            complaint.resolved_at = resolved
            called = resolved + timedelta(minutes=rng.randint(60, 30 * 60))
            if fate == "awaiting_callback":
                status = ComplaintStatus.CALLBACK
                callbacks.append(Callback(kind=Callback.Kind.SATISFACTION, due_at=called))
            elif fate == "closed_unreached":
                callbacks.append(Callback(kind=Callback.Kind.SATISFACTION, status=Callback.Status.EXHAUSTED, due_at=called, attempts=3,
                                          reached=False, completed_at=called))
                status, complaint.closed_at = ComplaintStatus.CLOSED, called + timedelta(minutes=30)
            else:
                callbacks.append(Callback(kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED, due_at=called, attempts=1,
                                          reached=True, solved=True, satisfaction=rng.randint(1, 5), completed_at=called))
                status, complaint.closed_at = ComplaintStatus.CLOSED, called
            if complaint.closed_at:
                logs.append((ComplaintStatus.CALLBACK, ComplaintStatus.CLOSED, "close", complaint.closed_at))
        if complaint.appeal:
            logs.append((status, status, "record_appeal", received + timedelta(hours=2)))
            complaint.appeal_due_at = received + timedelta(days=15)
        complaint = with_status(complaint, status)
        complaint.save()
        count += 1
        ComplaintTransition.objects.bulk_create([
            ComplaintTransition(complaint=complaint, from_state=a, to_state=b, transition=name, at=at) for a, b, name, at in logs
        ])
        if category.is_fault and fate != "received_only":
            _repair(rng, complaint, next(repair_fates), world, callbacks)
        for callback in callbacks:
            callback.complaint = complaint
        Callback.objects.bulk_create(callbacks)
    return count


def _repair(rng, complaint, fate, world, callbacks):
    """A fault's repair work order (and a repair callback scored 5, which no satisfaction figure may count)."""
    opened = complaint.received_at + timedelta(minutes=2)
    due = complaint.received_at + timedelta(hours=complaint.category.repair_limit_hours)
    done = {
        "in_time": due - timedelta(minutes=rng.randint(1, 7 * 60)), "at_limit": due,
        "late": due + timedelta(minutes=rng.randint(1, 24 * 60)), "open": None,
    }[fate]
    WorkOrder.objects.create(
        complaint=complaint, department=complaint.category.department, kind=WorkOrder.Kind.REPAIR, opened_at=opened, due_at=due,
        status=WorkOrder.Status.OPEN if done is None else WorkOrder.Status.DONE, done_at=done,
        handler=rng.choice([*world.agents, None]), technician="Wang",
    )
    # The handling work order, closed when the complaint was (first) resolved: not a repair.
    WorkOrder.objects.create(
        complaint=complaint, department=complaint.category.department, opened_at=opened, due_at=complaint.due_at,
        status=WorkOrder.Status.DONE if complaint.first_resolved_at else WorkOrder.Status.OPEN, done_at=complaint.first_resolved_at,
        handler=rng.choice(world.agents),
    )
    if done is not None:
        callbacks.append(Callback(kind=Callback.Kind.REPAIR, status=Callback.Status.COMPLETED, due_at=done, attempts=1, reached=True,
                                  satisfaction=5, repair_time_score=4, technician_score=5, completed_at=done + timedelta(hours=1)))


# --- The KPIs counted by hand ------------------------------------------------------------------

@dataclass
class Facts:
    contacts: list
    orders: list
    shipments: list
    opportunities: list
    complaints: list
    work_orders: list
    callbacks: list
    subscriptions: list


def load_facts() -> Facts:
    """Every fact row, as model instances, with what their groups are read from."""
    return Facts(
        contacts=list(Contact.objects.select_related("agent", "customer")),
        orders=list(Order.objects.select_related("created_by", "customer")),
        shipments=list(Shipment.objects.select_related("order__created_by", "order__customer")),
        opportunities=list(Opportunity.objects.select_related("assigned_to", "customer")),
        complaints=list(Complaint.objects.select_related("first_ask_owner", "customer").prefetch_related("callbacks")),
        work_orders=list(WorkOrder.objects.select_related("handler", "complaint__customer")),
        callbacks=list(Callback.objects.select_related("complaint__first_ask_owner", "complaint__customer")),
        subscriptions=list(Subscription.objects.select_related("customer")),
    )


def _team(user):
    return user.team_id if user is not None else None


def _complaint_groups(complaint):
    return {
        Dimension.AGENT: complaint.first_ask_owner_id, Dimension.TEAM: _team(complaint.first_ask_owner), Dimension.AREA: complaint.area_id,
        Dimension.CHANNEL: complaint.channel, Dimension.DEPARTMENT: complaint.department_id,
        Dimension.VIP_TIER: complaint.customer.vip_tier,
    }


def _order_groups(order):
    return {
        Dimension.AGENT: order.created_by_id, Dimension.TEAM: _team(order.created_by), Dimension.AREA: order.customer.area_id,
        Dimension.PRODUCT: order.product_id, Dimension.CHANNEL: order.channel, Dimension.VIP_TIER: order.customer.vip_tier,
    }


def _seconds(contact) -> int:
    return round((contact.ended_at - contact.started_at).total_seconds())


def _called_back(complaint) -> bool:
    return any(c.kind == Callback.Kind.SATISFACTION and c.status == Callback.Status.COMPLETED for c in complaint.callbacks.all())


def _accepted_in_time(order) -> bool:
    return order.accept_by is None or order.accepted_at <= order.accept_by


# kpi -> (facts counted, the moment that puts one on a day, its groups, numerator, denominator), from DOMAIN.md section 5.
COUNTS = {
    "satisfaction": (
        lambda f: [
            c for c in f.callbacks
            if c.kind == Callback.Kind.SATISFACTION and c.status == Callback.Status.COMPLETED and c.satisfaction is not None
        ],
        lambda c: c.completed_at, lambda c: _complaint_groups(c.complaint),
        lambda c: c.satisfaction in SATISFIED, lambda c: 1,
    ),
    "fcr": (
        lambda f: f.complaints, lambda c: c.first_resolved_at, _complaint_groups,
        lambda c: c.reopen_count == 0 and c.transfer_count == 0, lambda c: 1,
    ),
    "complaint_timeliness": (
        lambda f: f.complaints, lambda c: c.first_resolved_at, _complaint_groups,
        lambda c: c.first_resolved_at <= c.due_at, lambda c: 1,
    ),
    "complaint_rate": (
        lambda f: f.complaints, lambda c: c.received_at, _complaint_groups, lambda c: 1, lambda c: 0,
    ),
    "appeal_share": (
        lambda f: f.complaints, lambda c: c.received_at, _complaint_groups, lambda c: c.appeal, lambda c: 1,
    ),
    "repair_timeliness": (
        lambda f: [w for w in f.work_orders if w.kind == WorkOrder.Kind.REPAIR and w.status == WorkOrder.Status.DONE],
        lambda w: w.done_at,
        lambda w: {
            Dimension.AGENT: w.handler_id, Dimension.TEAM: _team(w.handler), Dimension.AREA: w.complaint.area_id,
            Dimension.CHANNEL: w.complaint.channel, Dimension.DEPARTMENT: w.department_id,
            Dimension.VIP_TIER: w.complaint.customer.vip_tier,
        },
        lambda w: w.done_at <= w.due_at, lambda w: 1,
    ),
    "acceptance_success": (
        lambda f: f.orders, lambda o: o.decided_at, _order_groups,
        lambda o: o.accepted_at is not None or (o.flow == Flow.DIRECT and o.status != OrderStatus.FAILED), lambda o: 1,
    ),
    "acceptance_accuracy": (
        lambda f: [o for o in f.orders if o.accepted_at], lambda o: o.accepted_at, _order_groups,
        lambda o: o.status != OrderStatus.CANCELLED, lambda o: 1,
    ),
    "acceptance_timeliness": (
        lambda f: [o for o in f.orders if o.accepted_at], lambda o: o.accepted_at, _order_groups, _accepted_in_time, lambda o: 1,
    ),
    "delivery_timeliness": (
        lambda f: [s for s in f.shipments if s.status == ShipmentStatus.DELIVERED], lambda s: s.delivered_at,
        lambda s: {**_order_groups(s.order), Dimension.CARRIER: s.carrier_id},
        lambda s: s.delivered_at <= s.order.submitted_at + timedelta(days=DELIVERY_DAYS), lambda s: 1,
    ),
    "delivery_success": (
        lambda f: [s for s in f.shipments if s.status in (ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED)], lambda s: s.closed_at,
        lambda s: {**_order_groups(s.order), Dimension.CARRIER: s.carrier_id},
        lambda s: s.status == ShipmentStatus.DELIVERED, lambda s: 1,
    ),
    "callback_coverage": (
        lambda f: f.complaints, lambda c: c.closed_at, _complaint_groups, _called_back, lambda c: 1,
    ),
    "conversion": (
        lambda f: [o for o in f.opportunities if o.status in (Opportunity.Status.CONVERTED, Opportunity.Status.LOST)],
        lambda o: o.closed_at,
        lambda o: {
            Dimension.AGENT: o.assigned_to_id, Dimension.TEAM: _team(o.assigned_to), Dimension.AREA: o.customer.area_id,
            Dimension.PRODUCT: o.product_id, Dimension.VIP_TIER: o.customer.vip_tier,
        },
        lambda o: o.status == Opportunity.Status.CONVERTED, lambda o: 1,
    ),
    "channel_share": (
        lambda f: f.orders, lambda o: o.submitted_at, _order_groups, lambda o: 1, lambda o: 0,
    ),
    "contact_volume": (
        lambda f: f.contacts, lambda c: c.started_at,
        lambda c: {
            Dimension.AGENT: c.agent_id, Dimension.TEAM: _team(c.agent), Dimension.AREA: c.customer.area_id if c.customer else None,
            Dimension.CHANNEL: c.channel, Dimension.VIP_TIER: c.customer.vip_tier if c.customer else None,
        },
        lambda c: 1, lambda c: 1,
    ),
}
COUNTS["aht"] = (
    COUNTS["contact_volume"][0], COUNTS["contact_volume"][1], COUNTS["contact_volume"][2],
    lambda c: _seconds(c) if c.ended_at else 0, lambda c: 1 if c.ended_at else 0,
)


def _key(value) -> str:
    return "" if value is None else str(value)


def by_hand(facts: Facts, code: str, first: date, last: date, dimension: str = Dimension.ALL) -> dict[str, tuple[int, int]]:
    """{group: (numerator, denominator)} of the KPI over the days first..last (Asia/Shanghai), groups with neither left out."""
    rows, anchor, groups, numerator, denominator = COUNTS[code]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows(facts):
        moment = anchor(row)
        if moment is None or not first <= timezone.localdate(moment) <= last:
            continue
        key = "" if dimension == Dimension.ALL else _key(groups(row)[dimension])
        sums[key][0] += int(numerator(row))
        sums[key][1] += int(denominator(row))
    result = {key: (n, d) for key, (n, d) in sums.items() if n or d}
    if code == "complaint_rate":
        # Per 10,000 active subscriptions on the period's last day: a stock, not a sum over days.
        stock = active_subscriptions(facts, last, dimension)
        result = {key: (result.get(key, (0, 0))[0], stock.get(key, 0)) for key in {*result, *stock}}
    elif code == "channel_share":
        # A group's orders out of all orders taken in the period.
        total = sum(n for n, _d in result.values())
        result = {key: (n, total) for key, (n, _d) in result.items()}
    return result


def active_subscriptions(facts: Facts, day: date, dimension: str = Dimension.ALL) -> dict[str, int]:
    """Subscriptions active now and activated by ``day`` (an unknown activation date: before records began)."""
    counts: dict[str, int] = defaultdict(int)
    for subscription in facts.subscriptions:
        if subscription.status != Subscription.Status.ACTIVE:
            continue
        if subscription.activated_on is not None and subscription.activated_on > day:
            continue
        customer = subscription.customer
        key = {Dimension.ALL: "", Dimension.AREA: _key(customer.area_id), Dimension.VIP_TIER: customer.vip_tier}[dimension]
        counts[key] += 1
    return dict(counts)


def anchored_days(facts: Facts) -> set[date]:
    """Every day some KPI counts a fact on."""
    days = set()
    for rows, anchor, *_rest in COUNTS.values():
        days |= {timezone.localdate(anchor(row)) for row in rows(facts) if anchor(row) is not None}
    return days


# --- Writing and reading the rollups ----------------------------------------------------------

def recompute_all(first: date, last: date | None = None) -> None:
    """Every source's rollups (and the subscription stock) rewritten for the days first..last."""
    for code in rollups.ALL_SOURCES:
        rollups.recompute(code, first, last or first)


def values(code: str, first: date, last: date | None = None, dimension: str = Dimension.ALL) -> dict[str, tuple[int, int]]:
    """{group: (numerator, denominator)} as the dashboards read them (kpi.selectors.kpi_values)."""
    found = kpi_values([code], first, last or first, dimension=dimension)
    return {key: (v.numerator, v.denominator) for key, v in found.get(code, {}).items()}


def rollup_rows() -> list[tuple]:
    """Every rollup row's content in a stable order (a rewrite changes the ids, not the content)."""
    rows = Rollup.objects.order_by("kpi", "dimension", "day", "key")
    return list(rows.values_list("day", "kpi", "dimension", "key", "numerator", "denominator"))
