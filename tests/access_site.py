"""A real `capacity serve` with login on (local users and a loopback OpenID Connect provider) and anonymous
visitors in the public role, shared by the access-control tests; the roles written down by hand."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

import shortfall_world
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from queries.paths import DataPaths
from support import dashboard, run_cli
from web_client import Visitor

SECRET = "k" * 48
PASSWORDS = {"pro": "professional password 1", "stew": "steward password 12"}
ROLE_OF_USER = {"pro": "professional", "stew": "steward"}
RANK = {"public": 0, "professional": 1, "steward": 2}

# What each page and API route needs, written down here by hand (not read from the code).
PAGES = {"/": "public", "/regio/B": "professional", "/zoek": "professional", "/inkoop": "professional",
         "/databronnen": "steward"}
PAGE_MARKERS = {"/": "overview-table", "/regio/B": "region-", "/zoek": "search-", "/inkoop": "purchasing-",
                "/databronnen": "sources-table"}
API = {"/api/v1/shortfall": "public", "/api/v1/providers": "professional", "/api/v1/sources": "steward",
       "/api/hsds/services": "professional"}
ROUTING = "_pages_content.children"


@dataclass(frozen=True)
class Site:
    url: str
    provider: Provider
    users: Path
    log: Path
    paths: DataPaths

    def cli(self, *args: str, stdin: str | None = None):
        """`capacity ARGS` on this site's data folder and users file."""
        return run_cli(*args, "--data-dir", str(self.paths.root), env={"CAPACITY_USERS_FILE": str(self.users)},
                       stdin=stdin)


def allowed(role: str, needed: str) -> bool:
    return RANK[role] >= RANK[needed]


def base_env(provider: Provider, users: Path) -> dict[str, str]:
    return {"CAPACITY_LOGIN": "local,oidc", "CAPACITY_ANONYMOUS_ROLE": "public", "CAPACITY_SECRET_KEY": SECRET,
            "CAPACITY_USERS_FILE": str(users), "CAPACITY_OIDC_ISSUER": provider.issuer,
            "CAPACITY_OIDC_CLIENT_ID": CLIENT_ID, "CAPACITY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "CAPACITY_OIDC_ROLE_CLAIM": "groups", "CAPACITY_OIDC_ROLES": "vt-medewerker=professional,beheer=steward",
            "CAPACITY_BEHIND_PROXY": "true", "CAPACITY_PUBLIC_LEVEL": "testregio",
            "DASH_DEBUG": "true", "FLASK_DEBUG": "1"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("access")
    paths = DataPaths(root / "data")
    shortfall_world.build(paths)
    users = root / "users.toml"
    log = root / "server.log"
    with Provider() as provider, dashboard(paths, base_env(provider, users), log=log) as url:
        built = Site(url, provider, users, log, paths)
        for name, password in PASSWORDS.items():
            added = built.cli("users", "add", name, "--role", ROLE_OF_USER[name], "--password-stdin",
                              stdin=password + "\n")
            assert added.returncode == 0, added.stderr
        yield built


@pytest.fixture(scope="module")
def visitors(site: Site) -> Iterator[dict[str, Visitor]]:
    anonymous, professional, steward = Visitor(site.url), Visitor(site.url), Visitor(site.url)
    assert professional.log_in("pro", PASSWORDS["pro"]).status_code == 303
    assert steward.log_in("stew", PASSWORDS["stew"]).status_code == 303
    yield {"public": anonymous, "professional": professional, "steward": steward}
    for visitor in (anonymous, professional, steward):
        visitor.close()


def routing_body(output: str, pathname: object, search: object = "") -> dict:
    """Dash's page-routing request as its renderer sends it."""
    return {"output": output,
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"]}


def server_callbacks(visitor: Visitor) -> list[dict]:
    dependencies = visitor.get("/_dash-dependencies").json()
    return [d for d in dependencies if not d.get("clientside_function")]


def routing_output(visitor: Visitor) -> str:
    return next(d["output"] for d in server_callbacks(visitor) if ROUTING in d["output"])
