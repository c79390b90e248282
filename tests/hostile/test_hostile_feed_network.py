"""Hostile HTTP sources cannot turn the ingester against the network: redirects are followed only to the
source's own origin (or origins in allow_redirects_to) and never to link-local, multicast, unspecified,
reserved or (from a public source) loopback or private addresses, whatever the spelling; and every fetch ends
at its deadline, however slowly the source trickles. Real servers on 127.0.0.1, the real fetch, runner and CLI."""
from __future__ import annotations

import datetime as dt
import json
import ssl
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import duckdb
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import REPO, run_cli

from ingest.config import load_sources
from ingest.fetch import MAX_REDIRECTS, Deadline, FetchError, RefusedAddress, fetch, redirect_addresses, resolve
from ingest.runner import RunSummary, SourceRunner
from queries.db import rows
from queries.paths import DataPaths
from queries.warehouse import Warehouse

CAPACITY = (Path(__file__).parent.parent / "fixtures" / "feed" / "capacity.json").read_bytes()   # 4 records
JSON = "application/json"
TRICKLE_EVERY = 0.2
Step = Callable[[BaseHTTPRequestHandler], None]
pytestmark = pytest.mark.timeout(30)


class Server:
    """A threaded HTTP(S) server on 127.0.0.1: one step per path; it records the headers of every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Step] = {}
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.stop = threading.Event()
        self.client_went_away = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.handle_error = lambda request, address: None
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def route(self, path: str, step: Step) -> str:
        self.routes[path] = step
        return self.url(path)

    def count(self, path: str) -> int:
        return len(self.requests[path])

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path].append({k.lower(): v for k, v in self.headers.items()})
                server.routes.get(self.path, answer(404, b"{}"))(self)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def answer(status: int, body: bytes = b"", **headers: str) -> Step:
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", JSON)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)
    return step


def redirect(location: str) -> Step:
    return answer(302, Location=location)


def trickle(server: Server, start: bytes) -> Step:
    """Send `start`, then one more byte every TRICKLE_EVERY seconds until the client hangs up (or 20 s pass)."""
    def step(handler: BaseHTTPRequestHandler) -> None:
        try:
            handler.wfile.write(start)
            for _ in range(int(20 / TRICKLE_EVERY)):
                if server.stop.wait(TRICKLE_EVERY):
                    return
                handler.wfile.write(b" ")
        except OSError:
            server.client_went_away.set()
    return step


def trickling_body(server: Server) -> Step:
    return trickle(server, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")


def trickling_headers(server: Server) -> Step:
    return trickle(server, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ")


@pytest.fixture
def server() -> Iterator[Server]:
    made = Server()
    yield made
    made.close()


@pytest.fixture
def other() -> Iterator[Server]:
    made = Server()
    yield made
    made.close()


def write_sources(folder: Path, sources: dict[str, dict[str, object]]) -> Path:
    """A sources.toml with one http source per id, its options written as TOML values."""
    blocks = []
    for source_id, options in sources.items():
        lines = [f'[[sources]]\nid = "{source_id}"\nkind = "http"\nschedule = "15m"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
        lines.append('[sources.defaults]\ncare_type = "shelter"\ntarget_groups = ["adult_victim", "child"]\n')
        blocks.append("\n".join(lines))
    config = folder / "sources.toml"
    config.write_text("\n".join(blocks), encoding="utf-8")
    return config


def run_sources(paths: DataPaths, config: Path) -> dict[str, RunSummary]:
    """Every source of `config` run once through the real runner and warehouse."""
    with Warehouse(paths) as warehouse:
        runner = SourceRunner(warehouse, paths)
        return {source.id: runner.run(source) for source in load_sources(config)}


def ledger(paths: DataPaths) -> dict[str, tuple]:
    """source id → (status, rows_loaded, error_nl, error_en, seconds) of its last run."""
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        found = rows(con, "SELECT source_id, status, rows_loaded, error_nl, error_en, "
                          "epoch(finished_at) - epoch(started_at) FROM ingest_run ORDER BY run_id")
    finally:
        con.close()
    return {source_id: tuple(rest) for source_id, *rest in found}


def refused(url: str, **options: object) -> tuple[FetchError, float]:
    """The error of a fetch that must fail, and how long it took; no retry may sleep."""
    delays: list[float] = []
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, timeout=5, sleep=delays.append, **options)
    assert delays == []
    return caught.value, time.monotonic() - started


# --- redirects -----------------------------------------------------------------------------------


def test_same_origin_redirect_is_followed_and_loaded(server: Server, data_paths: DataPaths, tmp_path: Path) -> None:
    """The source's own host is `localhost`: the redirect is sent to the address checked for it, with the
    original Host header."""
    server.route("/moved", redirect("/feed"))
    server.route("/feed", answer(200, CAPACITY))
    config = write_sources(tmp_path, {"moved": {"url": server.url("/moved", host="localhost")}})
    summary = run_sources(data_paths, config)["moved"]
    assert (summary.status, summary.loaded) == ("ok", 4), summary.messages
    assert (server.count("/moved"), server.count("/feed")) == (1, 1)
    assert server.requests["/feed"][0]["host"] == f"localhost:{server.port}"
    assert ledger(data_paths)["moved"][:2] == ("ok", 4)


def test_redirect_to_another_port_needs_allow_redirects_to(server: Server, other: Server, data_paths: DataPaths,
                                                            tmp_path: Path) -> None:
    target = other.route("/feed", answer(200, CAPACITY))
    source_url = server.route("/feed", redirect(target))
    config = write_sources(tmp_path, {
        "plain": {"url": source_url},
        "allowed": {"url": source_url, "allow_redirects_to": [f"http://127.0.0.1:{other.port}"]},
    })
    summaries = run_sources(data_paths, config)
    assert summaries["plain"].status == "failed"
    assert (summaries["allowed"].status, summaries["allowed"].loaded) == ("ok", 4)
    assert other.count("/feed") == 1                       # only the allowed source got there
    status, _, error_nl, error_en, _ = ledger(data_paths)["plain"]
    assert status == "failed"
    assert f"the source redirects to {target}, which is refused: another origin" in error_en, error_en
    assert "not listed in allow_redirects_to" in error_en
    assert f"de bron verwijst door naar {target}, en dat is geweigerd: een andere herkomst" in error_nl, error_nl


def test_the_token_goes_to_the_source_origin_only(server: Server, other: Server) -> None:
    server.route("/own", answer(200, b"[]"))
    fetch(server.route("/same", redirect("/own")), token="s3cret-token")
    assert server.requests["/own"][0]["authorization"] == "Bearer s3cret-token"
    target = other.route("/feed", answer(200, b"[]"))
    fetch(server.route("/away", redirect(target)), token="s3cret-token",
          allow_redirects_to=[f"http://127.0.0.1:{other.port}"])
    assert "authorization" not in other.requests["/feed"][0]


@pytest.mark.parametrize(("allowed", "reason_en", "reason_nl"), [
    ([], "another origin (scheme, host, port) than the source's", "een andere herkomst"),
    (["http://169.254.169.254"], "link-local address 169.254.169.254", "link-local-adres 169.254.169.254"),
])
def test_redirect_to_the_metadata_address_is_refused_before_any_connection(server: Server, allowed: list[str],
                                                                           reason_en: str, reason_nl: str) -> None:
    """Refused as soon as the redirect is read: no retry, no waiting for a connection to time out."""
    target = "http://169.254.169.254/latest/meta-data"
    error, seconds = refused(server.route("/meta", redirect(target)), allow_redirects_to=allowed)
    assert seconds < 1 and not error.retryable and server.count("/meta") == 1
    assert f"the source redirects to {target}, which is refused: {reason_en}" in error.en, error.en
    assert f"de bron verwijst door naar {target}, en dat is geweigerd: {reason_nl}" in error.nl, error.nl


@pytest.mark.parametrize(("location", "allowed", "shown", "reason"), [
    ("http://[::ffff:169.254.169.254]/", "http://[::ffff:169.254.169.254]", "http://[::ffff:169.254.169.254]/",
     "link-local address 169.254.169.254 (::ffff:a9fe:a9fe)"),
    ("http://0251.0376.0251.0376/", None, "http://0251.0376.0251.0376/", "this is not a valid address"),
    ("http://2852039166/", "http://2852039166", "http://2852039166/", "link-local address 169.254.169.254"),
    ("http://0xa9fea9fe/", "http://0xa9fea9fe", "http://0xa9fea9fe/", "link-local address 169.254.169.254"),
    ("http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]", "http://[64:ff9b::a9fe:a9fe]/",
     "link-local address 169.254.169.254 (64:ff9b::a9fe:a9fe)"),
    ("http://[2002:a9fe:a9fe::]/", "http://[2002:a9fe:a9fe::]", "http://[2002:a9fe:a9fe::]/",
     "link-local address 169.254.169.254 (2002:a9fe:a9fe::)"),
    ("http://[::a9fe:a9fe]/", "http://[::a9fe:a9fe]", "http://[::a9fe:a9fe]/", "link-local address 169.254.169.254"),
    ("http://[fe80::1]/", "http://[fe80::1]", "http://[fe80::1]/", "link-local address fe80::1"),
    ("http://0.0.0.0/", "http://0.0.0.0", "http://0.0.0.0/", "unspecified address 0.0.0.0"),
    ("http://224.0.0.1/", "http://224.0.0.1", "http://224.0.0.1/", "multicast address 224.0.0.1"),
    ("http://240.0.0.1/", "http://240.0.0.1", "http://240.0.0.1/", "reserved address 240.0.0.1"),
    ("http://192.0.2.1/", "http://192.0.2.1", "http://192.0.2.1/", "special-purpose address 192.0.2.1"),
    ("http://reader:hunter2@169.254.169.254/x", "http://169.254.169.254", "http://169.254.169.254/x",
     "link-local address 169.254.169.254"),
    ("ftp://169.254.169.254/x", None, "ftp://169.254.169.254/x", "this is not an http or https address"),
])
def test_disguised_addresses_are_refused_even_from_an_allowed_origin(server: Server, location: str,
                                                                     allowed: str | None, shown: str,
                                                                     reason: str) -> None:
    error, seconds = refused(server.route("/r", redirect(location)), allow_redirects_to=[allowed] if allowed else [])
    assert seconds < 1 and not error.retryable and server.count("/r") == 1
    assert f"the source redirects to {shown}, which is refused: {reason}" in error.en, error.en
    assert shown in error.nl and "hunter2" not in error.en + error.nl


@pytest.mark.parametrize("redirects", [MAX_REDIRECTS, MAX_REDIRECTS + 1])
def test_at_most_five_redirects_in_a_row(server: Server, redirects: int) -> None:
    for hop in range(redirects):
        server.route(f"/hop/{hop}", redirect(f"/hop/{hop + 1}"))
    server.route(f"/hop/{redirects}", answer(200, b"[1]"))
    if redirects == MAX_REDIRECTS:
        assert fetch(server.url("/hop/0")).body == b"[1]"
        return
    error, _ = refused(server.url("/hop/0"))
    assert f"more than 5 redirects (the next to {server.url(f'/hop/{redirects}')})" in error.en, error.en
    assert "meer dan 5 doorverwijzingen" in error.nl
    assert [server.count(f"/hop/{hop}") for hop in range(redirects + 1)] == [1] * redirects + [0]


def test_the_address_check_resolves_localhost_and_judges_it_by_the_source() -> None:
    """`localhost` resolves (through /etc/hosts) to loopback only: reachable from a source on loopback, refused
    from a public or a private source, or from one that is only partly on loopback."""
    on_loopback = resolve("localhost", 80)
    assert on_loopback and all(address.is_loopback for address in on_loopback)
    assert redirect_addresses("localhost", 80, on_loopback) == on_loopback
    for source in ([ip_address("93.184.215.14")], [ip_address("10.1.2.3")],
                   [ip_address("127.0.0.1"), ip_address("93.184.215.14")], []):
        with pytest.raises(RefusedAddress) as caught:
            redirect_addresses("localhost", 80, source)
        assert "loopback address 127.0.0.1, while the source itself is not on loopback" in caught.value.en
        assert "loopback-adres 127.0.0.1" in caught.value.nl


@pytest.mark.parametrize(("target", "source", "allowed"), [
    ("10.0.0.7", "192.168.1.1", True),
    ("100.64.0.1", "172.16.0.1", True),
    ("fd00::7", "fc00::1", True),
    ("10.0.0.7", "127.0.0.1", False),
    ("10.0.0.7", "93.184.215.14", False),
    ("::ffff:10.0.0.7", "93.184.215.14", False),
    ("93.184.215.14", "127.0.0.1", True),
])
def test_private_addresses_only_from_a_private_source(target: str, source: str, allowed: bool) -> None:
    if allowed:
        assert redirect_addresses(target, 80, [ip_address(source)]) == [ip_address(target)]
    else:
        with pytest.raises(RefusedAddress) as caught:
            redirect_addresses(target, 80, [ip_address(source)])
        assert "private address 10.0.0.7" in caught.value.en and "privé-adres 10.0.0.7" in caught.value.nl


# --- https: the checked address, the original name ------------------------------------------------


def certificate_for_localhost(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate valid for the name `localhost` only (not for 127.0.0.1): ca, cert, key."""
    now = dt.datetime.now(dt.timezone.utc)

    def issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
              ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                            critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("test CA", ca_key, "test CA", ca_key, ca=True)
    server = issue("localhost", server_key, "test CA", ca_key, ca=False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


def test_https_redirect_is_pinned_and_the_certificate_checked_against_the_name(tmp_path: Path) -> None:
    """The redirect is sent to the checked address 127.0.0.1, yet with SNI and Host `localhost`: the certificate
    (valid for `localhost` only) passes. The fetch runs in its own process to trust the test CA."""
    ca, cert, key = certificate_for_localhost(tmp_path)
    names: list[str | None] = []
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda sock, name, context: names.append(name)
    server = Server(tls)
    try:
        server.route("/moved", redirect("/feed"))
        server.route("/feed", answer(200, b'{"pinned": true}'))
        program = "import sys; from ingest.fetch import fetch; print(fetch(sys.argv[1]).body.decode())"
        done = subprocess.run([sys.executable, "-c", program, server.url("/moved", host="localhost", scheme="https")],
                              cwd=REPO, env={"SSL_CERT_FILE": str(ca), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=20)
    finally:
        server.close()
    assert done.stdout.strip() == '{"pinned": true}', done.stderr[-2000:]
    assert names == ["localhost", "localhost"]
    assert server.requests["/feed"][0]["host"] == f"localhost:{server.port}"


# --- the deadline --------------------------------------------------------------------------------


def test_trickling_body_fails_at_the_deadline(server: Server, data_paths: DataPaths, tmp_path: Path) -> None:
    """One byte every 0.2 s never trips the per-read timeout; deadline_seconds = 2 ends it."""
    url = server.route("/slow", trickling_body(server))
    config = write_sources(tmp_path, {"slow": {"url": url, "timeout_seconds": 1, "deadline_seconds": 2}})
    started = time.monotonic()
    summary = run_sources(data_paths, config)["slow"]
    assert time.monotonic() - started < 3
    assert summary.status == "failed"
    status, _, error_nl, error_en, seconds = ledger(data_paths)["slow"]
    assert status == "failed" and 1.9 <= seconds < 2.6, seconds
    assert f"Fetching {url} failed: no complete answer within 2 seconds (deadline_seconds)." == error_en
    assert f"Ophalen van {url} mislukt: geen volledig antwoord binnen 2 seconden (deadline_seconds)." == error_nl
    assert server.client_went_away.wait(2)
    assert server.count("/slow") == 1


def test_trickling_headers_fail_at_the_deadline(server: Server) -> None:
    url = server.route("/slow-headers", trickling_headers(server))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, timeout=1, deadline=Deadline.after(1.5))
    assert 1.4 <= time.monotonic() - started < 2.5
    assert "no complete answer within 1.5 seconds" in caught.value.en
    assert "geen volledig antwoord binnen 1,5 seconden" in caught.value.nl
    assert server.client_went_away.wait(2)


def recording_real_sleep(delays: list[float]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(seconds)
    return sleep


def test_retries_never_sleep_past_the_deadline(server: Server) -> None:
    """503 with Retry-After: 1, ten attempts allowed, a 2.5 s deadline: attempts at 0, 1 and 2 s; the fourth could
    not start before the deadline, so the fetch stops at once instead of sleeping into it."""
    url = server.route("/busy", answer(503, b"busy", Retry_After="1"))
    delays: list[float] = []
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, deadline=Deadline.after(2.5), max_attempts=10, sleep=recording_real_sleep(delays))
    seconds = time.monotonic() - started
    assert delays == [1.0, 1.0] and 2.0 <= seconds < 2.5, (delays, seconds)
    assert server.count("/busy") == 3
    assert caught.value.en == (f"Fetching {url} failed: no complete answer within 2.5 seconds (deadline_seconds); "
                               "the last attempt: answer 503 (Service Unavailable).")
    assert caught.value.retryable and caught.value.status == 503


def test_a_retry_after_beyond_the_deadline_fails_at_once(server: Server) -> None:
    url = server.route("/later", answer(429, Retry_After="30"))
    delays: list[float] = []
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, deadline=Deadline.after(2), sleep=recording_real_sleep(delays))
    assert delays == [] and time.monotonic() - started < 1 and server.count("/later") == 1
    assert "no complete answer within 2 seconds (deadline_seconds); the last attempt: answer 429" in caught.value.en


