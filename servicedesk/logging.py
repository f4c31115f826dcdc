import logging

from .masking import scrub

_formatter = logging.Formatter()


class MaskPersonalDataFilter(logging.Filter):
    """Rewrites every record so that ID and phone numbers never reach a log sink,
    in the message and in the traceback text of ``logger.exception`` alike."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            return True
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the scrubbed text is what gets written.
            record.exc_text = scrub(_formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True
