import logging

from .masking import scrub


class MaskPersonalDataFilter(logging.Filter):
    """Rewrites every record so that ID and phone numbers never reach a log sink."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            return True
        record.msg = scrub(message)
        record.args = None
        return True
