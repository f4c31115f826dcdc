"""Masking of personal data for display and for logs."""
import re


def mask_id_number(value: str) -> str:
    """``110101199003071234`` -> ``1101**********1234``: the region and the last four stay."""
    if not value:
        return ""
    if len(value) <= 8:
        return value[:1] + "*" * (len(value) - 2) + value[-1:] if len(value) > 2 else "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``; fixed lines keep the area code and the last four."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * (len(value) - 4) + value[-4:]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str) -> str:
    """Keep the district (first six characters), hide the street and door."""
    if not value:
        return ""
    return value[:6] + "****"


# 18-character resident ID (last may be X), 11-digit mobile, fixed lines like 022-12345678.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
# A mobile may follow the country code directly (+8613812345678) and be grouped 3-4-4 by spaces or dashes.
_OLD_ID_RE = re.compile(r"(?<!\d)(\d{4})(\d{7})(\d{4})(?!\d)")  # 15-digit first-generation ID
_MOBILE_RE = re.compile(r"(?:(?<=86)|(?<!\d))(1\d{2})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_FIXED_RE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Mask every ID or phone number found in free text (used for log lines)."""
    text = _ID_RE.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(3), text)
    text = _OLD_ID_RE.sub(lambda m: m.group(1) + "*" * 7 + m.group(3), text)
    text = _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _FIXED_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
