"""Service numbers: 11-digit mainland mobiles and fixed lines with their area code."""
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-()]")


def normalize_service_number(raw: str) -> str:
    """Return the national digits (``13812345678``, ``02223456789``) or raise ValidationError."""
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isdigit() or not 7 <= len(digits) <= 12:
        raise ValidationError(_("Enter an 11-digit mobile number or a fixed line with its area code."), code="invalid_service_number")
    try:
        parsed = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number_for_region(parsed, "CN"):
        raise ValidationError(_("%(number)s is not a valid mainland China service number.") % {"number": raw}, code="invalid_service_number")
    kind = phonenumbers.number_type(parsed)
    national = str(parsed.national_number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return national
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "0" + national
    # 400/800 and other non-geographic numbers are not subscriber lines ("0" + 4008123123 is no number at all).
    raise ValidationError(_("%(number)s is not a valid mainland China service number.") % {"number": raw}, code="invalid_service_number")


def looks_like_service_number(text: str) -> bool:
    digits = _SEPARATORS.sub("", text or "")
    return digits.lstrip("+").isdigit() and 7 <= len(digits.lstrip("+")) <= 15


def validate_service_number(value: str) -> None:
    if normalize_service_number(value) != value:
        raise ValidationError(_("Enter the service number as digits only, without +86, spaces or dashes."), code="invalid_service_number")
