"""Text from outside (provider values, file names, feed errors) made safe to store, log and export.

`printable` escapes every character that could forge a log line, break an XLSX export or fail to
encode as UTF-8: control characters (also tab, CR and LF), DEL, the C1 range, lone surrogates and the
non-characters U+FFFE and U+FFFF become `\\xNN` or `\\uNNNN`. A backslash is left as it is.
"""
from __future__ import annotations

import logging
import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """The text with every unprintable or unencodable character escaped (see the module docstring), except
    the characters in `keep` (e.g. tab, CR and LF in an export cell)."""
    return _UNPRINTABLE.sub(lambda match: match.group() if match.group() in keep else _escape(match), text)


def first_unprintable(text: str, allowed: str = "") -> tuple[int, str] | None:
    """(1-based position, 'U+XXXX') of the first character `printable` would escape, except those in
    `allowed`; None when there is none."""
    if text.isprintable():  # the quick test: most text has nothing to find
        return None
    for match in _UNPRINTABLE.finditer(text):
        if match.group() not in allowed:
            return match.start() + 1, f"U+{ord(match.group()):04X}"
    return None


class OneLineFormatter(logging.Formatter):
    """Log records whose message text comes from outside (file names, feed errors) stay one line: the
    message is escaped; a traceback, which is ours, follows as usual."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)


def log_in_one_line(level: int = logging.INFO) -> None:
    """The root logger on standard error, one escaped line per record."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
