"""The orders and delivery parts of ``manage.py seed_demo``: a catalogue in all three flows, stock down the
chain, carriers, and work waiting for each team (run here, where both apps' hooks are live)."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import selectors, services
from orders.models import Flow, NumberClass, NumberStatus, Opportunity, Order, PoolNumber, Product, ProductCategory
from delivery.models import DailyReport, Shipment, StockLevel
from servicedesk.models import SmsMessage, Team, User

pytestmark = pytest.mark.django_db


def seed(**options):
    call_command("seed_demo", customers=40, force=True, stdout=StringIO(), **options)


def test_the_demo_has_a_catalogue_in_every_flow_and_work_for_back_office_and_outbound(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # billing and SMS run after commit, as in the demo
        seed()

    assert set(ProductCategory.objects.values_list("flow", flat=True)) == {Flow.DIRECT, Flow.BACK_OFFICE, Flow.DEFERRED}
    assert Product.objects.filter(needs_number=True, category__flow=Flow.BACK_OFFICE).exists()
    queue = list(selectors.back_office_queue())
    assert len(queue) == 4  # six sold; the delivery demo accepted two of them
    assert queue[0].accept_by < timezone.now() < queue[1].accept_by  # the breached one is served first
    assert services.order_claim_next(clerk=User.objects.get(username="backoffice1")).pk == queue[0].pk
    assert selectors.callbacks_due().count() == 2
    assert PoolNumber.objects.filter(status__in=[NumberStatus.RESERVED, NumberStatus.SOLD]).count() == 6
    shipments = {s.status for s in Shipment.objects.all()}
    assert shipments == {"out_for_delivery", "delivered"}
    assert SmsMessage.objects.filter(template="delivery.before_delivery").exists()
    assert StockLevel.objects.filter(warehouse__level=3, on_hand__gt=0).exists()
    # today's reports are there to reconcile; the hall that delivered shows its cash
    reports = DailyReport.objects.filter(day=timezone.localdate())
    assert reports.count() == 2 and sum(r.deliveries_count for r in reports) == 1 and sum(r.collected_cash for r in reports) > 0
    assert PoolNumber.objects.filter(number_class=NumberClass.LUCKY).exists()
    outbound_team = Team.objects.get(members__username="outbound2")
    assert outbound_team.lead.username == "outbound1"


def test_seeding_again_adds_nothing_and_reset_frees_the_pool():
    seed()
    counts = (Product.objects.count(), PoolNumber.objects.count(), Order.objects.count(), Opportunity.objects.count())
    seed()
    assert (Product.objects.count(), PoolNumber.objects.count(), Order.objects.count(), Opportunity.objects.count()) == counts

    seed(reset=True)
    # the reset removed the old work, freed its numbers, and the seed then laid out fresh work
    assert Order.objects.count() == 6
    assert PoolNumber.objects.filter(status__in=[NumberStatus.RESERVED, NumberStatus.SOLD]).count() == 6
    shipments = {s.status for s in Shipment.objects.all()}
    assert shipments == {"out_for_delivery", "delivered"}
    assert SmsMessage.objects.filter(template="delivery.before_delivery").exists()
    assert StockLevel.objects.filter(warehouse__level=3, on_hand__gt=0).exists()
    # today's reports are there to reconcile; the hall that delivered shows its cash
    reports = DailyReport.objects.filter(day=timezone.localdate())
    assert reports.count() == 2 and sum(r.deliveries_count for r in reports) == 1 and sum(r.collected_cash for r in reports) > 0
    assert PoolNumber.objects.count() == counts[1]
