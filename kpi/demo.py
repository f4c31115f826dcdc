"""Demo history for the KPI dashboards, found by ``servicedesk.demo`` after the other apps' demos.

``seed(log=...)`` writes ``HISTORY_DAYS`` days of finished past work ending yesterday
(Asia/Shanghai): contacts, orders in every flow with their shipments, complaints with
their work orders and callbacks, and closed opportunities, spread over the demo staff,
teams, areas, products, channels, carriers and VIP tiers. Rows are written directly
(``bulk_create``) with every column a KPI anchors on filled as the services would have
filled it (see ``kpi.facts``); no transition log, SMS, outbox message or notice is made.
Everything is closed or decided, so no queue, breach check or callback list picks it up,
and the demo's live work (the few open orders and complaints the other apps seed) is
left as it is. The draws come from a ``random.Random`` with a fixed seed, so the same
database on the same day gets the same history. Then the rollups are rebuilt for the
last ``ROLLUP_DAYS`` days and the star ratings computed for last month and this one, so
the dashboards show numbers at once.

History rows are marked (``MARK`` in the notes of contacts, orders, opportunities and
callbacks; ``EXTERNAL_PREFIX`` in complaints' external reference; ``TRACKING_PREFIX`` in
shipments' tracking numbers): ``reset(log=...)`` deletes exactly them, and the rollups,
rebuilds and ratings made from them, before the other apps' resets run (apps reset in
reverse order, kpi first). Seeding again while history is there adds none.
"""
import random
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from complaints.models import (
    Callback,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Severity,
    WorkOrder,
)
from complaints.services.intake import complaint_deadline
from delivery.models import Carrier, PaymentMethod, Shipment, ShipmentStatus, Warehouse
from orders.models import (
    CallbackAttempt,
    Flow,
    Intent,
    Opportunity,
    Order,
    OrderStatus,
    Product,
)
from orders.services import VIP_PRIORITY, fulfilment_flow
from servicedesk.models import (
    Channel,
    Contact,
    Customer,
    Outcome,
    Subscription,
    User,
    VipTier,
)
from servicedesk.roles import Role

from . import ratings, rollups
from .models import RebuildJob, Rollup, RollupSource, StarRating

# It summarises the other apps' demo data (rollups over every contact, order and complaint): seeded after them all.
SEED_LAST = True
HISTORY_DAYS = 60
ROLLUP_DAYS = 90
SEED = 20261101
MARK = "演示历史"  # "demo history"
EXTERNAL_PREFIX = "demo-history-"
TRACKING_PREFIX = "DH"
# How many customers the history draws from (the first ones: a million-customer demo stays fast).
CUSTOMER_POOL = 5000

# What a weekday brings; Saturdays and Sundays are quieter.
PER_DAY = {"contacts": 56, "orders": 10, "complaints": 3.3, "opportunities": 2.8}
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.05, 0.75, 0.6)
# Calls come 08:00–22:00, heaviest mid-morning, mid-afternoon and in the evening.
HOUR_WEIGHTS = {8: 3, 9: 6, 10: 8, 11: 8, 12: 5, 13: 5, 14: 7, 15: 7, 16: 6, 17: 5, 18: 4, 19: 6, 20: 5, 21: 3}
# A few bad days (an outage, a carrier backlog, short staff) put the dashboards below target.
BAD_DAYS = 3

# channel, weight, handling seconds (low, mode, high), who takes it
CONTACT_CHANNELS = (
    (Channel.HOTLINE, 50, (60, 170, 720), "agent"),
    (Channel.IVR, 12, (30, 90, 240), None),
    (Channel.APP_HALL, 12, (20, 120, 400), None),
    (Channel.WEB_HALL, 6, (20, 120, 400), None),
    (Channel.SMS_HALL, 5, (5, 30, 120), None),
    (Channel.WALK_IN, 8, (240, 600, 1500), "agent"),
    (Channel.OUTBOUND, 7, (30, 180, 600), "outbound"),
)
# reason, business, outcome
CONTACT_REASONS = (
    ("查询本月话费", "话费查询", Outcome.RESOLVED),
    ("账单明细有疑问", "账单解释", Outcome.RESOLVED),
    ("充值未到账", "缴费核查", Outcome.RESOLVED),
    ("咨询5G套餐", "5G套餐", Outcome.OPPORTUNITY),
    ("要求变更套餐", "套餐变更", Outcome.ORDER_OPENED),
    ("流量不够用", "流量加油包", Outcome.ORDER_OPENED),
    ("宽带无法上网", "宽带报修", Outcome.COMPLAINT_OPENED),
    ("查询SIM卡配送进度", "配送查询", Outcome.RESOLVED),
    ("信号差", "网络投诉", Outcome.COMPLAINT_OPENED),
    ("开通国际漫游", "国际漫游", Outcome.ORDER_OPENED),
    ("5G套餐升级营销外呼", "5G套餐", Outcome.NO_SALE),
)

