from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from servicedesk.models import (
    Channel, Contact, Customer, Department, IdType, Outcome, Script, ServiceArea, Subscription, TariffPlan, Team, User, VipTier,
)


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea

    code = factory.Sequence(lambda n: f"A{n:04d}")
    name = factory.Sequence(lambda n: f"Area {n}")
    district = "Heping"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"Department {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """``UserFactory(roles=["agent"])`` puts the user in those role groups."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Li"
    last_name = factory.Sequence(lambda n: f"Ming{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*[Group.objects.get(name=str(role)) for role in extracted])
        self.save()


class TariffPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffPlan
        django_get_or_create = ("code",)

    code = "5G-129"
    name = "5G Bundle 129"
    monthly_fee = Decimal("129.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"张{n}")
    id_type = IdType.RESIDENT_ID
    id_number = factory.Sequence(lambda n: f"11010119900307{n % 10000:04d}")
    address = "天津市和平区南京路100号3门501"
    vip_tier = VipTier.ORDINARY
    area = factory.SubFactory(ServiceAreaFactory)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    service_number = factory.Sequence(lambda n: f"138{n:08d}")
    tariff_plan = factory.SubFactory(TariffPlanFactory)
    activated_on = factory.LazyFunction(lambda: timezone.localdate())
    monthly_spend = Decimal("129.00")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.HOTLINE
    service_number = ""
    reason = "Balance query"
    outcome = Outcome.RESOLVED
    agent = factory.SubFactory(UserFactory)
    started_at = factory.LazyFunction(timezone.now)


class ScriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Script

    kind = Script.Kind.BUSINESS
    category = "Tariff"
    title = factory.Sequence(lambda n: f"Script {n}")
    body = "Standard answer."


# --- orders -------------------------------------------------------------------
from orders.models import (  # noqa: E402  (kept beside the factories that use them)
    CallbackAttempt, Flow, Intent, ItemKind, NumberClass, Opportunity, PoolNumber, Product, ProductCategory,
)


class ProductCategoryFactory(factory.django.DjangoModelFactory):
    """``ProductCategoryFactory(flow=Flow.DIRECT)``; back-office by default."""

    class Meta:
        model = ProductCategory

    code = factory.Sequence(lambda n: f"CAT{n:03d}")
    name = factory.Sequence(lambda n: f"Category {n}")
    flow = Flow.BACK_OFFICE
    acceptance_limit_hours = 24


class ProductFactory(factory.django.DjangoModelFactory):
    """A plain product of a back-office category. Traits: ``sim`` (new number + SIM
    card, delivered), ``direct`` (a change to an existing line), ``deferred``."""

    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(ProductCategoryFactory)
    price = Decimal("50.00")

    class Params:
        sim = factory.Trait(
            name=factory.Sequence(lambda n: f"5G SIM {n}"),
            needs_number=True,
            item_kind=ItemKind.SIM,
            item_model="USIM 128K",
            tariff_plan=factory.SubFactory(TariffPlanFactory),
        )
        direct = factory.Trait(
            category=factory.SubFactory(ProductCategoryFactory, flow=Flow.DIRECT),
            tariff_plan=factory.SubFactory(TariffPlanFactory),
        )
        deferred = factory.Trait(category=factory.SubFactory(ProductCategoryFactory, flow=Flow.DEFERRED))


class PoolNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoolNumber

    number = factory.Sequence(lambda n: f"186{n:08d}")
    number_class = NumberClass.ORDINARY
    price = Decimal("0")


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory, deferred=True)
    intent = Intent.MEDIUM
    callback_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
    created_by = factory.SubFactory(UserFactory)


class CallbackAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallbackAttempt

    opportunity = factory.SubFactory(OpportunityFactory)
    result = CallbackAttempt.Result.NO_ANSWER
    by = factory.SubFactory(UserFactory)


# --- delivery -----------------------------------------------------------------
from delivery.models import (  # noqa: E402
    Carrier, CarrierCredential, CarrierService, SerialUnit, Shipment, Sku, StockLevel, Warehouse,
)


class WarehouseFactory(factory.django.DjangoModelFactory):
    """A hall store (level 3) under a branch under the company store, unless told otherwise."""

    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Hall store {n}")
    level = Warehouse.Level.HALL
    parent = factory.LazyAttribute(
        lambda o: None if o.level == Warehouse.Level.COMPANY
        else WarehouseFactory(level=o.level - 1)
    )


class SkuFactory(factory.django.DjangoModelFactory):
    """A serialised USIM by default; ``SkuFactory(counted=True)`` for top-up cards."""

    class Meta:
        model = Sku

    code = factory.Sequence(lambda n: f"SKU{n:04d}")
    name = factory.Sequence(lambda n: f"USIM {n}")
    item_kind = ItemKind.SIM
    item_model = factory.Sequence(lambda n: f"USIM model {n}")
    tracking = Sku.Tracking.SERIALISED
    unit_price = Decimal("0")

    class Params:
        counted = factory.Trait(item_kind=ItemKind.CARD, tracking=Sku.Tracking.COUNTED, name=factory.Sequence(lambda n: f"Top-up card {n}"))
        handset = factory.Trait(item_kind=ItemKind.HANDSET, name=factory.Sequence(lambda n: f"Handset {n}"), unit_price=Decimal("2999.00"))


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    warehouse = factory.SubFactory(WarehouseFactory)
    sku = factory.SubFactory(SkuFactory, counted=True)
    on_hand = 10


class SerialUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SerialUnit

    sku = factory.SubFactory(SkuFactory)
    serial = factory.Sequence(lambda n: f"898600{n:014d}")
    warehouse = factory.SubFactory(WarehouseFactory)


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"CAR{n:02d}")
    name = factory.Sequence(lambda n: f"Express {n}")
    kind = Carrier.Kind.EXPRESS
    promised_hours = 48

    @factory.post_generation
    def serves(self, create, extracted, **kwargs):
        """``CarrierFactory(serves=["sim", "handset"])``; every item kind by default."""
        if create:
            kinds = extracted if extracted is not None else [ItemKind.SIM, ItemKind.HANDSET, ItemKind.CARD]
            CarrierService.objects.bulk_create([CarrierService(carrier=self, item_kind=k) for k in kinds])


class CarrierCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierCredential

    carrier = factory.SubFactory(CarrierFactory)
    key_id = factory.Sequence(lambda n: f"key-{n}")
    secret = factory.Sequence(lambda n: f"secret-{n}-0123456789abcdef")


# --- complaints ---------------------------------------------------------------
from complaints.models import ComplaintCategory, WarningLevel  # noqa: E402


class ComplaintCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComplaintCategory

    code = factory.Sequence(lambda n: f"CC{n:03d}")
    name = factory.Sequence(lambda n: f"Complaint kind {n}")
    department = factory.SubFactory(DepartmentFactory)
    time_limit_hours = 48
    template = "When did it start? Which number? Where?"


class WarningLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WarningLevel
        django_get_or_create = ("level",)

    level = 1
    name = factory.LazyAttribute(lambda o: f"Level {o.level}")
    threshold = 50
    window_minutes = 10
    wait_minutes = 30
    notify_department_head = factory.LazyAttribute(lambda o: o.level == 1)


# --- facts the KPIs count (rows made directly, status and anchors as given) ------
from complaints.models import Callback, Complaint, WorkOrder  # noqa: E402
from orders.models import Order  # noqa: E402


class OrderFactory(factory.django.DjangoModelFactory):
    """A submitted back-office order; pass ``status``, ``decided_at``, ``accepted_at``... to place it further on."""

    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    flow = factory.LazyAttribute(lambda o: o.product.category.flow)
    channel = Channel.HOTLINE
    created_by = factory.SubFactory(UserFactory)
    submitted_at = factory.LazyFunction(timezone.now)
    accept_by = factory.LazyAttribute(
        lambda o: o.submitted_at + timedelta(hours=o.product.category.acceptance_limit_hours) if o.flow == Flow.BACK_OFFICE else None
    )


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory, status="accepted")
    warehouse = factory.SubFactory(WarehouseFactory)
    carrier = factory.SubFactory(CarrierFactory)


class ComplaintFactory(factory.django.DjangoModelFactory):
    """A complaint assigned to its category's department, due by the category's time limit."""

    class Meta:
        model = Complaint

    customer = factory.SubFactory(CustomerFactory)
    category = factory.SubFactory(ComplaintCategoryFactory)
    description = "No signal at home"
    status = "assigned"
    first_ask_owner = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda o: o.category.department)
    area = factory.LazyAttribute(lambda o: o.customer.area)
    received_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.received_at + timedelta(hours=o.category.time_limit_hours))


class WorkOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkOrder

    complaint = factory.SubFactory(ComplaintFactory)
    department = factory.LazyAttribute(lambda o: o.complaint.department)
    kind = WorkOrder.Kind.HANDLING
    opened_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.opened_at + timedelta(hours=24))


class CallbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Callback

    complaint = factory.SubFactory(ComplaintFactory)
    kind = Callback.Kind.SATISFACTION
    due_at = factory.LazyFunction(timezone.now)