@pytest.mark.timeout(90)
def test_four_trickling_feeds_each_end_at_their_deadline(server: Server, data_paths: DataPaths,
                                                         tmp_path: Path) -> None:
    """`capacity ingest --once` over four feeds that trickle forever: each run ends failed at its own deadline
    (1.5 s), so none holds its thread, and the command is done in a few seconds."""
    ids = [f"slow{number}" for number in range(4)]
    config = write_sources(tmp_path, {
        source_id: {"url": server.route(f"/{source_id}", trickling_body(server)), "timeout_seconds": 1,
                    "deadline_seconds": 1.5} for source_id in ids})
    started = time.monotonic()
    result = run_cli("ingest", "--data-dir", str(data_paths.root), "--config", str(config), "--once",
                     env={"CAPACITY_LANG": "en"}, timeout=80)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert all(any(line.startswith(f"{source_id}: failed") for line in lines) for source_id in ids), result.stdout
    runs = ledger(data_paths)
    for source_id in ids:
        status, loaded, _, error_en, seconds = runs[source_id]
        assert (status, loaded) == ("failed", 0)
        assert "no complete answer within 1.5 seconds" in error_en, error_en
        assert 1.4 <= seconds < 2.2, (source_id, seconds)
    assert sum(runs[source_id][4] for source_id in ids) < 4 * 2.2
    assert elapsed < 30, elapsed


