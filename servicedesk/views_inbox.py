"""The agents' inbox: contacts from self-service channels (an SMS the hall could not answer, a
low callback score) waiting for an agent, oldest first; "Done" records the agent's answer.

For roles that record contacts (``servicedesk.add_contact``). Numbers are masked here and the
customer's words scrubbed of numbers: the customer screen behind each row shows the rest.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .masking import mask_phone, scrub
from .pages import page_number, require
from .sms_hall import contact_follow_up_done, inbox_contacts

CONTACTS_PER_PAGE = 25


@login_required
@require_GET
def inbox(request):
    require(request, "servicedesk.add_contact")
    page = Paginator(inbox_contacts(user=request.user), CONTACTS_PER_PAGE).get_page(page_number(request.GET))
    rows = [{"contact": c, "number": mask_phone(c.service_number), "reason": scrub(c.reason)} for c in page.object_list]
    return render(request, "servicedesk/inbox.html", {"page": page, "rows": rows, "extra": ""})


@login_required
@require_POST
def inbox_done(request, contact_id: int):
    require(request, "servicedesk.add_contact")
    try:
        contact_follow_up_done(contact_id=contact_id, agent=request.user, notes=request.POST.get("notes", "")[:2000])
    except ObjectDoesNotExist as exc:
        raise Http404(_("No such contact.")) from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Contact #%(id)s handled: it has left the inbox.") % {"id": contact_id})
    page = page_number(request.POST)
    return HttpResponseRedirect(reverse("console:inbox") + (f"?page={page}" if page > 1 else ""))
