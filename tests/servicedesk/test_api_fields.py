"""The one service-number field every app's API parses numbers with."""
import pytest
from rest_framework import serializers

from servicedesk.api.fields import ServiceNumberField


class Form(serializers.Serializer):
    number = ServiceNumberField(required=False, allow_blank=True)


@pytest.mark.parametrize("typed, stored", [
    ("+86 138 0013 8000", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("010-6552 9988", "01065529988"),
    ("", ""),
])
def test_numbers_are_read_as_their_national_digits(typed, stored):
    form = Form(data={"number": typed})

    assert form.is_valid(), form.errors
    assert form.validated_data["number"] == stored


@pytest.mark.parametrize("typed", ["12345", "not a number", "+1 415 555 0100"])
def test_a_wrong_number_is_an_error_on_its_field(typed):
    form = Form(data={"number": typed})

    assert not form.is_valid()
    assert list(form.errors) == ["number"]
