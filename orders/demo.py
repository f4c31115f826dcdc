"""Demo data of the orders app, found by ``servicedesk.demo`` (the core never imports orders).

``seed(log=...)`` writes the catalogue (categories with their flows and time
limits, products), a number pool with lucky numbers, and, on a database with no
orders yet, some work for the demo staff: back-office orders waiting in the
queue and callbacks due for the outbound team. ``reset(log=...)`` removes
orders and opportunities and frees the pool, before the core deletes customers.
"""
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from servicedesk.models import Customer, TariffPlan, User

from . import services
from .models import (
    CallbackAttempt, Flow, Intent, ItemKind, NumberClass, NumberStatus, Opportunity, Order, OrderTransition, PoolNumber, Product,
    ProductCategory,
)

# code, name, flow, acceptance limit (hours)
CATEGORIES = (
    ("TARIFF", "套餐变更", Flow.DIRECT, 24),
    ("VAS", "增值业务", Flow.DIRECT, 24),
    ("NEWLINE", "新入网号卡", Flow.BACK_OFFICE, 24),
    ("HANDSET", "购机合约", Flow.BACK_OFFICE, 48),
    ("CARD", "充值卡", Flow.BACK_OFFICE, 24),
    ("BROADBAND", "宽带新装", Flow.BACK_OFFICE, 72),
    ("BUNDLE", "融合套餐（需回访）", Flow.DEFERRED, 24),
    ("UPGRADE", "老用户换机（需回访）", Flow.DEFERRED, 48),
)

# code, name, category, price, needs a number, item, item model, tariff plan code
PRODUCTS = (
    ("TARIFF-4G59", "改办4G畅享套餐59元", "TARIFF", "0", False, ItemKind.NONE, "", "4G-59"),
    ("TARIFF-5G129", "改办5G畅享套餐129元", "TARIFF", "0", False, ItemKind.NONE, "", "5G-129"),
    ("TARIFF-5G199", "改办5G畅享套餐199元", "TARIFF", "0", False, ItemKind.NONE, "", "5G-199"),
    ("TARIFF-5G299", "改办5G尊享套餐299元", "TARIFF", "0", False, ItemKind.NONE, "", "5G-299"),
    ("VAS-CLIP", "来电显示", "VAS", "5.00", False, ItemKind.NONE, "", ""),
    ("VAS-RBT", "炫铃", "VAS", "5.00", False, ItemKind.NONE, "", ""),
    ("VAS-DATA10G", "10GB流量包（月）", "VAS", "30.00", False, ItemKind.NONE, "", ""),
    ("VAS-ROAM", "国际漫游开通", "VAS", "0", False, ItemKind.NONE, "", ""),
    ("NEW-5G129", "5G新入网（129元套餐）", "NEWLINE", "0", True, ItemKind.SIM, "5G USIM 256K", "5G-129"),
    ("NEW-5G199", "5G新入网（199元套餐）", "NEWLINE", "0", True, ItemKind.SIM, "5G USIM 256K", "5G-199"),
    ("NEW-4G19", "4G随心卡入网", "NEWLINE", "0", True, ItemKind.SIM, "4G USIM 128K", "4G-19"),
    ("HS-MATE60", "华为 Mate 60 合约机（5G 199元×24月）", "HANDSET", "3999.00", True, ItemKind.HANDSET, "Huawei Mate 60", "5G-199"),
    ("HS-IP16", "iPhone 16 合约机（5G 299元×24月）", "HANDSET", "5999.00", True, ItemKind.HANDSET, "iPhone 16", "5G-299"),
    ("HS-MI14", "小米 14 合约机（5G 129元×24月）", "HANDSET", "2999.00", True, ItemKind.HANDSET, "Xiaomi 14", "5G-129"),
    ("CARD-50", "50元充值卡", "CARD", "50.00", False, ItemKind.CARD, "Top-up 50", ""),
    ("CARD-100", "100元充值卡", "CARD", "100.00", False, ItemKind.CARD, "Top-up 100", ""),
    ("BB-300M", "300M光宽带新装", "BROADBAND", "100.00", False, ItemKind.NONE, "", "BB-300M-99"),
    ("BB-1000M", "千兆光宽带新装", "BROADBAND", "200.00", False, ItemKind.NONE, "", "BB-1000M-149"),
    ("BUNDLE-169", "5G融合套餐169元（含300M宽带）", "BUNDLE", "0", False, ItemKind.NONE, "", "5G-RH-169"),
    ("UPGRADE-MATE60", "老用户换购华为 Mate 60", "UPGRADE", "3599.00", False, ItemKind.HANDSET, "Huawei Mate 60", ""),
)

