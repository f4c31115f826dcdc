from django import template

register = template.Library()


@register.filter
def id_number_for(customer, user) -> str:
    """The customer's ID number as the viewing user's role may see it."""
    return customer.id_number_for(user)


@register.filter
def address_for(customer, user) -> str:
    return customer.address_for(user)