# --- configuration -------------------------------------------------------------------------------


def test_sources_check_names_bad_redirect_origins_and_a_deadline_below_the_timeout(tmp_path: Path) -> None:
    config = write_sources(tmp_path, {
        "good": {"url": "https://feed.example/capacity.json", "allow_redirects_to": ["https://cdn.example:8443"],
                 "timeout_seconds": 5, "deadline_seconds": 5},
        "bad": {"url": "https://feed.example/capacity.json",
                "allow_redirects_to": ["https://cdn.example/feeds", "ftp://cdn.example"], "deadline_seconds": 5},
    })
    text = config.read_text(encoding="utf-8").splitlines()
    origins_line = next(n for n, line in enumerate(text, 1) if line.startswith("allow_redirects_to") and "ftp" in line)
    deadline_line = origins_line + 1
    result = run_cli("sources", "check", "--config", str(config), env={"CAPACITY_LANG": "en"}, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "3 problem(s)" in result.stderr, result.stderr
    for origin in ("https://cdn.example/feeds", "ftp://cdn.example"):
        assert (f"line {origins_line}: 'allow_redirects_to': '{origin}' is not an origin; write http(s)://host or "
                "http(s)://host:port, without path, user or query") in result.stderr, result.stderr
    assert (f"line {deadline_line}: 'deadline_seconds' (5) is shorter than 'timeout_seconds' (10); the deadline "
            "covers the whole fetch and must be at least as long") in result.stderr, result.stderr
    dutch = run_cli("sources", "check", "--config", str(config), env={"CAPACITY_LANG": "nl"}, timeout=60)
    assert f"regel {deadline_line}: 'deadline_seconds' (5) is korter dan 'timeout_seconds' (10)" in dutch.stderr
