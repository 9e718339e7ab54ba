"""No whole national ID and no secret in any log line (issue 11; PDPA).

Installed as the process's log-record factory, so it covers every logger and every handler:
Flask's, werkzeug's request lines (a list searched by national ID carries it in the address),
gunicorn's, RQ's, and tracebacks. Each record's message is rendered once, when it is made, and
kept only with:

- every run of 13 digits (with or without dashes or spaces) masked as the screens mask it,
  1-2345-xxxxx-xx-3;
- passwords, tokens, CSRF tokens, cookies and bearer credentials replaced by "[redacted]";
- SQL parameter lists cut off (config's hide_parameters already keeps them out of errors).
"""
import logging
import re

from app.domain.national_id import format_masked

REDACTED = "[redacted]"

_NATIONAL_ID = re.compile(r"(?<![\d-])\d(?:[- ]?\d){12}(?![\d])")
_SECRET_PAIR = re.compile(
    r"(?i)(\"?(?:password|passwd|secret|access_token|refresh_token|csrf_token|token|session|api_key)\"?"
    r"\s*[=:]\s*\"?)([^\"&\s,;}]+)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s|$)", re.S)

_INSTALLED = "_sitthi_redacting"


def redact(text: str) -> str:
    text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    return _NATIONAL_ID.sub(lambda m: format_masked(re.sub(r"\D", "", m.group(0))), text)


def install() -> None:
    """Make every log record of this process redacted (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, _INSTALLED, False):
        return

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what was given, as logging itself would report it
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    setattr(redacting_factory, _INSTALLED, True)
    logging.setLogRecordFactory(redacting_factory)
