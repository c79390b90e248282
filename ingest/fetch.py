"""Fetching JSON feeds over HTTP: conditional GET, bounded retries, a size cap, and strict parsing.

Messages name the URL (without user name or password) and never the token.
"""
from __future__ import annotations

import codecs
import json
import random
import re
import ssl
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache, partial
from http import HTTPStatus
from itertools import accumulate

import httpx

from ingest.records import StructuralError
from queries.errors import CapacityError

USER_AGENT = "capacity-dashboard-ingest"
MAX_REDIRECTS = 5
RETRY_AFTER_STATUSES = frozenset({429, 503})
_TOKEN = re.compile(r"[\x21-\x7e]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]+")
_HINTS = {
    401: (" (controleer het token)", " (check the token)"),
    403: (" (controleer het token en de rechten)", " (check the token and its permissions)"),
    404: (" (klopt het adres?)", " (is the address right?)"),
}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced; `body` is None when the source answered 304 Not Modified."""

    not_modified: bool
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    attempts: int


class FetchError(CapacityError):
    """Fetching failed; `retryable` says whether a later try may succeed, `status` is the last HTTP status."""

    def __init__(self, nl: str, en: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(nl, en)
        self.retryable = retryable
        self.status = status


class _Retry(Exception):
    """One attempt failed in a way another attempt may fix; nl/en describe the failure briefly."""

    def __init__(self, nl: str, en: str, status: int | None = None, label: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(en)
        self.nl = nl
        self.en = en
        self.status = status
        self.label = label
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Call:
    """Everything one attempt needs."""

    url: str
    shown: str
    headers: dict[str, str]
    timeout: float
    max_bytes: int
    etag: str | None
    last_modified: str | None


@cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every fetch: loading it costs ~40 ms, more than a small feed itself."""
    return httpx.create_ssl_context()


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          token: str | None = None, timeout: float = 10.0, max_bytes: int = 20 * 1024 * 1024,
          max_attempts: int = 4, backoff_base: float = 0.5, backoff_max: float = 30.0,
          client: httpx.Client | None = None, sleep: Callable[[float], object] = time.sleep) -> FetchResult:
    """GET a JSON feed, conditionally when etag/last_modified are given, retrying transient failures.

    On 304 the returned etag/last_modified fall back to the ones passed in when the source omits them.
    A caller-supplied client keeps its own redirect limit; the timeout is set on every request.
    Raises FetchError: retryable=False for problems another try will not fix (4xx, size cap, bad URL).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    shown = _shown(url)
    call = _Call(url, shown, _headers(shown, etag, last_modified, token), timeout, max_bytes, etag, last_modified)
    failures: list[_Retry] = []
    with nullcontext(client) if client is not None else httpx.Client(max_redirects=MAX_REDIRECTS,
                                                                      verify=_tls_context()) as http:
        for attempt in range(1, max_attempts + 1):
            try:
                return _attempt(http, call, attempt)
            except _Retry as failure:
                failures.append(failure)
            if attempt < max_attempts:
                sleep(_delay(failures[-1], attempt - 1, backoff_base, backoff_max))
    raise _gave_up(call.shown, failures) from failures[-1].__cause__


def _shown(url: str) -> str:
    """The URL as it may appear in messages: without user name or password."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise FetchError(f"Het adres van de bron is ongeldig: {url}", f"The address of the source is invalid: {url}",
                         retryable=False) from None
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else url