POOL_PREFIX = "1860022"  # 1860022xxxx: 10,000 demo numbers, none of them a customer's
POOL_SIZE = 2000


@transaction.atomic
def seed(*, log=print) -> None:
    categories = {
        code: ProductCategory.objects.update_or_create(
            code=code, defaults={"name": name, "flow": flow, "acceptance_limit_hours": hours}
        )[0]
        for code, name, flow, hours in CATEGORIES
    }
    plans = {plan.code: plan for plan in TariffPlan.objects.all()}
    for code, name, category, price, needs_number, item, model, plan in PRODUCTS:
        Product.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "category": categories[category], "price": Decimal(price), "needs_number": needs_number,
                "item_kind": item, "item_model": model, "tariff_plan": plans.get(plan), "active": True,
            },
        )
    existing = set(PoolNumber.objects.filter(number__startswith=POOL_PREFIX).values_list("number", flat=True))
    new_numbers = []
    for n in range(POOL_SIZE):
        number = f"{POOL_PREFIX}{n * 7 % 10000:04d}"  # 7 is prime to 10,000: every last digit occurs
        if number in existing:
            continue
        number_class = services.pool_number_class_for(number)
        new_numbers.append(PoolNumber(number=number, number_class=number_class, price=services.POOL_DEFAULT_FEES[number_class]))
    PoolNumber.objects.bulk_create(new_numbers, ignore_conflicts=True)
    log(f"Orders: {len(CATEGORIES)} categories, {len(PRODUCTS)} products, {PoolNumber.objects.count():,} pool numbers.")
    if not Order.objects.exists() and not Opportunity.objects.exists():
        _seed_work(log)


def _seed_work(log) -> None:
    """Work waiting for the demo staff: queue orders, callbacks due now, overdue and later."""
    agent = User.objects.filter(username="agent1").first()
    customers = list(Customer.objects.exclude(id_number="").order_by("id")[:12])
    if agent is None or len(customers) < 12:
        return
    now = timezone.now()
    tomorrow = timezone.localdate() + timedelta(days=1)
    numbers = iter(PoolNumber.objects.filter(status=NumberStatus.AVAILABLE, number_class=NumberClass.ORDINARY).order_by("number"))
    products = {p.code: p for p in Product.objects.all()}
    for i, customer in enumerate(customers[:6]):
        product = products["NEW-5G129" if i % 2 == 0 else "HS-MI14"]
        order = services.order_submit(
            agent=agent, customer=customer, product=product, pool_number=next(numbers).number,
            delivery_address=customer.address or "天津市和平区南京路100号", appointment_date=tomorrow,
            appointment_slot=Order.Slot.AFTERNOON, notes="演示订单",
        )
        if i == 0:  # one waiting past its acceptance limit, to show the breach
            Order.objects.filter(pk=order.pk).update(submitted_at=now - timedelta(hours=30), accept_by=now - timedelta(hours=6))
    for i, customer in enumerate(customers[6:]):
        opportunity = services.opportunity_create(
            agent=agent, customer=customer, product=products["BUNDLE-169" if i % 2 == 0 else "UPGRADE-MATE60"],
            callback_at=now + timedelta(hours=i + 1), intent=[Intent.HIGH, Intent.MEDIUM, Intent.LOW][i % 3],
            notes="客户考虑中，约定回访",
        )
        if i < 2:  # already due: one an hour late, one two hours late
            Opportunity.objects.filter(pk=opportunity.pk).update(callback_at=now - timedelta(hours=2 - i))
    log("Orders: 6 back-office orders in the queue, 6 callbacks (2 due).")


@transaction.atomic
def reset(*, log=print) -> None:
    """Orders and opportunities go with the customers; their numbers go back to the pool."""
    CallbackAttempt.objects.all().delete()
    Opportunity.objects.all().delete()
    PoolNumber.objects.filter(order__isnull=False).update(
        status=NumberStatus.AVAILABLE, order=None, reserved_at=None, sold_at=None, activated_at=None
    )
    OrderTransition.objects.all().delete()
    deleted, _ = Order.objects.all().delete()
    log(f"Reset: deleted {deleted:,} order rows and every opportunity; pool numbers freed.")
