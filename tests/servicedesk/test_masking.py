"""Masking of personal data for display, and in every log line."""
import io
import logging

import pytest

from servicedesk.logging import MaskPersonalDataFilter
from servicedesk.masking import mask_address, mask_id_number, mask_phone, scrub


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "1101**********1234"),
        ("11010119900307123X", "1101**********123X"),
        ("110101900307123", "1101*******7123"),
        ("E12345678", "E123*5678"),
        ("E1234567", "E******7"),
        ("AB1", "A*1"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("02223456789", "022****6789"),
        ("075512345678", "075*****5678"),
        ("2345678", "***5678"),
        ("", ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("天津市和平区南京路100号3门501", "天津市和平区****"),
        ("北京市朝阳区建国路88号", "北京市朝阳区****"),
        ("", ""),
    ],
)
def test_mask_address_keeps_only_the_district(value, masked):
    assert mask_address(value) == masked


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        pytest.param("caller 13812345678 asked", "caller 138****5678 asked", id="mobile"),
        pytest.param("id=110101199003071234;", "id=1101**********1234;", id="id-number"),
        pytest.param("ID 11010119900307123x", "ID 1101**********123x", id="id-number-with-x"),
        pytest.param("fixed 022-23456789 line", "fixed 022-****6789 line", id="fixed-line"),
        pytest.param("sms to +8613812345678", "sms to +86138****5678", id="e164-mobile"),
        pytest.param("tel +86 138 1234 5678", "tel +86 138****5678", id="spaced-mobile"),
        pytest.param("tel 138-1234-5678", "tel 138****5678", id="dashed-mobile"),
        pytest.param("张三(110101199003071234)来电13812345678", "张三(1101**********1234)来电138****5678", id="chinese-around"),
        pytest.param(
            "a 13812345678 b 13987654321 c 110101199003071234",
            "a 138****5678 b 139****4321 c 1101**********1234",
            id="several",
        ),
        pytest.param("order 2024030713812345678901", "order 2024030713812345678901", id="long-digit-run-untouched"),
        pytest.param("at 2024-03-07 10:21:33, 3 attempts", "at 2024-03-07 10:21:33, 3 attempts", id="dates-untouched"),
        pytest.param("", "", id="empty"),
    ],
)
def test_scrub_masks_ids_and_phone_numbers_in_free_text(text, scrubbed):
    assert scrub(text) == scrubbed


@pytest.fixture
def masked_logger():
    """A logger whose handler carries the filter, as the settings' console handler does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskPersonalDataFilter())
    logger = logging.getLogger("tests.servicedesk.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        pytest.param("caller %s with ID %s", ("13812345678", "110101199003071234"), id="args"),
        pytest.param("caller %(number)s with ID %(id)s", ({"number": "13812345678", "id": "110101199003071234"},), id="dict-args"),
        pytest.param("caller 13812345678 with ID 110101199003071234", (), id="in-the-message"),
        pytest.param("caller %s with ID %s", (13812345678, 110101199003071234), id="numbers-as-ints"),
    ],
)
def test_log_filter_masks_the_emitted_line(masked_logger, msg, args):
    logger, stream = masked_logger

    logger.info(msg, *args)

    assert stream.getvalue() == "INFO caller 138****5678 with ID 1101**********1234\n"


def test_log_filter_masks_what_caplog_captures(caplog):
    # given caplog's handler carrying the filter
    caplog.handler.addFilter(MaskPersonalDataFilter())
    logger = logging.getLogger("tests.servicedesk.masking.caplog")

    with caplog.at_level(logging.INFO):
        logger.warning("delivery to %s failed", "+8613812345678")

    assert "13812345678" not in caplog.text
    assert "+86138****5678" in caplog.text


def test_log_filter_keeps_a_record_with_a_broken_format_string(masked_logger):
    # a bad call must not make the line vanish (the filter never drops a record)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("only one",), None)

    assert MaskPersonalDataFilter().filter(record) is True


def test_the_configured_console_handler_carries_the_filter():
    # the settings' LOGGING puts the filter on the root console handler; without it every log line leaks
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert any(isinstance(f, MaskPersonalDataFilter) for h in handlers for f in h.filters), handlers


def test_log_filter_masks_the_traceback_of_logger_exception(masked_logger):
    logger, stream = masked_logger

    try:
        raise ValueError("gateway refused 13812345678 for ID 110101199003071234")
    except ValueError:
        logger.exception("send failed")

    emitted = stream.getvalue()
    assert "Traceback" in emitted
    assert "13812345678" not in emitted and "110101199003071234" not in emitted
    assert "138****5678" in emitted


def test_scrub_masks_fifteen_digit_ids():
    assert scrub("old ID 110101900307123 on file") == "old ID 1101*******7123 on file"
