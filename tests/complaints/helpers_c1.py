"""Shared givens of the intake, work, callback and view tests."""
from complaints.services import intake, work
from servicedesk.models import VipTier
from tests.factories import ComplaintCategoryFactory, CustomerFactory, UserFactory


def given_complaint(*, agent=None, customer=None, category=None, severity="normal", **kwargs):
    agent = agent or UserFactory(roles=["agent"])
    customer = customer or CustomerFactory(vip_tier=VipTier.ORDINARY)
    category = category or ComplaintCategoryFactory()
    return intake.complaint_take(agent=agent, customer=customer, category=category, severity=severity,
                                 description=kwargs.pop("description", "No signal at home"), **kwargs)


def given_handler(department, **kwargs):
    return UserFactory(roles=["complaint_handler"], department=department, **kwargs)


def given_resolved(**kwargs):
    """A complaint resolved by a handler of its department: now waiting for its callback."""
    complaint = given_complaint(**kwargs)
    handler = given_handler(complaint.department)
    work.complaint_start(complaint_id=complaint.pk, by=handler)
    work.complaint_resolve(complaint_id=complaint.pk, by=handler, resolution="Reset the line")
    return complaint, handler