def _headers(shown: str, etag: str | None, last_modified: str | None, token: str | None) -> dict[str, str]:
    """Request headers; conditional headers only when sendable, Authorization only with a token."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if etag and _HEADER_VALUE.fullmatch(etag):
        headers["If-None-Match"] = etag
    if last_modified and _HEADER_VALUE.fullmatch(last_modified):
        headers["If-Modified-Since"] = last_modified
    if token:
        if not _TOKEN.fullmatch(token.strip()):
            raise FetchError(f"Het token voor {shown} bevat spaties of tekens die niet in een header passen.",
                             f"The token for {shown} contains spaces or characters not allowed in a header.",
                             retryable=False)
        headers["Authorization"] = f"Bearer {token.strip()}"
    return headers


def _attempt(http: httpx.Client, call: _Call, attempt: int) -> FetchResult:
    """One GET; _Retry for transient failures, FetchError for the rest."""
    try:
        with http.stream("GET", call.url, headers=call.headers, timeout=httpx.Timeout(call.timeout),
                         follow_redirects=True) as response:
            return _result(response, call, attempt)
    except httpx.TimeoutException as exc:
        raise _timed_out(exc, call.timeout) from exc
    except httpx.UnsupportedProtocol:
        raise FetchError(f"Ophalen van {call.shown} mislukt: dit is geen http- of https-adres.",
                         f"Fetching {call.shown} failed: this is not an http or https address.",
                         retryable=False) from None
    except httpx.ConnectError as exc:
        raise _Retry(f"geen verbinding mogelijk{_detail(exc)}", f"could not connect{_detail(exc)}") from exc
    except httpx.TransportError as exc:
        raise _Retry(f"verbinding onderbroken{_detail(exc)}", f"connection interrupted{_detail(exc)}") from exc
    except httpx.TooManyRedirects:
        raise FetchError(f"Ophalen van {call.shown} mislukt: meer dan {MAX_REDIRECTS} doorverwijzingen.",
                         f"Fetching {call.shown} failed: more than {MAX_REDIRECTS} redirects.",
                         retryable=False) from None
    except httpx.DecodingError:
        raise FetchError(f"Ophalen van {call.shown} mislukt: de gecomprimeerde data van de bron is onleesbaar.",
                         f"Fetching {call.shown} failed: the compressed data from the source is unreadable.",
                         retryable=False) from None


def _result(response: httpx.Response, call: _Call, attempt: int) -> FetchResult:
    """The outcome of one response: a result, a _Retry, or a FetchError."""
    status = response.status_code
    headers = response.headers
    if status == 304:
        return FetchResult(True, None, headers.get("ETag") or call.etag,
                           headers.get("Last-Modified") or call.last_modified, headers.get("Content-Type"), attempt)
    if 200 <= status < 300:
        body = _read_capped(response, call)
        return FetchResult(False, body, headers.get("ETag"), headers.get("Last-Modified"),
                           headers.get("Content-Type"), attempt)
    label = _status_label(response)
    if status == 429 or status >= 500:
        retry_after = _retry_after(headers.get("Retry-After")) if status in RETRY_AFTER_STATUSES else None
        raise _Retry(f"antwoord {label}", f"answer {label}", status, label, retry_after)
    hint_nl, hint_en = _HINTS.get(status, ("", ""))
    raise FetchError(f"Ophalen van {call.shown} mislukt: de bron antwoordde met {label}{hint_nl}.",
                     f"Fetching {call.shown} failed: the source answered {label}{hint_en}.",
                     retryable=False, status=status)


def _read_capped(response: httpx.Response, call: _Call) -> bytes:
    """The body, refusing a declared or actual size above max_bytes (counted after decompression)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > call.max_bytes:
        raise _too_big(call, response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > call.max_bytes:
            raise _too_big(call, response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(call: _Call, status: int) -> FetchError:
    nl_size, en_size = _size(call.max_bytes)
    return FetchError(f"Ophalen van {call.shown} afgebroken: het antwoord is groter dan de grens van {nl_size}.",
                      f"Fetching {call.shown} stopped: the response is larger than the limit of {en_size}.",
                      retryable=False, status=status)


def _size(n: int) -> tuple[str, str]:
    """A byte count for people, in Dutch and English notation."""
    text = f"{n / 2**20:g} MB" if n >= 2**20 else f"{n} bytes"
    return text.replace(".", ","), text


def _status_label(response: httpx.Response) -> str:
    """`503 (Service Unavailable)`: the standard phrase, else what the server said."""
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"{response.status_code} ({phrase})" if phrase else str(response.status_code)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _delay(failure: _Retry, retry: int, base: float, cap: float) -> float:
    """Retry-After when the source gave one, else exponential backoff with full jitter; never above cap."""
    if failure.retry_after is not None:
        return min(cap, failure.retry_after)
    return random.uniform(0, min(cap, base * 2**retry))


def _timed_out(exc: httpx.TimeoutException, timeout: float) -> _Retry:
    seconds = f"{timeout:g}"
    if isinstance(exc, httpx.ConnectTimeout):
        return _Retry(f"geen verbinding binnen {seconds.replace('.', ',')} seconden",
                      f"no connection within {seconds} seconds")
    return _Retry(f"geen antwoord binnen {seconds.replace('.', ',')} seconden", f"no answer within {seconds} seconds")


def _detail(exc: Exception) -> str:
    """The technical reason in parentheses, when there is one."""
    return f" ({exc})" if str(exc) else ""


def _gave_up(shown: str, failures: list[_Retry]) -> FetchError:
    """The error after the last attempt: what happened, how often."""
    last = failures[-1]
    count = len(failures)
    if last.label is not None and all(f.status == last.status for f in failures):
        nl = f"de bron antwoordde {count} keer met {last.label}"
        en = f"the source answered {last.label} {'once' if count == 1 else f'{count} times'}"
    elif count == 1:
        nl, en = last.nl, last.en
    else:
        nl = f"{count} pogingen mislukt, de laatste: {last.nl}"
        en = f"{count} attempts failed, the last: {last.en}"
    return FetchError(f"Ophalen van {shown} mislukt: {nl}.", f"Fetching {shown} failed: {en}.",
                      retryable=True, status=last.status)


def parse_json(body: bytes, content_type: str | None, where: str, max_depth: int = 64) -> object:
    """The JSON document in `body`; StructuralError (prefixed with `where`) when it is HTML,
    not UTF-8, empty, invalid, has duplicate keys or is nested deeper than max_depth."""
    if _is_html(body, content_type):
        raise _structural(where, "de bron stuurde een webpagina (HTML) in plaats van JSON",
                          "the source sent a web page (HTML) instead of JSON")
    text = _decode(body, where)
    if not text.strip():
        raise _structural(where, "de bron stuurde een leeg antwoord", "the source sent an empty response")
    if _depth(text) > max_depth:
        raise _too_deep(where, max_depth)
    try:
        return json.loads(text, object_pairs_hook=partial(_unique_keys, where),
                          parse_constant=partial(_no_constant, where))
    except json.JSONDecodeError as exc:
        raise _structural(where, f"de JSON is afgebroken of ongeldig bij regel {exc.lineno}, kolom {exc.colno}",
                          f"the JSON is truncated or invalid at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise _too_deep(where, max_depth) from None
    except ValueError:
        raise _structural(where, "de JSON bevat een getal met te veel cijfers",
                          "the JSON contains a number with too many digits") from None


def _is_html(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type in _HTML_TYPES or body.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<")


def _decode(body: bytes, where: str) -> str:
    """The body as text: UTF-8, a leading byte order mark allowed."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _structural(where, f"de inhoud is geen geldige UTF-8-tekst (fout bij byte {exc.start + 1})",
                          f"the content is not valid UTF-8 text (error at byte {exc.start + 1})") from None


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings, without recursing."""
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, skeleton)), default=0)


def _unique_keys(where: str, pairs: list[tuple[str, object]]) -> dict[str, object]:
    """object_pairs_hook: a dict, refusing a key that occurs twice in one object."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            shown = key if len(key) <= 80 else key[:77] + "..."
            raise _structural(where, f'de sleutel "{shown}" komt twee keer voor in hetzelfde object',
                              f'the key "{shown}" occurs twice in the same object')
        seen.add(key)
    return dict(pairs)


def _no_constant(where: str, name: str) -> object:
    """parse_constant: NaN and Infinity are not JSON."""
    raise _structural(where, f"de JSON bevat {name}, wat geen geldige JSON-waarde is",
                      f"the JSON contains {name}, which is not a valid JSON value")


def _too_deep(where: str, max_depth: int) -> StructuralError:
    return _structural(where, f"de JSON is dieper genest dan {max_depth} niveaus",
                       f"the JSON is nested deeper than {max_depth} levels")


def _structural(where: str, nl: str, en: str) -> StructuralError:
    return StructuralError(f"{where}: {nl}.", f"{where}: {en}.")
