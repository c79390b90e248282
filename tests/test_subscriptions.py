"""Subscriptions: the one rule set (page and CLI), who still receives what, signed unsubscribe links, and
`capacity alerts` as a real process. The catalogue is shortfall_world.py's: level testregio (A-D), nederland."""
from __future__ import annotations

import pytest

from ingest.subscriptions import (MAX_DIGEST_REGIONS, MAX_PER_USER, Catalogue, Scope, SubscriptionError, SubscriptionRequest,
                                  SubscriptionStore, check_request, effective, unsubscribe_signature, verified)
from support import run_cli

KNOWN = Catalogue(regions={("testregio", c): f"Regio {c}" for c in "ABCD"} | {("nederland", "NL"): "Nederland"},
                  combinations=frozenset({("shelter", "adult_victim"), ("shelter", "child"),
                                          ("trauma_care", "child")}),
                  sources=frozenset({"fixture", "meldingen"}), public_level="testregio")
REGION_A = Scope(region_level="testregio", region_code="A")


def request(kind: str = "status", scope: Scope = REGION_A, audience: str = "professional", channel: str = "email",
            address: str = "anne@example.org", lang: str = "nl") -> SubscriptionRequest:
    return SubscriptionRequest(kind, channel, address, lang, audience, scope)


@pytest.fixture(autouse=True)
def webhooks_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPACITY_WEBHOOK_HOSTS", "hooks.example.org")


@pytest.mark.parametrize(("asked", "said"), [
    (request(kind="everything"), "Invalid kind 'everything'"),
    (request(audience="admin"), "Invalid audience 'admin'"),
    (request(kind="signals", audience="public", scope=Scope(region_level="testregio", region_code="A",
                                                            threshold=1)), "needs at least the role professional"),
    (request(kind="source", scope=Scope(source_id="fixture")), "needs at least the role steward"),
    (request(audience="public", scope=Scope(region_level="nederland", region_code="NL")),
     "The public view shows the level testregio only, not nederland"),
    (request(scope=Scope(region_level="testregio", region_code="Z")), "Invalid region 'testregio/Z'"),
    (request(scope=Scope(region_level="gemeente", region_code="A")), "Invalid region 'gemeente/A'"),
    (request(scope=Scope(region_level="testregio", region_code="A", care_type="spa")), "Invalid care type 'spa'"),
    (request(scope=Scope(region_level="testregio", region_code="A", care_type="trauma_care",
                         target_group="adult_victim")), "trauma_care × adult_victim is not reported"),
    (request(kind="threshold", scope=Scope(region_level="testregio", region_code="A", metric="norm_gap",
                                           threshold="veel")), "Invalid threshold 'veel'"),
    (request(kind="threshold", scope=Scope(region_level="testregio", region_code="A", metric="norm_gap",
                                           threshold="-1")), "Invalid threshold '-1'"),
    (request(kind="threshold", scope=Scope(region_level="testregio", region_code="A", metric="norm_gap",
                                           threshold="nan")), "Invalid threshold 'nan'"),
    (request(kind="threshold", scope=Scope(region_level="testregio", region_code="A", metric="norm_gap")),
     "Invalid threshold ''"),
    (request(kind="threshold", scope=Scope(region_level="testregio", region_code="A", metric="beds",
                                           threshold=1)), "Invalid metric 'beds'"),
    (request(kind="signals", scope=Scope(region_level="testregio", region_code="A", threshold="2,5")),
     "Invalid threshold '2,5': a whole number"),
    (request(kind="source", audience="steward", scope=Scope(source_id="fixture", failures="0")),
     "Invalid failed runs '0'"),
    (request(kind="source", audience="steward", scope=Scope(source_id="elders")), "Invalid source 'elders'"),
    (request(address="anne@"), "Invalid e-mail address 'anne@'"),
    (request(address="anne@example.org, piet@example.org"), "Invalid e-mail address"),
    (request(address="anne@example.org\r\nBcc: x@evil.example"), "Invalid e-mail address"),
    (request(channel="sms"), "Invalid channel 'sms'"),
    (request(channel="webhook", address="https://elders.example.org/hook"), "elders.example.org"),
    (request(channel="webhook", address="ftp://hooks.example.org/hook"), "ftp"),
    (request(kind="digest", scope=Scope()), f"Choose 1 to {MAX_DIGEST_REGIONS} regions"),
    (request(kind="digest", scope=Scope(regions=tuple(("testregio", c) for c in "ABCD") * 4 + (("x", "y"),))),
     "Invalid region 'x/y'"),
    (request(scope=Scope(regions=(("testregio", "A"), ("testregio", "B")))), "Choose one region"),
    (request(lang="de"), "Invalid language 'de'"),
])
def test_a_request_that_breaks_a_rule_is_refused_naming_field_and_value(asked: SubscriptionRequest,
                                                                         said: str) -> None:
    with pytest.raises(SubscriptionError) as refused:
        check_request(asked, KNOWN)
    assert said in refused.value.en and refused.value.nl


