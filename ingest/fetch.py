"""Fetching JSON feeds over HTTP: conditional GET, bounded retries, a size cap, checked redirects, one
deadline for the whole fetch, and strict parsing.

Messages name the URL (without user name or password) and never the token.
"""
from __future__ import annotations

import codecs
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache, cached_property, partial
from http import HTTPStatus
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from itertools import accumulate

import httpx

from ingest.records import StructuralError
from queries.errors import CapacityError

USER_AGENT = "capacity-dashboard-ingest"
MAX_REDIRECTS = 5
RETRY_AFTER_STATUSES = frozenset({429, 503})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_DEADLINE_SECONDS = 60.0
IPAddress = IPv4Address | IPv6Address
Origin = tuple[str, str, int | None]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PRIVATE_NETWORKS = tuple(map(ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                           "fc00::/7")))
_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ip_network("::/96")
_OWN_KIND_ONLY = frozenset({"loopback", "private"})
_REFUSED_KINDS = {
    "unspecified": ("onbepaald adres {}", "unspecified address {}"),
    "link-local": ("link-local-adres {}", "link-local address {}"),
    "multicast": ("multicastadres {}", "multicast address {}"),
    "reserved": ("gereserveerd adres {}", "reserved address {}"),
    "special": ("adres {} voor bijzonder gebruik, geen openbaar adres", "special-purpose address {}, not a public one"),
    "loopback": ("loopback-adres {}, terwijl de bron zelf niet op loopback staat",
                 "loopback address {}, while the source itself is not on loopback"),
    "private": ("privé-adres {}, terwijl de bron zelf niet in een privénetwerk staat",
                "private address {}, while the source itself is not on a private network"),
}
_USERINFO = re.compile(r"//[^/?#@]*@")
_SHOWN_TARGET = 300
_CLOCK_SLACK = 0.01
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
MAX_INT_DIGITS = 18


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
class Deadline:
    """The moment by which a fetch is done: every attempt, the waits between them, headers and body."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        """Whether the deadline has come (give or take the rounding of socket timeouts)."""
        return self.left() <= _CLOCK_SLACK


class RefusedAddress(CapacityError):
    """A redirect may not reach an address its target's host resolves to; nl/en name the address and why."""


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
    allowed: frozenset[Origin]

    @cached_property
    def source(self) -> httpx.URL:
        return httpx.URL(self.url)

    @cached_property
    def origin(self) -> Origin:
        return _origin(self.source)

    @cached_property
    def source_addresses(self) -> list[IPAddress]:
        """What the source's own host resolves to (looked up at its first redirect); nothing when it does not."""
        try:
            return resolve(self.source.raw_host.decode("ascii"), self.origin[2])
        except OSError:
            return []


@dataclass(frozen=True)
class _Hop:
    """One request of a redirect chain: its URL as named, and where and how it is sent."""

    url: httpx.URL
    send_to: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