# product code -> weight among the orders agents take (deferred products come from opportunities)
ORDER_PRODUCTS = {
    "TARIFF-4G59": 4, "TARIFF-5G129": 9, "TARIFF-5G199": 6, "TARIFF-5G299": 3, "VAS-CLIP": 4, "VAS-RBT": 3, "VAS-DATA10G": 8,
    "VAS-ROAM": 3, "NEW-5G129": 12, "NEW-5G199": 7, "NEW-4G19": 6, "HS-MATE60": 4, "HS-IP16": 3, "HS-MI14": 3, "CARD-50": 5,
    "CARD-100": 5, "BB-300M": 5, "BB-1000M": 4,
}
OPPORTUNITY_PRODUCTS = {"BUNDLE-169": 5, "UPGRADE-MATE60": 3, "TARIFF-5G199": 2}
REJECTIONS = ("身份证件照片不清晰", "客户不符合合约办理条件", "所选号码已被占用")
LOST_REASONS = ("客户觉得资费太高", "已在其他运营商办理", "家人不同意", "多次联系未接通")
RETURNS = ("客户拒收", "地址无法送达，联系不上客户")

# category code -> weight, what customers say, how it was resolved
COMPLAINTS = {
    "NETWORK": (30, "小区晚上信号很差，通话经常中断。", "已优化基站参数，信号恢复正常。"),
    "BILLING": (25, "账单中有一笔流量费用客户表示不认可。", "已核实并退还多收费用。"),
    "ATTITUDE": (10, "营业厅工作人员态度不好。", "已向客户致歉并对相关人员进行教育。"),
    "DELIVERY": (10, "号卡没有按约定时间送到。", "已协调快递次日送达。"),
    "BROADBAND": (25, "宽带无法上网，光猫LOS灯红灯闪烁。", "装维人员上门更换光猫，已恢复上网。"),
}
TECHNICIANS = ("张师傅", "王师傅", "刘师傅", "赵师傅")


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class _Customer:
    pk: int
    area_id: int | None
    vip_tier: str
    address: str
    number: str


