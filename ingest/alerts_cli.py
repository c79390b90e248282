"""`capacity alerts subscribe|unsubscribe|list`: a data steward manages alert subscriptions for an address."""
from __future__ import annotations

import argparse
from datetime import datetime, timezone

from queries import settings
from queries.connection import PublishedReader
from queries.errors import CapacityError
from queries.paths import DataPaths

from .subscriptions import (Scope, Subscription, SubscriptionRequest, SubscriptionStore, catalogue, check_request)

CLI_OWNER = "cli"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("subscribe", "unsubscribe", "list"))
    parser.add_argument("target", nargs="?", help="subscribe: an e-mail address or a webhook URL (https://...); "
                                                  "unsubscribe: the subscription id")
    parser.add_argument("--kind", default="status", choices=("status", "threshold", "signals", "source", "digest"),
                        help="what to watch (default status)")
    parser.add_argument("--audience", default="public", choices=("public", "professional", "steward"),
                        help="whose view the subscriber gets (default public: suppressed, one level, no history)")
    parser.add_argument("--level", help="region level, e.g. veilig_thuis")
    parser.add_argument("--region", help="region code, e.g. VT01")
    parser.add_argument("--care-type", help="only this care type (status, threshold)")
    parser.add_argument("--target-group", help="only this target group (status, threshold)")
    parser.add_argument("--metric", help="threshold: norm_gap, median_wait_intake_days or median_wait_treatment_days")
    parser.add_argument("--threshold", help="threshold: the value; signals: signals per day")
    parser.add_argument("--source", help="source: the source id (default: every source)")
    parser.add_argument("--failures", help="source: failed runs in a row (default 3)")
    parser.add_argument("--regions", help="digest: LEVEL:CODE,LEVEL:CODE,...")
    parser.add_argument("--mail-lang", dest="in_lang", choices=("nl", "en"), default="nl",
                        help="language of the messages (default nl)")


def run_alerts(args: argparse.Namespace, paths: DataPaths) -> int:
    store = SubscriptionStore(paths.subscriptions)
    if args.action == "list":
        for subscription in store.active():
            print(describe(subscription))
        return 0
    if not args.target:
        raise CapacityError(f"Geef een {'adres' if args.action == 'subscribe' else 'id'}: capacity alerts "
                            f"{args.action} ...", f"Give an {'address' if args.action == 'subscribe' else 'id'}: "
                            f"capacity alerts {args.action} ...")
    if args.action == "unsubscribe":
        ended = store.end(args.target)
        print(_t(f"Abonnement {args.target} beëindigd." if ended else f"Geen lopend abonnement {args.target}.",
                 f"Subscription {args.target} ended." if ended else f"No live subscription {args.target}."))
        return 0 if ended else 1
    reader = PublishedReader(paths)
    try:
        with reader.cursor() as cur:
            known = catalogue(cur)
    finally:
        reader.close()
    request = check_request(_request(args), known)
    made = store.add(request, CLI_OWNER, "cli")
    print(_t(f"Abonnement {made.subscription_id}: {describe(made)}", f"Subscription {made.subscription_id}: "
             f"{describe(made)}"))
    if made.secret:
        print(_t("Geheim voor de handtekening (X-Capacity-Signature), wordt niet nog eens getoond:",
                 "Secret for the signature (X-Capacity-Signature), not shown again:"))
        print(f"  {made.secret}")
    return 0


def _request(args: argparse.Namespace) -> SubscriptionRequest:
    target = args.target.strip()
    channel = "webhook" if target.lower().startswith(("http://", "https://")) else "email"
    scope = Scope(region_level=args.level, region_code=args.region, care_type=args.care_type,
                  target_group=args.target_group, metric=args.metric, threshold=args.threshold,
                  source_id=args.source, failures=args.failures, regions=_regions(args.regions))
    return SubscriptionRequest(args.kind, channel, target, args.in_lang, args.audience, scope)


def _regions(text: str | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        level, colon, code = part.strip().partition(":")
        if not colon:
            raise CapacityError(f"'{part.strip()}' is geen NIVEAU:CODE, bijvoorbeeld veilig_thuis:VT01.",
                                f"'{part.strip()}' is not LEVEL:CODE, for example veilig_thuis:VT01.")
        pairs.append((level.strip(), code.strip()))
    return tuple(pairs)


def describe(subscription: Subscription) -> str:
    """One line: id, kind, scope, audience, channel and address, owner, since."""
    scope = subscription.scope
    if subscription.kind == "digest":
        what = ",".join(f"{level}:{code}" for level, code in scope.regions)
    elif subscription.kind == "source":
        what = f"{scope.source_id} ({scope.failures}x)"
    else:
        what = f"{scope.region_level}:{scope.region_code}"
        what += "".join(f" {v}" for v in (scope.care_type, scope.target_group) if v)
        if subscription.kind == "threshold":
            what += f" {scope.metric} > {scope.threshold:g}"
        elif subscription.kind == "signals":
            what += f" > {scope.threshold:g}/dag"
    since = datetime.fromtimestamp(subscription.created_at, timezone.utc).astimezone().strftime("%d-%m-%Y %H:%M")
    return (f"{subscription.subscription_id}\t{subscription.kind}\t{what}\t{subscription.audience}\t"
            f"{subscription.channel} {subscription.address}\t{subscription.owner}\t{since}")


def _t(nl: str, en: str) -> str:
    return en if settings.get("lang") == "en" else nl