class _Redirect(Exception):
    """A redirect answer, raised by the client's response hook before httpx reads its Location: _follow
    decides whether and where to follow it."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class _Watchdog:
    """Shuts every connection of one fetch down when its deadline passes, so that no part of an answer (TLS
    handshake, headers, body) outlasts the deadline, however slowly it trickles in."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []   # our own duplicates, closed only when the fetch is over
        self._expired = False
        self._timer = threading.Timer(max(0.0, deadline.left()), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()
        self._timer.join()
        for sock in self._sockets:
            sock.close()

    def trace(self, event: str, info: dict) -> None:
        """httpcore's `trace` request extension: watch each connection from the moment it is made."""
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket").dup()
        with self._lock:
            self._sockets.append(sock)
            if self._expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """End a connection in both directions, waking a read that waits on it (on any descriptor of it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:   # the other side closed it already
        pass


@cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every fetch: loading it costs ~40 ms, more than a small feed itself."""
    return httpx.create_ssl_context()


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          token: str | None = None, timeout: float = 10.0, max_bytes: int = 20 * 1024 * 1024,
          deadline: Deadline | None = None, allow_redirects_to: Iterable[str] = (),
          max_attempts: int = 4, backoff_base: float = 0.5, backoff_max: float = 30.0,
          sleep: Callable[[float], object] = time.sleep) -> FetchResult:
    """GET a JSON feed, conditionally when etag/last_modified are given, retrying transient failures.

    On 304 the returned etag/last_modified fall back to the ones passed in when the source omits them.
    Redirects are followed only as _next_hop allows (other origins only when in allow_redirects_to).
    Everything, the waits between attempts included, ends by `deadline` (default: 60 seconds from now).
    Raises FetchError: retryable=False for problems another try will not fix (4xx, size cap, bad URL,
    a refused redirect).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    deadline = deadline if deadline is not None else Deadline.after(DEFAULT_DEADLINE_SECONDS)
    shown = _shown(url)
    call = _Call(url, shown, _headers(shown, etag, last_modified, token), timeout, max_bytes, etag, last_modified,
                 _allowed_origins(allow_redirects_to, shown))
    failures: list[_Retry] = []
    with httpx.Client(verify=_tls_context(), follow_redirects=False, event_hooks={"response": [_stop_at_redirect]}
                      ) as http, _Watchdog(deadline) as watchdog:
        for attempt in range(1, max_attempts + 1):
            try:
                return _attempt(http, call, attempt, watchdog)
            except _Retry as failure:
                failures.append(failure)
            if attempt < max_attempts:
                _wait(_delay(failures[-1], attempt - 1, backoff_base, backoff_max), call, deadline, failures[-1],
                      sleep)
    raise _gave_up(call.shown, failures) from failures[-1].__cause__


def _wait(seconds: float, call: _Call, deadline: Deadline, last: _Retry, sleep: Callable[[float], object]) -> None:
    """Sleep before the next attempt; give up at once when that attempt could not start before the deadline."""
    if seconds >= deadline.left():
        raise _past_deadline(call.shown, deadline, last) from last.__cause__
    sleep(seconds)


def _shown(url: str) -> str:
    """The URL as it may appear in messages: without user name or password."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise FetchError(f"Het adres van de bron is ongeldig: {url}", f"The address of the source is invalid: {url}",
                         retryable=False) from None
    return _without_userinfo(parsed) if parsed.userinfo else url


def _without_userinfo(url: httpx.URL) -> str:
    return str(url.copy_with(userinfo=b""))


def _allowed_origins(texts: Iterable[str], shown: str) -> frozenset[Origin]:
    """The origins of allow_redirects_to; FetchError for an entry that is not one."""
    origins = set()
    for text in texts:
        try:
            origins.add(parse_origin(text))
        except ValueError:
            raise FetchError(f"Ophalen van {shown} niet begonnen: allow_redirects_to bevat {text!r}, geen herkomst "
                             "zoals https://ander.example", f"Fetching {shown} not started: allow_redirects_to holds "
                             f"{text!r}, not an origin like https://other.example", retryable=False) from None
    return frozenset(origins)


def parse_origin(text: str) -> Origin:
    """(scheme, host, port) of an origin written as http(s)://host[:port]; ValueError for anything else
    (another scheme, a user, a path, a query)."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        raise ValueError(f"not an origin: {text!r}") from None
    if url.scheme not in _DEFAULT_PORTS or not url.raw_host or url.userinfo or url.raw_path != b"/" or url.fragment:
        raise ValueError(f"not an origin: {text!r}")
    return _origin(url)


def _origin(url: httpx.URL) -> Origin:
    return url.scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS.get(url.scheme)


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


def _attempt(http: httpx.Client, call: _Call, attempt: int, watchdog: _Watchdog) -> FetchResult:
    """One GET with its redirects; _Retry for transient failures, FetchError for the rest."""
    try:
        return _follow(http, call, attempt, watchdog)
    except httpx.HTTPError as exc:
        if watchdog.deadline.passed():
            raise _past_deadline(call.shown, watchdog.deadline) from exc
        raise _failure(exc, call) from exc


def _failure(exc: httpx.HTTPError, call: _Call) -> _Retry | FetchError:
    """What a transport error means: a timeout or a lost connection may pass, a bad address or bad
    compression will not."""
    if isinstance(exc, httpx.TimeoutException):
        return _timed_out(exc, call.timeout)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(f"Ophalen van {call.shown} mislukt: dit is geen http- of https-adres.",
                          f"Fetching {call.shown} failed: this is not an http or https address.", retryable=False)
    if isinstance(exc, httpx.DecodingError):
        return FetchError(f"Ophalen van {call.shown} mislukt: de gecomprimeerde data van de bron is onleesbaar.",
                          f"Fetching {call.shown} failed: the compressed data from the source is unreadable.",
                          retryable=False)
    if isinstance(exc, httpx.ConnectError):
        return _Retry(f"geen verbinding mogelijk{_detail(exc)}", f"could not connect{_detail(exc)}")
    return _Retry(f"verbinding onderbroken{_detail(exc)}", f"connection interrupted{_detail(exc)}")


def _follow(http: httpx.Client, call: _Call, attempt: int, watchdog: _Watchdog) -> FetchResult:
    """The answer at the end of the source's redirects: at most MAX_REDIRECTS, each one allowed by _next_hop."""
    hop = _Hop(call.source, call.source, call.headers, {})
    redirects = 0
    while True:
        try:
            with http.stream("GET", hop.send_to, headers=hop.headers, timeout=_time_left(call, watchdog.deadline),
                             extensions={**hop.extensions, "trace": watchdog.trace}) as response:
                return _result(response, call, attempt)
        except _Redirect as redirect:
            location = redirect.location
        if redirects == MAX_REDIRECTS:
            shown = _shown_location(hop.url, location)
            raise FetchError(f"Ophalen van {call.shown} mislukt: meer dan {MAX_REDIRECTS} doorverwijzingen (de "
                             f"volgende naar {shown}).", f"Fetching {call.shown} failed: more than {MAX_REDIRECTS} "
                             f"redirects (the next to {shown}).", retryable=False)
        redirects += 1
        hop = _next_hop(call, hop.url, location)