class _History:
    """Draws the history day by day into lists of unsaved instances; ``write`` inserts them, parents first."""

    def __init__(self, rng: random.Random, first_day: date, last_day: date):
        self.rng = rng
        self.first_day, self.last_day = first_day, last_day
        self.zone = timezone.get_default_timezone()
        # Nothing of the history may reach today: every moment stays before this one.
        self.cutoff = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=self.zone) - timedelta(minutes=5)
        self.days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
        self.bad_days = set(rng.sample(self.days[:-1], min(BAD_DAYS, len(self.days) - 1)))
        self._load()
        self.contacts: list[Contact] = []
        self.orders: list[Order] = []
        self.shipments: list[tuple[Order, Shipment]] = []
        self.opportunities: list[tuple[Opportunity, Order | None]] = []
        self.complaints: list[Complaint] = []
        self.work_orders: list[tuple[Complaint, WorkOrder]] = []
        self.callbacks: list[tuple[Complaint, Callback]] = []
        self.tracking = 0

    # --- What the other apps' demos made ----------------------------------------------------
    def _load(self) -> None:
        # Customers who were already customers when the history starts.
        since = datetime.combine(self.first_day, time.min, tzinfo=self.zone)
        customers = list(
            Customer.objects.filter(created_at__lt=since).order_by("pk").values_list("pk", "area_id", "vip_tier", "address")[:CUSTOMER_POOL]
        )
        numbers: dict[int, str] = {}
        if customers:
            lines = Subscription.objects.filter(customer_id__lte=customers[-1][0], status=Subscription.Status.ACTIVE)
            for customer_id, number in lines.order_by("customer_id", "id").values_list("customer_id", "service_number"):
                numbers.setdefault(customer_id, number)
        self.customers = [_Customer(pk, area, tier, address, numbers[pk]) for pk, area, tier, address in customers if pk in numbers]
        staff = User.objects.filter(is_active=True).order_by("pk")
        self.agents = list(staff.filter(groups__name=Role.AGENT))
        self.outbound = list(staff.filter(groups__name=Role.OUTBOUND))
        self.handlers: dict[int, list[User]] = {}
        for user in staff.filter(groups__name=Role.COMPLAINT_HANDLER, department__isnull=False):
            self.handlers.setdefault(user.department_id, []).append(user)
        # Each person's own form: some are better, some slower (their star ratings differ).
        self.skill = {user.pk: self.rng.uniform(-0.08, 0.06) for user in [*self.agents, *self.outbound]}
        self.pace = {user.pk: self.rng.uniform(0.8, 1.3) for user in [*self.agents, *self.outbound]}
        self.products = {p.code: p for p in Product.objects.select_related("category").filter(code__in=[*ORDER_PRODUCTS, *OPPORTUNITY_PRODUCTS])}
        self.categories = {c.code: c for c in ComplaintCategory.objects.filter(code__in=list(COMPLAINTS), active=True)}
        self.carriers: dict[str, list[Carrier]] = {}
        for carrier in Carrier.objects.filter(active=True).prefetch_related("services").order_by("priority", "code"):
            for service in carrier.services.all():
                self.carriers.setdefault(service.item_kind, []).append(carrier)
        halls = list(Warehouse.objects.filter(level=Warehouse.Level.HALL, active=True).prefetch_related("areas").order_by("code"))
        self.halls = {area.pk: hall for hall in halls for area in hall.areas.all()}
        self.any_hall = halls[0] if halls else None

    # --- Drawing ---------------------------------------------------------------------------------
    def count(self, day: date, what: str) -> int:
        expected = PER_DAY[what] * WEEKDAY_FACTOR[day.weekday()] * self.rng.uniform(0.8, 1.2)
        if what == "complaints" and day in self.bad_days:
            expected *= 2
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def moment(self, day: date) -> datetime:
        hour = _weighted(self.rng, HOUR_WEIGHTS)
        return datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)), tzinfo=self.zone)

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def squeeze(self, start: datetime, end: datetime, *, room: timedelta = timedelta(0)) -> float:
        """The factor that brings a piece of work ending at ``end`` back to ``room`` before the cutoff (1 when it fits):
        work started on the last evening is done faster, but in the same order."""
        last = self.cutoff - room
        if end <= last:
            return 1.0
        return (last - start) / (end - start)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    # --- Contacts --------------------------------------------------------------------------------
    def contact(self, day: date) -> None:
        channel, _w, (low, mode, high), staffed = self.rng.choices(CONTACT_CHANNELS, weights=[c[1] for c in CONTACT_CHANNELS])[0]
        people = {"agent": self.agents, "outbound": self.outbound}.get(staffed) or []
        agent = self.rng.choice(people) if people else None
        reasons = CONTACT_REASONS[-1:] if channel == Channel.OUTBOUND else CONTACT_REASONS[:-1]
        reason, business, outcome = self.rng.choice(reasons)
        if staffed is None and outcome == Outcome.COMPLAINT_OPENED:
            outcome = Outcome.RESOLVED  # self-service channels take no complaints
        seconds = self.rng.triangular(low, high, mode) * (self.pace[agent.pk] if agent else 1.0) * (1.3 if day in self.bad_days else 1.0)
        started = self.moment(day)
        customer = self.rng.choice(self.customers)
        self.contacts.append(Contact(
            customer_id=customer.pk, channel=channel, service_number=customer.number, reason=reason, business=business, outcome=outcome,
            notes=MARK, agent=agent, started_at=started, ended_at=min(started + timedelta(seconds=max(5, round(seconds))), self.cutoff),
        ))

    # --- Orders and shipments ----------------------------------------------------------------------
    def order(self, *, product: Product, submitted: datetime, by: User, channel: str, customer: _Customer | None = None) -> Order:
        """One order from submission to its end; ``status`` is protected, so each instance is built once its fate is known."""
        customer = customer or self.rng.choice(self.customers)
        flow = fulfilment_flow(product)
        day = timezone.localdate(submitted)
        fields = {
            "customer_id": customer.pk, "product": product, "flow": flow, "channel": channel, "created_by": by, "notes": MARK,
            "price": product.price, "priority": VIP_PRIORITY.get(customer.vip_tier, 0), "submitted_at": submitted,
            "service_number": "" if product.needs_number else customer.number,
        }
        if product.needs_delivery:
            fields |= {
                "delivery_address": customer.address or "天津市和平区南京路100号", "appointment_date": day + timedelta(days=self.rng.choice((1, 1, 2))),
                "appointment_slot": self.rng.choice(Order.Slot.values),
            }
        fields |= self.direct(submitted) if flow == Flow.DIRECT else self.back_office(fields, product, customer, by)
        shipment = fields.pop("shipment", None)
        order = Order(**fields)
        self.orders.append(order)
        if shipment is not None:
            self.shipments.append((order, shipment))
        return order

    def direct(self, submitted: datetime) -> dict:
        """Provisioned by billing in minutes and completed, or failed."""
        decided = submitted + timedelta(minutes=self.rng.uniform(1, 20))
        if self.chance(0.03):
            decided = min(decided, self.cutoff)
            return {"status": OrderStatus.FAILED, "closing_reason": "计费系统开通失败", "decided_at": decided, "closed_at": decided}
        closed = decided + timedelta(minutes=self.rng.uniform(1, 60))
        k = self.squeeze(submitted, closed)
        return {"status": OrderStatus.COMPLETED, "decided_at": submitted + (decided - submitted) * k, "closed_at": submitted + (closed - submitted) * k}

    def back_office(self, fields: dict, product: Product, customer: _Customer, by: User) -> dict:
        """Accepted (or rejected) against the category's limit; then delivered, installed or called off."""
        submitted = fields["submitted_at"]
        bad = timezone.localdate(submitted) in self.bad_days
        limit = timedelta(hours=product.category.acceptance_limit_hours)
        accept_by = submitted + limit
        on_time = 0.96 + self.skill.get(by.pk, 0) / 2 - (0.35 if bad else 0)
        wait = limit * (self.rng.betavariate(1.2, 4) if self.chance(on_time) else self.rng.uniform(1.02, 1.6))
        if self.chance(0.04):
            decided = submitted + wait * self.squeeze(submitted, submitted + wait)
            return {"status": OrderStatus.REJECTED, "closing_reason": self.rng.choice(REJECTIONS), "accept_by": accept_by,
                    "decided_at": decided, "closed_at": decided}
        carriers = self.carriers.get(product.item_kind)
        if not product.needs_delivery or not carriers or self.any_hall is None:
            end = submitted + wait + self.hours(20, 72)  # installed on site
            k = self.squeeze(submitted, end)
            accepted = submitted + wait * k
            return {"status": OrderStatus.COMPLETED, "accept_by": accept_by, "accepted_at": accepted, "decided_at": accepted,
                    "closed_at": submitted + (end - submitted) * k}
        carrier = self.rng.choice(carriers)
        packed = self.hours(0.5, 4)
        late = 0.04 + (0.5 if bad else 0)
        transit = timedelta(hours=carrier.promised_hours) * (self.rng.uniform(1.3, 2.2) if self.chance(late) else self.rng.uniform(0.3, 0.85))
        returned = self.chance(0.03)
        end = submitted + wait + packed + transit + (timedelta(days=1) if returned else timedelta(minutes=30))
        k = self.squeeze(submitted, end)
        accepted = submitted + wait * k
        decided = {"accept_by": accept_by, "accepted_at": accepted, "decided_at": accepted}
        if not returned and self.chance(0.01):  # called off before it left the hall: no shipment
            return decided | {"status": OrderStatus.CANCELLED, "closing_reason": "客户取消", "closed_at": accepted + packed * k}
        self.tracking += 1
        left = accepted + packed * k
        shipment = {
            "warehouse": self.halls.get(customer.area_id, self.any_hall), "carrier": carrier, "created_at": left,
            "tracking_number": f"{TRACKING_PREFIX}{self.tracking:010d}", "appointment_date": fields.get("appointment_date"),
            "appointment_slot": fields.get("appointment_slot", ""), "amount_due": product.price, "attempts": 1,
        }
        if returned:
            closed = submitted + (end - submitted) * k
            reason = self.rng.choice(RETURNS)
            shipment |= {"status": ShipmentStatus.RETURNED, "failure_reason": reason, "attempts": 2, "closed_at": closed, "last_event_at": closed}
            order = {"status": OrderStatus.CANCELLED, "closing_reason": "配送退回：" + reason, "closed_at": closed}
        else:
            arrived = left + transit * k
            method = self.rng.choice((PaymentMethod.CASH, PaymentMethod.POS))
            shipment |= {
                "status": ShipmentStatus.DELIVERED, "delivered_at": arrived, "closed_at": arrived, "last_event_at": arrived, "signed_by": "本人",
                "id_checked": True, "amount_collected": product.price, "payment_method": method,
                "pos_reference": f"POS-{self.tracking:06d}" if method == PaymentMethod.POS else "",
            }
            order = {"status": OrderStatus.COMPLETED, "closed_at": submitted + (end - submitted) * k}
        return decided | order | {"shipment": Shipment(**shipment)}

    def sale(self, day: date) -> None:
        codes = {code: w for code, w in ORDER_PRODUCTS.items() if code in self.products}
        if not codes or not self.agents:
            return
        channel = Channel.WALK_IN if self.chance(0.2) else Channel.HOTLINE
        self.order(product=self.products[_weighted(self.rng, codes)], submitted=self.moment(day), by=self.rng.choice(self.agents), channel=channel)

    # --- Opportunities ---------------------------------------------------------------------------
    def opportunity(self, day: date) -> None:
        codes = {code: w for code, w in OPPORTUNITY_PRODUCTS.items() if code in self.products}
        if not codes or not self.agents or not self.outbound:
            return
        customer, worker = self.rng.choice(self.customers), self.rng.choice(self.outbound)
        created = self.moment(day)
        called = created + self.hours(20, 72)
        closed = called + timedelta(minutes=self.rng.uniform(3, 15))
        k = self.squeeze(created, closed, room=timedelta(hours=1))  # a converted one's order comes after
        called, closed = created + (called - created) * k, created + (closed - created) * k
        opportunity = Opportunity(
            customer_id=customer.pk, product=self.products[_weighted(self.rng, codes)], intent=self.rng.choice(Intent.values),
            callback_at=called, notes=MARK, created_by=self.rng.choice(self.agents), assigned_to=worker, created_at=created, closed_at=closed,
        )
        order = None
        if self.chance(0.32 + self.skill[worker.pk]):
            opportunity.status = Opportunity.Status.CONVERTED
            order = self.order(product=opportunity.product, submitted=closed, by=worker, channel=Channel.OUTBOUND, customer=customer)
        else:
            opportunity.status, opportunity.lost_reason = Opportunity.Status.LOST, self.rng.choice(LOST_REASONS)
        self.opportunities.append((opportunity, order))

    # --- Complaints ----------------------------------------------------------------------------------
    def complaint(self, day: date) -> None:
        codes = {code: spec[0] for code, spec in COMPLAINTS.items() if code in self.categories}
        if not codes or not self.agents:
            return
        code = _weighted(self.rng, codes)
        if day in self.bad_days and self.chance(0.6):
            code = "NETWORK" if "NETWORK" in codes else code  # the outage
        category, (_w, description, resolution) = self.categories[code], COMPLAINTS[code]
        customer, owner = self.rng.choice(self.customers), self.rng.choice(self.agents)
        received = self.moment(day)
        severity = _weighted(self.rng, {Severity.LOW: 15, Severity.NORMAL: 65, Severity.HIGH: 15, Severity.CRITICAL: 5})
        due = complaint_deadline(category=category, severity=severity, vip_tier=customer.vip_tier, received_at=received)
        bad, skill = day in self.bad_days, self.skill[owner.pk]
        department = category.department_id
        # Most complaints that are not first-contact resolved went to a second department first.
        transferred = self.chance(0.48 - skill) and len(self.handlers) > 1
        if transferred:
            department = self.rng.choice([d for d in self.handlers if d != category.department_id])
        # How long the first resolution takes, against the time limit.
        in_time = self.chance((0.98 if category.is_fault else 0.95) + skill / 2 - (0.3 if bad else 0))
        to_resolve = (due - received) * (self.rng.betavariate(1.5, 3) if in_time else self.rng.uniform(1.05, 1.8))
        unreached = self.chance(0.03)
        reopened = not unreached and self.chance(0.06 - skill / 2 + (0.1 if bad else 0))
        called = to_resolve + self.hours(2, 30)
        again = called + self.hours(4, 30) if reopened else None  # resolved a second time
        called_again = again + self.hours(2, 24) if reopened else None
        end = (called_again or called) + timedelta(minutes=20)
        k = self.squeeze(received, received + end)

        def at(offset):
            return received + offset * k

        complaint = Complaint(
            customer_id=customer.pk, category=category, severity=severity, service_number=customer.number, description=description,
            channel=_weighted(self.rng, {Channel.HOTLINE: 75, Channel.WALK_IN: 15, Channel.APP_HALL: 5, Channel.WEB_HALL: 5}),
            status=ComplaintStatus.CLOSED, first_ask_owner=owner, created_by=owner, department_id=department, area_id=customer.area_id,
            received_at=received, due_at=due, resolution=resolution, first_resolved_at=at(to_resolve),
            resolved_at=at(again or to_resolve), closed_at=at(end - timedelta(minutes=10)), reopen_count=1 if reopened else 0,
            transfer_count=1 if transferred else 0, external_id=f"{EXTERNAL_PREFIX}{len(self.complaints) + 1}",
        )
        if customer.vip_tier in (VipTier.DIAMOND, VipTier.GOLD):
            complaint.escalated, complaint.escalation_reason = True, "vip"
        if self.chance(0.03 + (0.05 if bad else 0)):
            complaint.appeal, complaint.appeal_due_at = True, received + timedelta(days=5)
            complaint.escalated, complaint.escalation_reason = True, "regulator"
        self.complaints.append(complaint)
        # Work orders: the first department's (handed on if transferred), the one that resolved it, and a repair for faults.
        if transferred:
            moved = at(to_resolve * 0.3)
            self.work_orders.append((complaint, WorkOrder(
                department_id=category.department_id, status=WorkOrder.Status.TRANSFERRED, opened_at=received, due_at=due, done_at=moved,
                handler=self.handler(category.department_id),
            )))
        self.work_orders.append((complaint, WorkOrder(
            department_id=department, status=WorkOrder.Status.DONE, opened_at=moved if transferred else received, due_at=due,
            done_at=complaint.first_resolved_at, handler=self.handler(department),
        )))
        if category.is_fault:
            self.work_orders.append((complaint, WorkOrder(
                department_id=category.department_id, kind=WorkOrder.Kind.REPAIR, status=WorkOrder.Status.DONE, opened_at=received,
                due_at=received + timedelta(hours=category.repair_limit_hours), done_at=complaint.first_resolved_at,
                handler=self.handler(category.department_id), technician=self.rng.choice(TECHNICIANS),
            )))
        # The satisfaction callback (and, after a reopening, the second one).
        caller = self.rng.choice(self.outbound or self.agents)
        first = Callback(kind=Callback.Kind.SATISFACTION, due_at=complaint.first_resolved_at + timedelta(hours=24), by=caller, notes=MARK)
        if unreached:
            first.status, first.attempts, first.reached, first.completed_at = Callback.Status.EXHAUSTED, 3, False, at(called)
        else:
            first.status, first.attempts, first.reached, first.completed_at = Callback.Status.COMPLETED, 1, True, at(called)
            first.solved = not reopened
            first.satisfaction = self.score(satisfied=not reopened and self.chance(0.98 + skill - (0.25 if bad else 0) - (0 if in_time else 0.15)))
        self.callbacks.append((complaint, first))
        if reopened:
            self.work_orders.append((complaint, WorkOrder(
                department_id=department, status=WorkOrder.Status.DONE, opened_at=at(called), due_at=at(called) + (due - received),
                done_at=at(again), handler=self.handler(department),
            )))
            self.callbacks.append((complaint, Callback(
                kind=Callback.Kind.SATISFACTION, status=Callback.Status.COMPLETED, due_at=at(again) + timedelta(hours=24), attempts=1,
                reached=True, solved=True, satisfaction=self.score(satisfied=self.chance(0.75)), by=caller, notes=MARK,
                completed_at=at(called_again),
            )))
        if category.is_fault:
            self.callbacks.append((complaint, Callback(
                kind=Callback.Kind.REPAIR, status=Callback.Status.COMPLETED, due_at=complaint.first_resolved_at + timedelta(hours=24),
                attempts=1, reached=True, repair_time_score=self.score(satisfied=in_time), technician_score=self.score(satisfied=self.chance(0.9)),
                by=caller, notes=MARK, completed_at=at(called),
            )))

    def handler(self, department_id: int) -> User | None:
        people = self.handlers.get(department_id)
        return self.rng.choice(people) if people else None

    def score(self, *, satisfied: bool) -> int:
        return self.rng.choice((4, 5, 5)) if satisfied else self.rng.choice((1, 2, 3, 3))

    # --- All of it --------------------------------------------------------------------------------
    def draw(self) -> None:
        if not self.customers:
            return
        for day in self.days:
            for what, make in (("contacts", self.contact), ("orders", self.sale), ("opportunities", self.opportunity),
                               ("complaints", self.complaint)):
                for _ in range(self.count(day, what)):
                    make(day)

    def write(self) -> None:
        Contact.objects.bulk_create(self.contacts, batch_size=1000)
        Order.objects.bulk_create(self.orders, batch_size=500)
        for order, shipment in self.shipments:
            shipment.order_id = order.pk
        Shipment.objects.bulk_create([s for _o, s in self.shipments], batch_size=500)
        for opportunity, order in self.opportunities:
            opportunity.order_id = order.pk if order else None
        Opportunity.objects.bulk_create([o for o, _order in self.opportunities], batch_size=500)
        CallbackAttempt.objects.bulk_create([
            CallbackAttempt(opportunity=o, result=CallbackAttempt.Result.REACHED, notes=MARK, by=o.assigned_to, at=o.callback_at)
            for o, _order in self.opportunities
        ], batch_size=500)
        Complaint.objects.bulk_create(self.complaints, batch_size=500)
        for complaint, row in [*self.work_orders, *self.callbacks]:
            row.complaint_id = complaint.pk
        WorkOrder.objects.bulk_create([w for _c, w in self.work_orders], batch_size=500)
        Callback.objects.bulk_create([c for _c, c in self.callbacks], batch_size=500)


