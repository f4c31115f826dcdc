"""Serializer fields every app's API shares."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from servicedesk.phones import normalize_service_number


class ServiceNumberField(serializers.CharField):
    """A mainland China service number as typed (+86, spaces, dashes), read as its national digits.

    An invalid number is a 400 naming the field; a blank one stays blank where the field allows it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not value:
            return value
        try:
            return normalize_service_number(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