def _time_left(call: _Call, deadline: Deadline) -> httpx.Timeout:
    """The per-call timeout, cut short to what is left before the deadline; the deadline's error when nothing is."""
    left = deadline.left()
    if left <= _CLOCK_SLACK:
        raise _past_deadline(call.shown, deadline)
    return httpx.Timeout(min(call.timeout, left))


def _stop_at_redirect(response: httpx.Response) -> None:
    """The client's response hook: a redirect with a Location becomes a _Redirect (httpx would otherwise parse
    the Location itself, and fail on one it cannot read)."""
    if response.status_code in REDIRECT_STATUSES and "Location" in response.headers:
        raise _Redirect(response.headers["Location"])


def _next_hop(call: _Call, current: httpx.URL, location: str) -> _Hop:
    """The request a redirect asks for, sent to exactly the address that was checked (with the original Host
    header, and for https the original name for SNI and the certificate check). FetchError when the redirect
    is refused: not http(s), another origin not in allow_redirects_to, or an address it may not reach."""
    target = _redirect_target(call, current, location)
    origin = _origin(target)
    if origin != call.origin and origin not in call.allowed:
        raise _refused(call, _shown_target(target),
                       "een andere herkomst (schema, host, poort) dan de bron, niet genoemd in allow_redirects_to",
                       "another origin (scheme, host, port) than the source's, not listed in allow_redirects_to")
    host = target.raw_host.decode("ascii")
    try:
        address = redirect_addresses(host, origin[2], call.source_addresses)[0]
    except RefusedAddress as refusal:
        raise _refused(call, _shown_target(target), refusal.nl, refusal.en) from None
    except OSError as exc:
        raise _Retry(f"de naam {host} van doorverwijzing {_shown_target(target)} is niet te vinden",
                     f"the name {host} of the redirect to {_shown_target(target)} cannot be resolved") from exc
    headers = {**call.headers, "Host": target.netloc.decode("ascii")}
    if origin != call.origin:
        headers.pop("Authorization", None)   # the token is for the source's own origin only
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    return _Hop(target, target.copy_with(host=str(address)), headers, extensions)


def _redirect_target(call: _Call, current: httpx.URL, location: str) -> httpx.URL:
    """The absolute http(s) URL a Location header points at; FetchError when it is not one."""
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise _refused(call, _shown_location(current, location), "dit is geen geldig adres",
                       "this is not a valid address") from None
    if target.scheme not in _DEFAULT_PORTS or not target.raw_host:
        raise _refused(call, _shown_target(target), "dit is geen http- of https-adres",
                       "this is not an http or https address")
    return target


def _refused(call: _Call, target: str, nl: str, en: str) -> FetchError:
    return FetchError(f"Ophalen van {call.shown} mislukt: de bron verwijst door naar {target}, en dat is geweigerd: "
                      f"{nl}.", f"Fetching {call.shown} failed: the source redirects to {target}, which is refused: "
                      f"{en}.", retryable=False)