def _history_exists() -> bool:
    return Contact.objects.filter(notes=MARK).exists() or Complaint.objects.filter(external_id__startswith=EXTERNAL_PREFIX).exists()


def seed(*, log=print) -> None:
    if HISTORY_DAYS <= 0:
        return
    started = clock.perf_counter()
    today = timezone.localdate()
    if _history_exists():
        log("KPI history: already there; none added.")
    else:
        history = _History(random.Random(SEED), today - timedelta(days=HISTORY_DAYS), today - timedelta(days=1))
        with transaction.atomic():
            history.draw()
            history.write()
        log(
            f"KPI history: {HISTORY_DAYS} days to {history.last_day}: {len(history.contacts):,} contacts, {len(history.orders):,} orders, "
            f"{len(history.shipments):,} shipments, {len(history.complaints):,} complaints with {len(history.callbacks):,} callbacks "
            f"and {len(history.work_orders):,} work orders, {len(history.opportunities):,} opportunities "
            f"(bad days: {', '.join(str(d) for d in sorted(history.bad_days))})."
        )
    job = rollups.rebuild(RebuildJob.objects.create(first_day=today - timedelta(days=ROLLUP_DAYS - 1), last_day=today))
    last_month = ratings.previous_month(today)
    rated = [ratings.ratings_compute(month=month) for month in (last_month, today.replace(day=1))]
    log(
        f"KPIs: rollups rebuilt for {ROLLUP_DAYS} days ({job.rows_written:,} rows); star ratings: {rated[0]} for {last_month:%Y-%m}, "
        f"{rated[1]} for {today:%Y-%m}; in {clock.perf_counter() - started:.1f} s."
    )


@transaction.atomic
def reset(*, log=print) -> None:
    """The history, and the rollups, rebuilds and ratings made from it (the rest of the demo goes with the other apps' resets)."""
    deleted: dict[str, int] = {}
    for rows in (
        Shipment.objects.filter(tracking_number__startswith=TRACKING_PREFIX, order__notes=MARK),
        Opportunity.objects.filter(notes=MARK),  # with their callback attempts
        Order.objects.filter(notes=MARK),
        Complaint.objects.filter(external_id__startswith=EXTERNAL_PREFIX),  # with their work orders and callbacks
        Contact.objects.filter(notes=MARK),
    ):
        for label, count in rows.delete()[1].items():
            deleted[label] = deleted.get(label, 0) + count
    for model in (StarRating, Rollup, RollupSource, RebuildJob):
        model.objects.all().delete()
    counts = ", ".join(
        f"{deleted.get(model._meta.label, 0):,} {name}"
        for model, name in ((Contact, "contacts"), (Order, "orders"), (Shipment, "shipments"), (Complaint, "complaints"), (Opportunity, "opportunities"))
    )
    log(f"KPIs: demo history cleared ({counts}), with the rollups and star ratings.")
