"""Demo data of the complaints app, found by ``servicedesk.demo``.

``seed(log=...)``: complaint categories routed to the demo departments (with what to
ask), the early-warning ladder (``demo_warning``), and on a database without
complaints a few to work: one waiting in the network department's queue, one
past its deadline, one resolved and waiting for its callback.
``reset(log=...)`` removes complaints and alerts before the customers go.
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from servicedesk.models import Customer, Department, User

from . import demo_warning
from .models import (
    Alert,
    AlertNotice,
    Callback,
    Complaint,
    ComplaintCategory,
    ComplaintNote,
    ComplaintTransition,
    Severity,
    WorkOrder,
)
from .services import intake, work

# code, name, department code, time limit (hours), fault repair, what to ask
CATEGORIES = (
    ("NETWORK", "网络信号", "NET", 48, False, "何时开始？在什么地点（小区/街道）？室内还是室外？通话、上网都受影响吗？"),
    ("BILLING", "账单费用", "BILL", 72, False, "哪个月的账单？哪一项费用有疑问？金额多少？"),
    ("ATTITUDE", "服务态度", "CS", 24, False, "在哪个渠道、什么时间？工号或营业厅？具体经过？"),
    ("DELIVERY", "配送问题", "DLV", 24, False, "订单号或运单号？约定的配送时间？出了什么问题？"),
    ("BROADBAND", "宽带故障", "BB", 24, True, "宽带账号？光猫指示灯状态？何时开始无法上网？"),
)


@transaction.atomic
def seed(*, log=print) -> None:
    departments = {d.code: d for d in Department.objects.all()}
    made = 0
    for code, name, department, hours, fault, template in CATEGORIES:
        if department not in departments:
            continue
        ComplaintCategory.objects.update_or_create(code=code, defaults={
            "name": name, "department": departments[department], "time_limit_hours": hours, "is_fault": fault,
            "repair_limit_hours": 24, "template": template, "active": True,
        })
        made += 1
    demo_warning.seed(log=log)
    log(f"Complaints: {made} categories routed to departments, early-warning ladder in place.")
    if not Complaint.objects.exists():
        _seed_work(log)


def _seed_work(log) -> None:
    agent = User.objects.filter(username="agent1").first()
    handler = User.objects.filter(department__code="NET", groups__name="complaint_handler").order_by("username").first()
    customers = list(Customer.objects.exclude(id_number="").order_by("id")[12:15])
    if agent is None or handler is None or len(customers) < 3:
        return
    network, billing = ComplaintCategory.objects.get(code="NETWORK"), ComplaintCategory.objects.get(code="BILLING")
    waiting = intake.complaint_take(agent=agent, customer=customers[0], category=network, severity=Severity.NORMAL,
                                    description="小区晚上信号很差，通话经常中断。")
    late = intake.complaint_take(agent=agent, customer=customers[1], category=billing, severity=Severity.HIGH,
                                 description="10月账单多扣了30元流量费。")
    # Past its deadline: the breach check flags it on its next run.
    past = timezone.now() - timedelta(hours=2)
    Complaint.objects.filter(pk=late.pk).update(due_at=past)
    WorkOrder.objects.filter(complaint=late).update(due_at=past)
    resolved = intake.complaint_take(agent=agent, customer=customers[2], category=network, severity=Severity.LOW,
                                     description="家里4G信号弱。")
    work.complaint_start(complaint_id=resolved.pk, by=handler)
    work.complaint_resolve(complaint_id=resolved.pk, by=handler, resolution="已调整基站天线方向，信号恢复正常。")
    log(f"Complaints: #{waiting.pk} in the network queue, #{late.pk} past its deadline, #{resolved.pk} resolved and due for a callback.")


@transaction.atomic
def reset(*, log=print) -> None:
    AlertNotice.objects.all().delete()
    Alert.objects.all().delete()
    Callback.objects.all().delete()
    WorkOrder.objects.all().delete()
    ComplaintNote.objects.all().delete()
    ComplaintTransition.objects.all().delete()
    Complaint.objects.all().delete()
    log("Complaints: complaints, work orders, callbacks and alerts cleared.")