def test_a_request_is_tidied() -> None:
    threshold = check_request(request(kind="threshold", scope=Scope(
        region_level="testregio", region_code="A", care_type="shelter", metric="norm_gap", threshold=" 2,5 ")),
        KNOWN)
    assert threshold.scope.threshold == 2.5 and threshold.scope.target_group is None
    source = check_request(request(kind="source", audience="steward", scope=Scope(source_id="")), KNOWN)
    assert (source.scope.source_id, source.scope.failures) == ("*", 3)
    digest = check_request(request(kind="digest", audience="public", scope=Scope(
        regions=(("testregio", "A"), ("testregio", "A"), ("testregio", "B")))), KNOWN)
    assert digest.scope.regions == (("testregio", "A"), ("testregio", "B"))
    hook = check_request(request(channel="webhook", address=" https://hooks.example.org/a?b=c "), KNOWN)
    assert hook.address == "https://hooks.example.org/a?b=c"


def test_webhooks_are_refused_while_no_host_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPACITY_WEBHOOK_HOSTS", "")
    with pytest.raises(SubscriptionError):
        check_request(request(channel="webhook", address="https://hooks.example.org/hook"), KNOWN)


def test_a_local_user_gone_or_demoted_receives_nothing(tmp_path) -> None:
    store = SubscriptionStore(tmp_path / "subscriptions.sqlite3")
    made = {name: store.add(check_request(request(audience=audience), KNOWN), name, via)
            for name, audience, via in (("anne", "professional", "local"), ("bert", "steward", "local"),
                                        ("carla", "professional", "local"), ("dirk", "steward", "oidc"),
                                        ("cli", "public", "cli"))}
    roles = {"anne": "professional", "bert": "professional", "carla": None}   # bert demoted, carla removed
    kept = {s.owner for s in effective(store.active(), roles.get)}
    assert kept == {"anne", "dirk", "cli"}
    assert store.end(made["anne"].subscription_id, ("anne", "oidc")) is False   # someone else's
    assert store.end(made["anne"].subscription_id, ("anne", "local")) is True


def test_an_unsubscribe_link_works_only_with_its_own_signature(tmp_path) -> None:
    store = SubscriptionStore(tmp_path / "subscriptions.sqlite3")
    one = store.add(check_request(request(), KNOWN), "anne", "local")
    other = store.add(check_request(request(), KNOWN), "anne", "local")
    good = unsubscribe_signature(one)
    assert verified(store, one.subscription_id, good) == one
    for subscription_id, signature in ((one.subscription_id, unsubscribe_signature(other)),
                                       (one.subscription_id, good[:-1] + ("0" if good[-1] != "0" else "1")),
                                       (one.subscription_id, ""), (one.subscription_id, None),
                                       ("0" * 16, good), (["x"], good), (one.subscription_id + "' OR 1=1", good)):
        assert verified(store, subscription_id, signature) is None
    store.end(one.subscription_id)
    assert verified(store, one.subscription_id, good) is None        # an ended subscription's link is dead


def test_the_cli_subscribes_lists_and_unsubscribes(reader, tmp_path) -> None:
    root = str(reader.paths.root)
    env = {"CAPACITY_PUBLIC_LEVEL": "testregio", "CAPACITY_WEBHOOK_HOSTS": "127.0.0.1", "CAPACITY_LANG": "en"}
    made = run_cli("alerts", "subscribe", "wethouder@example.org", "--kind", "digest", "--regions",
                   "testregio:A,testregio:D", "--data-dir", root, env=env)
    assert made.returncode == 0, made.stderr
    subscription_id = made.stdout.split()[1].rstrip(":")
    hook = run_cli("alerts", "subscribe", "http://127.0.0.1:9/hook", "--kind", "source", "--audience", "steward",
                   "--failures", "2", "--data-dir", root, env=env)
    assert hook.returncode == 0, hook.stderr
    secret = hook.stdout.strip().splitlines()[-1].strip()
    assert len(secret) == 43 and "not shown again" in hook.stdout
    listed = run_cli("alerts", "list", "--data-dir", root, env=env)
    assert f"{subscription_id}\tdigest\ttestregio:A,testregio:D\tpublic\temail wethouder@example.org\tcli" in \
        listed.stdout
    assert "source\t* (2x)\tsteward\twebhook http://127.0.0.1:9/hook" in listed.stdout and secret not in listed.stdout
    refused = run_cli("alerts", "subscribe", "anne@example.org", "--level", "nederland", "--region", "NL",
                      "--data-dir", root, env=env)
    assert refused.returncode != 0
    assert "The public view shows the level testregio only, not nederland" in refused.stderr
    assert run_cli("alerts", "unsubscribe", subscription_id, "--data-dir", root, env=env).returncode == 0
    assert run_cli("alerts", "unsubscribe", subscription_id, "--data-dir", root, env=env).returncode == 1
    assert subscription_id not in run_cli("alerts", "list", "--data-dir", root, env=env).stdout


def test_a_user_may_have_at_most_fifty_live_subscriptions(tmp_path) -> None:
    store = SubscriptionStore(tmp_path / "subscriptions.sqlite3")
    made = [store.add(check_request(request(), KNOWN), "anne", "local") for _ in range(MAX_PER_USER)]
    with pytest.raises(SubscriptionError) as refused:
        store.add(check_request(request(), KNOWN), "anne", "local")
    assert "50 live subscriptions" in refused.value.en
    store.add(check_request(request(), KNOWN), "anne", "oidc")          # another user of that name elsewhere
    store.add(check_request(request(), KNOWN), "cli", "cli")            # a steward's command is not capped
    store.end(made[0].subscription_id)
    store.add(check_request(request(), KNOWN), "anne", "local")         # one stopped: room again
