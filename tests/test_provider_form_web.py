"""A provider's personal link against a real `capacity serve`: the token is exchanged for a short session and
never seen again, the session reaches its own provider's form and nothing else, and every way in without a live
link (revoked, expired, forged, hand-built requests) is refused."""
from __future__ import annotations

import html
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from access_site import routing_body, routing_output
from ingest.provider_form import form_inbox, pending_submissions
from ingest.provider_links import LinkStore
from ingest_support import leaks
from provider_world import register, run_forms
from queries.paths import DataPaths
from queries.warehouse import Warehouse
from support import dashboard
from web_client import CSRF, Visitor

UTC = timezone.utc
ENV = {"CAPACITY_LOGIN": "off", "CAPACITY_ANONYMOUS_ROLE": "public", "CAPACITY_SECRET_KEY": "s" * 48,
       "CAPACITY_BEHIND_PROXY": "true"}
NOT_FOR_A_LINK = ["/", "/regio/VT13", "/zoek", "/inkoop", "/databronnen", "/api/v1/shortfall", "/api/v1/providers",
                  "/api/v1/sources", "/api/hsds/services", "/_dash-layout", "/_dash-dependencies"]


class Site:
    def __init__(self, url: str, paths: DataPaths, log: Path) -> None:
        self.url, self.paths, self.log = url, paths, log
        self.links = LinkStore(paths.provider_links)
        self.addresses = iter(f"10.9.{n // 250}.{n % 250 + 1}" for n in range(10_000))

    def visitor(self) -> Visitor:
        """A new browser from an address of its own (limits count per address)."""
        return Visitor(self.url, address=next(self.addresses))

    def opened(self, token: str) -> Visitor:
        visitor = self.visitor()
        answer = visitor.post("/aanbieder/link", data={"token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/aanbieder", answer.text
        return visitor


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, initialised_template: Path) -> Iterator[Site]:
    import shutil

    root = tmp_path_factory.mktemp("provider-web")
    shutil.copytree(initialised_template, root / "data")
    paths = DataPaths(root / "data")
    register(paths, root, datetime.now(UTC) - timedelta(days=3))
    with Warehouse(paths) as warehouse:
        warehouse.publish()
    log = root / "server.log"
    with dashboard(paths, ENV, log=log) as url:
        yield Site(url, paths, log)


def csrf_of(text: str) -> str:
    match = CSRF.search(text)
    assert match, "no CSRF token on the form"
    return html.unescape(match.group(1))


def test_the_link_page_takes_the_token_from_the_fragment_and_the_exchange_leaves_no_token_behind(site: Site) -> None:
    issued = site.links.issue("veilig", "opvang@example.org", 30)
    visitor = site.visitor()
    page = visitor.get("/aanbieder/link")
    assert page.status_code == 200 and '<script src="/aanbieder/link.js"></script>' in page.text
    assert "location.hash" in visitor.get("/aanbieder/link.js").text
    answer = visitor.post("/aanbieder/link", data={"token": issued.token})
    assert answer.status_code == 303 and answer.headers["location"] == "/aanbieder"
    form = visitor.get("/aanbieder")
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer" and form.headers["Cache-Control"] == "no-store"
    assert issued.token not in form.text and issued.token not in site.log.read_text(errors="replace")
    assert leaks(site.paths, (issued.token,)) == []
    assert [i.last_used_at is not None for i in site.links.invites("veilig") if i.link_id == issued.link_id] == [True]


def test_the_form_shows_the_providers_own_services_with_their_figures_and_no_one_elses(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    text = visitor.get("/aanbieder").text
    assert "Stichting Veilig" in text and "Opvang Oost" in text and "Traumateam" in text
    assert "Andere opvang" not in text and "Ander Huis" not in text
    assert 'name="available" value="2"' in text and 'name="maximum" value="10"' in text
    assert "3 dagen oud" in text and "verouderd" in text     # a shelter figure is stale after 2 days
    assert 'name="wait_days_treatment" value="40"' in text


@pytest.mark.parametrize("path", NOT_FOR_A_LINK)
def test_a_link_session_reaches_no_other_page_or_api_route(site: Site, path: str) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    assert site.visitor().get(path).status_code in (200, 403)   # what anonymous visitors may see is theirs
    assert visitor.get(path).status_code == 403


def test_a_link_session_cannot_run_the_page_routing_callback(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    output = routing_output(site.visitor())
    assert visitor.post("/_dash-update-component", json=routing_body(output, "/")).status_code in (400, 403)
    assert visitor.post("/_dash-update-component", json=routing_body(output, "/databronnen")).status_code in (400, 403)


@pytest.mark.parametrize("path", ["/aanbieder", "/aanbieder?lang=en"])
def test_the_form_without_a_link_session_is_refused(site: Site, path: str) -> None:
    answer = site.visitor().get(path)
    assert answer.status_code == 403 and "persoonlijke link" in answer.text


@pytest.mark.parametrize("path", ["/aanbieder/", "/Aanbieder", "/aanbieder/dienst/1", "/aanbieder/link/abc",
                                  "/aanbieder/../databronnen", "/aanbieder%2Fdienst"])
def test_odd_paths_near_the_form_are_never_served(site: Site, path: str) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    assert visitor.get(path).status_code in (403, 404, 405)


@pytest.mark.parametrize("case", ["revoked", "expired", "forged", "empty", "too long"])
def test_a_link_that_is_not_live_is_refused(site: Site, case: str) -> None:
    issued = site.links.issue("veilig", None, 30)
    token = issued.token
    if case == "revoked":
        site.links.revoke(issued.link_id)
    elif case == "expired":
        token = site.links.issue("veilig", None, 1, now=time.time() - 2 * 86400).token
    elif case == "forged":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    elif case == "empty":
        token = ""
    else:
        token = "x" * 5000
    visitor = site.visitor()
    answer = visitor.post("/aanbieder/link", data={"token": token})
    assert answer.status_code == 403 and "werkt niet" in answer.text
    assert visitor.get("/aanbieder").status_code == 403


def test_revoking_a_link_ends_its_open_session(site: Site) -> None:
    issued = site.links.issue("veilig", None, 30)
    visitor = site.opened(issued.token)
    assert visitor.get("/aanbieder").status_code == 200
    site.links.revoke(issued.link_id)
    assert visitor.get("/aanbieder").status_code == 403


def test_failed_exchanges_are_limited_per_address(site: Site) -> None:
    visitor = site.visitor()
    codes = [visitor.post("/aanbieder/link", data={"token": f"wrong-{n}"}).status_code for n in range(21)]
    assert codes == [403] * 20 + [429]
    good = site.links.issue("veilig", None, 30).token
    assert visitor.post("/aanbieder/link", data={"token": good}).status_code == 429
    assert site.visitor().post("/aanbieder/link", data={"token": good}).status_code == 303


def test_saving_needs_the_csrf_token_a_small_body_and_one_of_the_own_services(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    token = csrf_of(visitor.get("/aanbieder").text)
    base = {"csrf": token, "action": "save", "available": "1", "maximum": "10"}
    before = sorted(p.name for p in form_inbox(site.paths).glob("*.json"))
    assert visitor.post("/aanbieder/dienst", data={**base, "dienst": "1", "csrf": "x"}).status_code == 400
    assert visitor.post("/aanbieder/dienst", data={**base, "dienst": "3"}).status_code == 400   # only 2 services
    assert visitor.post("/aanbieder/dienst", data={**base, "dienst": "0"}).status_code == 400
    assert visitor.post("/aanbieder/dienst", data={**base, "dienst": "1", "available": "1" * 20000}).status_code == 413
    assert visitor.post("/aanbieder/dienst", data={**base, "dienst": "1", "wait_days_intake_unit": "years"}
                        ).status_code == 400
    assert sorted(p.name for p in form_inbox(site.paths).glob("*.json")) == before


def test_a_wrong_figure_is_shown_next_to_its_field_and_nothing_is_written(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    token = csrf_of(visitor.get("/aanbieder").text)
    before = sorted(form_inbox(site.paths).glob("*.json"))
    unreadable = visitor.post("/aanbieder/dienst", data={"csrf": token, "dienst": "1", "action": "save",
                                                         "available": "1", "maximum": "10", "waiting_count": "veel"})
    assert unreadable.status_code == 400
    assert re.search(r'id="f1-waiting_count-fout">[^<]*veel', unreadable.text)
    assert 'id="f1-waiting_count" name="waiting_count" value="veel" inputmode="numeric" autocomplete="off" ' \
           'maxlength="12" aria-describedby="f1-waiting_count-fout" aria-invalid="true"' in unreadable.text
    too_many = visitor.post("/aanbieder/dienst", data={"csrf": token, "dienst": "1", "action": "save",
                                                       "available": "12", "maximum": "10"})
    assert too_many.status_code == 400
    assert 'id="f1-available" name="available" value="12"' in too_many.text
    assert re.search(r'id="f1-available-fout">[^<]*groter dan maximum \(10\)', too_many.text)
    assert sorted(form_inbox(site.paths).glob("*.json")) == before


def test_a_valid_save_is_written_for_the_ingester_and_then_shown_as_processed(site: Site) -> None:
    issued = site.links.issue("veilig", None, 30)
    visitor = site.opened(issued.token)
    token = csrf_of(visitor.get("/aanbieder").text)
    answer = visitor.post("/aanbieder/dienst", data={"csrf": token, "dienst": "2", "action": "save",
                                                     "waiting_count": "7", "wait_days_intake": "3",
                                                     "wait_days_intake_unit": "weeks", "wait_days_treatment": "40",
                                                     "wait_days_treatment_unit": "days", "status": ""})
    assert answer.status_code == 303 and answer.headers["location"] == "/aanbieder?ontvangen=1#dienst-2"
    waiting = [s for s in pending_submissions(site.paths, "veilig") if s.link_id == issued.link_id]
    assert [(s.services[0].service_id, s.services[0].figures["wait_days_intake"]) for s in waiting] == [("S2", "3")]
    page = visitor.get("/aanbieder?ontvangen=1").text
    assert "wordt verwerkt" in page and 'http-equiv="refresh"' in page
    summary = run_forms(site.paths, publish=True)
    assert summary.loaded >= 1
    deadline = time.monotonic() + 10
    while "Verwerkt om" not in (page := visitor.get("/aanbieder").text) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "Verwerkt om" in page and "wordt verwerkt" not in page
    assert 'name="wait_days_intake" value="21"' in page and 'name="waiting_count" value="7"' in page


def test_submissions_are_limited_per_link(site: Site) -> None:
    visitor = site.opened(site.links.issue("ander", None, 30).token)
    token = csrf_of(visitor.get("/aanbieder").text)
    codes = [visitor.post("/aanbieder/dienst", data={"csrf": token, "dienst": "1", "action": "same"}).status_code
             for _ in range(41)]
    assert codes == [303] * 40 + [429]
    for path in form_inbox(site.paths).glob("*.json"):
        if any(s.provider_id == "ander" for s in pending_submissions(site.paths, "ander")):
            path.unlink(missing_ok=True)


def test_signing_out_ends_the_link_session(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    token = csrf_of(visitor.get("/aanbieder").text)
    assert visitor.post("/aanbieder/afmelden", data={"csrf": token}).status_code == 200
    assert visitor.get("/aanbieder").status_code == 403
    assert visitor.get("/").status_code == 200     # back to what an anonymous visitor may see


def test_a_submission_the_ingester_refused_is_said_on_the_form(site: Site) -> None:
    from ingest.provider_form import ServiceFigures, new_submission, write_submission

    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    forged = new_submission("L0123456789", "veilig", [ServiceFigures("S1", "update", {"available": "1"}, {})])
    write_submission(site.paths, forged)        # as if dropped by hand: no live link of this provider
    assert run_forms(site.paths, publish=True).status == "failed"
    deadline = time.monotonic() + 10
    while "niet verwerkt" not in (page := visitor.get("/aanbieder").text) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert re.search(r'role="alert">Uw inzending is om [0-9: -]+ niet verwerkt: [^<]*geen geldige link', page)


def test_a_submission_is_a_use_of_its_link(site: Site) -> None:
    issued = site.links.issue("ander", None, 30)
    site.links.count_submission(issued.link_id)
    (invite,) = [i for i in site.links.invites("ander") if i.link_id == issued.link_id]
    assert invite.last_used_at is not None and time.time() - invite.last_used_at < 60


def test_a_value_longer_than_a_submission_may_hold_is_refused_by_its_field(site: Site) -> None:
    visitor = site.opened(site.links.issue("veilig", None, 30).token)
    token = csrf_of(visitor.get("/aanbieder").text)
    answer = visitor.post("/aanbieder/dienst", data={"csrf": token, "dienst": "1", "action": "save",
                                                     "available": "1" * 13, "maximum": "10"})
    assert answer.status_code == 400
    assert re.search(r'id="f1-available-fout">te lang \(hoogstens 12 tekens\)', answer.text)
