"""Service numbers: any common spelling of a mainland mobile or fixed line comes out as national digits."""
import pytest
from django.core.exceptions import ValidationError

from servicedesk.phones import looks_like_service_number, normalize_service_number, validate_service_number


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        pytest.param("13812345678", "13812345678", id="mobile"),
        pytest.param("19912345678", "19912345678", id="mobile-199"),
        pytest.param("17012345678", "17012345678", id="mobile-virtual-operator"),
        pytest.param("+8613812345678", "13812345678", id="plus-86"),
        pytest.param("+86 138 1234 5678", "13812345678", id="plus-86-spaces"),
        pytest.param("008613812345678", "13812345678", id="0086"),
        pytest.param("0086-138-1234-5678", "13812345678", id="0086-dashes"),
        pytest.param(" 138 1234 5678 ", "13812345678", id="spaces-around"),
        pytest.param("138-1234-5678", "13812345678", id="dashes"),
        pytest.param("022-23456789", "02223456789", id="tianjin-fixed-line"),
        pytest.param("02223456789", "02223456789", id="fixed-line-digits"),
        pytest.param("(022) 2345 6789", "02223456789", id="fixed-line-brackets"),
        pytest.param("+86 22 2345 6789", "02223456789", id="fixed-line-international"),
        pytest.param("010-12345678", "01012345678", id="beijing-fixed-line"),
        pytest.param("0755-12345678", "075512345678", id="four-digit-area-code"),
        pytest.param("１３８１２３４５６７８", "13812345678", id="full-width-digits-from-chinese-input"),
    ],
)
def test_valid_numbers_normalise_to_national_digits(raw, number):
    assert normalize_service_number(raw) == number
    # and the normal form is stable and storable
    assert normalize_service_number(number) == number
    validate_service_number(number)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
        pytest.param("123", id="too-short"),
        pytest.param("abc", id="letters"),
        pytest.param("1381234567a", id="letter-inside"),
        pytest.param("1380013800", id="ten-digit-mobile"),
        pytest.param("138123456789", id="twelve-digit-mobile"),
        pytest.param("1" * 25, id="25-digits"),
        pytest.param("12345678901", id="no-such-mobile-prefix"),
        pytest.param("23456789", id="fixed-line-without-area-code"),
        pytest.param("+1 650 253 0000", id="foreign-country-code"),
        pytest.param("+852 9123 4567", id="hong-kong"),
        pytest.param("4008123123", id="400-shared-cost"),
        pytest.param("800-810-1818", id="800-toll-free"),
        pytest.param("10086", id="short-service-code"),
        pytest.param("138.1234.5678", id="dots"),
        pytest.param("¹³⁸¹²³⁴⁵⁶⁷⁸", id="superscript-digits"),
    ],
)
def test_invalid_numbers_raise_validation_error(raw):
    with pytest.raises(ValidationError) as caught:
        normalize_service_number(raw)

    assert caught.value.code == "invalid_service_number"
    assert caught.value.messages and all(caught.value.messages)


@pytest.mark.parametrize("spelled", ["+8613812345678", "138 1234 5678", "022-23456789"])
def test_only_the_normal_form_may_be_stored(spelled):
    with pytest.raises(ValidationError):
        validate_service_number(spelled)


@pytest.mark.parametrize(
    ("text", "looks"),
    [("13812345678", True), ("+86 138 1234 5678", True), ("022-23456789", True), ("张三", False), ("1234", False), ("E12345678", False)],
)
def test_looks_like_service_number_routes_the_search_box(text, looks):
    assert looks_like_service_number(text) is looks