def _shown_location(current: httpx.URL, location: str) -> str:
    """A Location header as it may appear in messages, whether or not it is a valid address."""
    try:
        return _shown_target(current.join(location))
    except httpx.InvalidURL:
        return _clip(_USERINFO.sub("//", location))


def _shown_target(url: httpx.URL) -> str:
    """A redirect target as it may appear in messages: without user name or password, and not too long."""
    return _clip(_without_userinfo(url))


def _clip(text: str) -> str:
    """What a source wrote, in printable ASCII and at most _SHOWN_TARGET characters."""
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= _SHOWN_TARGET else text[:_SHOWN_TARGET - 3] + "..."


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """The distinct addresses `host` resolves to, in the resolver's order of preference; OSError for none."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:   # a label too long to be part of a name
        raise socket.gaierror(socket.EAI_NONAME, str(exc)) from None
    return list(dict.fromkeys(ip_address(info[4][0]) for info in found))


def redirect_addresses(host: str, port: int | None, source: Sequence[IPAddress]) -> list[IPAddress]:
    """Every address `host` resolves to (looked up once) when a redirect from a source at the addresses `source`
    may reach them all; RefusedAddress naming the first it may not. Never link-local, multicast, unspecified,
    reserved or otherwise not public; loopback only from a source on loopback, private (RFC 1918, CGNAT, ULA)
    only from a private source. IPv6 forms of an IPv4 address are judged as that address."""
    addresses = resolve(host, port)
    for address in addresses:
        kind = _kind(address)
        if kind != "public" and not _of_own_kind(kind, source):
            nl, en = _REFUSED_KINDS[kind]
            raise RefusedAddress(nl.format(_shown_address(address)), en.format(_shown_address(address)))
    return addresses


def _of_own_kind(kind: str, source: Sequence[IPAddress]) -> bool:
    """Whether a loopback or private address is reachable: only from a source all of whose addresses are of
    that same kind."""
    return kind in _OWN_KIND_ONLY and bool(source) and all(_kind(address) == kind for address in source)


def _kind(address: IPAddress) -> str:
    """What an address is for, judged by the IPv4 address inside it when it is an IPv6 form of one."""
    address = _embedded_ipv4(address) or address
    kinds = (("unspecified", address.is_unspecified), ("link-local", address.is_link_local),
             ("multicast", address.is_multicast), ("loopback", address.is_loopback),
             ("private", any(address in network for network in _PRIVATE_NETWORKS)),
             ("reserved", address.is_reserved), ("special", not address.is_global))
    return next((kind for kind, applies in kinds if applies), "public")


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, 6to4 or NAT64 (64:ff9b::/96) IPv6 address."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):   # not :: or ::1
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _shown_address(address: IPAddress) -> str:
    embedded = _embedded_ipv4(address)
    return f"{embedded} ({address})" if embedded else str(address)


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


def _past_deadline(shown: str, deadline: Deadline, last: _Retry | None = None) -> FetchError:
    """The error when the deadline has come, or when the next attempt could not start before it."""
    seconds = f"{deadline.seconds:g}"
    last_nl, last_en = (f"; de laatste poging: {last.nl}", f"; the last attempt: {last.en}") if last else ("", "")
    return FetchError(f"Ophalen van {shown} mislukt: geen volledig antwoord binnen {seconds.replace('.', ',')} "
                      f"seconden (deadline_seconds){last_nl}.",
                      f"Fetching {shown} failed: no complete answer within {seconds} seconds (deadline_seconds)"
                      f"{last_en}.", retryable=True, status=last.status if last else None)


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
                          parse_constant=partial(_no_constant, where), parse_float=JsonNumber,
                          parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise _structural(where, f"de JSON is afgebroken of ongeldig bij regel {exc.lineno}, kolom {exc.colno}",
                          f"the JSON is truncated or invalid at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise _too_deep(where, max_depth) from None


class JsonNumber(str):
    """A JSON number kept as the provider wrote it (`1e400`, `12.0`, a thousand digits), so that a value
    that is no usable number is reported in their words and never becomes inf or a crash."""


def _json_int(text: str) -> int | JsonNumber:
    """Whole numbers as int (page numbers, counts), unless they are too long to be a real one."""
    return int(text) if len(text) <= MAX_INT_DIGITS else JsonNumber(text)


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
