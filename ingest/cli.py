"""The `capacity` command: init, regions, population, report, sources, ingest, serve, run, demo, settings, users,
providers, alerts."""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from queries import settings
from queries.errors import CapacityError
from queries.paths import DataPaths

from .provider_links import LinkStore
from .reports import add_report_arguments, run_report


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    default = argparse.SUPPRESS if not top else None
    parser.add_argument("--data-dir", default=default,
                        help="data folder (default: $CAPACITY_DATA_DIR or ./data)")
    parser.add_argument("--config", default=default,
                        help="sources configuration (default: ./sources.toml, else examples/sources.toml; "
                             "capacity run: else the generated demo)")
    parser.add_argument("--lang", choices=("nl", "en"), default=default, help="language of messages")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capacity", description="Capaciteit en wachtlijsten / capacity dashboard")
    _common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        _common_options(cmd, top=False)
        cmd.set_defaults(handler=handler)
        return cmd

    command("init", cmd_init, "create or update the warehouse and its reference data (idempotent)")

    regions = command("regions", cmd_regions_list, "list region levels, or load a further region set")
    regions_sub = regions.add_subparsers(dest="regions_command")
    load = regions_sub.add_parser("load", help="load a region level from gemeente_code,region_code,region_name")
    _common_options(load, top=False)
    load.add_argument("level", help="name of the level, e.g. centrumgemeente_vo")
    load.add_argument("mapping", type=Path, help="CSV file gemeente_code,region_code,region_name")
    load.add_argument("--label", help="readable name of the level")
    load.set_defaults(handler=cmd_regions_load)

    population = command("population", cmd_population_load, "load a (newer) population file")
    population.add_argument("action", choices=("load",))
    population.add_argument("file", type=Path)

    report = command("report", cmd_report, "export shortfall, providers or sources as csv, json or xlsx")
    add_report_arguments(report)

    sources = command("sources", cmd_sources, "check the sources configuration, preview a source, reprocess it")
    sources.add_argument("action", choices=("check", "preview", "reprocess"))
    sources.add_argument("id", nargs="?", help="a source (check: only this one; preview, reprocess: required)")
    sources.add_argument("file", nargs="?", type=Path,
                         help="check: warn about configured columns this file lacks; preview: the file to read")

    ingest = command("ingest", cmd_ingest, "run the ingest scheduler (the only writer)")
    ingest.add_argument("--once", nargs="*", metavar="ID",
                        help="run the given sources (all when none given) now, print a summary, exit")

    serve = command("serve", cmd_serve, "serve the dashboard with gunicorn")
    _server_options(serve)

    run = command("run", cmd_run, "start the whole system: init, ingest and dashboard; Ctrl-C stops all")
    _server_options(run)
    run.add_argument("--demo-port", type=int, default=int(settings.get("demo_port")),
                     help="port of the demo's feeds, used when no configuration was chosen")

    demo = command("demo", cmd_demo, "write a fictional national picture as sources (demo data), or serve it")
    _demo_options(demo)

    command("settings", cmd_settings, "list settings with their environment variables and help")

    users = command("users", cmd_users, "manage the local login users (argon2-hashed passwords)")
    users.add_argument("action", choices=("list", "add", "remove"))
    users.add_argument("name", nargs="?", help="user name (add, remove)")
    users.add_argument("--role", choices=("public", "professional", "steward"), help="add: the user's role")
    users.add_argument("--password-stdin", action="store_true",
                       help="add: read the password from standard input instead of asking for it")

    providers = command("providers", cmd_providers, "personal update links of providers: invite, revoke, list")
    providers.add_argument("action", choices=("invite", "revoke", "list"))
    providers.add_argument("id", nargs="?", help="invite: the provider id; revoke: the link id (L...); list: only "
                                                 "this provider")
    providers.add_argument("--email", help="invite: mail the link to this address (needs CAPACITY_SMTP_HOST)")
    providers.add_argument("--days", type=int, default=365, help="invite: days the link stays valid (default 365)")
    providers.add_argument("--all", action="store_true", help="revoke: every link of the provider ID")

    from .alerts_cli import add_arguments

    add_arguments(command("alerts", cmd_alerts, "alert subscriptions for an address: subscribe, unsubscribe, list"))
    return parser


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("serve",),
                        help="serve: run the demo's feeds and HSDS API and keep new reports arriving")
    parser.add_argument("--seed", type=int, help="seed of the fictional world (default 7, or as generated before)")
    parser.add_argument("--scale", type=float,
                        help="more (>1) or fewer (<1) services (default 1.0, or as generated before)")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 of the demo's feeds and HSDS API "
                                                 "(default: $CAPACITY_DEMO_PORT or 8051; serve: as generated)")
    parser.add_argument("--refresh-seconds", type=int, help="serve: seconds between new reports (default 60)")


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=settings.get("host"))
    parser.add_argument("--port", type=int, default=int(settings.get("port")))
    parser.add_argument("--workers", type=int, default=int(settings.get("workers")))
    parser.add_argument("--threads", type=int, default=int(settings.get("threads")))


def paths_of(args: argparse.Namespace) -> DataPaths:
    return DataPaths(settings.data_dir(getattr(args, "data_dir", None)))


def config_of(args: argparse.Namespace) -> Path:
    return settings.config_path(getattr(args, "config", None))


def cmd_init(args: argparse.Namespace) -> int:
    from queries.warehouse import Warehouse

    from .reference_load import initialise

    paths = paths_of(args)
    with Warehouse(paths) as warehouse:
        report = initialise(warehouse)
        publication = warehouse.latest_publication()
    if report.changed or report.migrations:
        print(_t(f"Warehouse {paths.warehouse} bijgewerkt: {', '.join(report.changed) or 'schema'}",
                 f"Warehouse {paths.warehouse} updated: {', '.join(report.changed) or 'schema'}"))
    else:
        print(_t(f"Warehouse {paths.warehouse} is al actueel; niets gewijzigd.",
                 f"Warehouse {paths.warehouse} is up to date; nothing changed."))
    if publication:
        print(_t(f"Gepubliceerd voor lezers: {publication.file}", f"Published for readers: {publication.file}"))
    return 0


def cmd_regions_list(args: argparse.Namespace) -> int:
    from queries.connection import PublishedReader
    from queries.reference import region_levels

    reader = PublishedReader(paths_of(args))
    with reader.cursor() as cur:
        for level in region_levels(cur):
            print(f"{level.level:<20} {level.regions:>4}  {level.label(_lang())}")
    reader.close()
    return 0


def cmd_regions_load(args: argparse.Namespace) -> int:
    from queries.warehouse import Warehouse

    from .reference_load import load_region_level

    with Warehouse(paths_of(args)) as warehouse:
        changed = load_region_level(warehouse, args.level, args.mapping, args.label)
    print(_t(f"Regio-indeling '{args.level}' geladen uit {args.mapping.name}." if changed else
             f"Regio-indeling '{args.level}' is al zo geladen; niets gewijzigd.",
             f"Region level '{args.level}' loaded from {args.mapping.name}." if changed else
             f"Region level '{args.level}' was already loaded like this; nothing changed."))
    return 0


def cmd_population_load(args: argparse.Namespace) -> int:
    from queries.warehouse import Warehouse

    from .reference_load import load_population_file

    with Warehouse(paths_of(args)) as warehouse:
        load_population_file(warehouse, args.file)
    print(_t(f"Bevolking geladen uit {args.file.name}.", f"Population loaded from {args.file.name}."))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    return run_report(args, paths_of(args), _lang())


def cmd_sources(args: argparse.Namespace) -> int:
    from . import steward
    from .config import load_sources

    path, paths = config_of(args), paths_of(args)
    if args.action != "check" and not args.id:
        raise CapacityError(f"Geef de bron: capacity sources {args.action} ID", f"Name the source: capacity sources "
                                                                                 f"{args.action} ID")
    if args.action == "preview":
        steward.print_preview(steward.preview(path, paths, args.id, args.file), _lang())
        return 0
    if args.action == "reprocess":
        print(steward.reprocess(path, paths, args.id))
        return 0
    sources = load_sources(path)
    findings = steward.check(path, paths, args.id, args.file)
    errors = [finding for finding in findings if finding.error]
    print(_t(f"{path}: {len(sources)} bron(nen), {len(errors)} fout(en).", f"{path}: {len(sources)} source(s), "
                                                                             f"{len(errors)} error(s)."))
    for source in sources:
        print(f"  {source.id:<24} {source.kind:<5} {source.schedule:<14} {source.url or source.path or ''}")
    return steward.print_findings(findings, _lang())


def cmd_ingest(args: argparse.Namespace) -> int:
    from .service import run_ingest_service

    return run_ingest_service(paths_of(args), config_of(args), once=args.once)


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.server import serve

    return serve(paths_of(args), host=args.host, port=args.port, workers=args.workers, threads=args.threads)


def cmd_run(args: argparse.Namespace) -> int:
    from .supervisor import run_system

    chosen = settings.chosen_config_path(getattr(args, "config", None))
    return run_system(paths_of(args), lambda: cmd_init(args), chosen, host=args.host, port=args.port,
                      workers=args.workers, threads=args.threads, demo_port=None if chosen else args.demo_port)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return cmd_demo_serve(args)
    _generate_demo(paths_of(args), args.port, args.seed, args.scale)
    return 0


def cmd_demo_serve(args: argparse.Namespace) -> int:
    from .demo.server import serve_demo

    return serve_demo(paths_of(args), args.port, args.refresh_seconds)


def _generate_demo(paths: DataPaths, port: int | None, seed: int | None = None, scale: float | None = None
                   ) -> Path:
    """Write the demo's sources into the data folder (seed, scale and port as before unless given; else the
    defaults); return its sources.toml."""
    from .demo.generate import generate_demo, settings_for

    chosen = settings_for(paths, seed, scale, port, default_port=int(settings.get("demo_port")))
    started = time.monotonic()
    done = generate_demo(paths, chosen, datetime.now(timezone.utc))
    seconds = time.monotonic() - started
    print(_t(f"Demonstratiegegevens (fictief) in {done.config.parent}: {done.sources} bronnen, {done.services} "
             f"diensten; {done.files_written} bestanden geschreven, {done.files_before} waren er al "
             f"({seconds:.1f} s).",
             f"Demo data (fictional) in {done.config.parent}: {done.sources} sources, {done.services} services; "
             f"{done.files_written} files written, {done.files_before} were there already ({seconds:.1f} s)."),
          flush=True)
    return done.config


def cmd_settings(args: argparse.Namespace) -> int:
    for setting in settings.SETTINGS:
        value = settings.get(setting.name)
        shown = "'(set)'" if setting.secret and value else repr(value)
        print(f"{setting.env:<30} = {shown:<12} {setting.help}")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from dashboard.users import add_user, read_users, remove_user, users_file

    path = users_file(paths_of(args).root)
    if args.action == "list":
        for user in read_users(path).values():
            print(f"{user.name}\t{user.role}")
        return 0
    if not args.name:
        raise CapacityError("Geef een gebruikersnaam.", "Give a user name.")
    if args.action == "remove":
        removed = remove_user(path, args.name)
        _end_sessions(paths_of(args), args.name)
        print(_t(f"{args.name} verwijderd uit {path}", f"{args.name} removed from {path}") if removed else
              _t(f"{args.name} staat niet in {path}", f"{args.name} is not in {path}"))
        return 0 if removed else 1
    if not args.role:
        raise CapacityError("Geef een rol met --role.", "Give a role with --role.")
    add_user(path, args.name, args.role, _new_password(args.password_stdin))
    _end_sessions(paths_of(args), args.name)
    print(_t(f"{args.name} ({args.role}) opgeslagen in {path}", f"{args.name} ({args.role}) saved in {path}"))
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    paths = paths_of(args)
    links = LinkStore(paths.provider_links)
    if args.action == "list":
        return _list_invites(links, args.id)
    if not args.id:
        raise CapacityError(f"Geef een id: capacity providers {args.action} ID",
                            f"Give an id: capacity providers {args.action} ID")
    if args.action == "revoke":
        count = links.revoke_provider(args.id) if args.all else int(links.revoke(args.id))
        print(_t(f"{count} link(s) ingetrokken.", f"{count} link(s) revoked."))
        return 0 if count else 1
    return _invite(paths, links, args.id, args.email, args.days)


def cmd_alerts(args: argparse.Namespace) -> int:
    from .alerts_cli import run_alerts

    return run_alerts(args, paths_of(args))


def _invite(paths: DataPaths, links: LinkStore, provider_id: str, email: str | None, days: int) -> int:
    from queries.connection import PublishedReader

    from .provider_invites import invite, known_providers

    reader = PublishedReader(paths)
    try:
        with reader.cursor() as cur:
            providers = known_providers(cur)
    finally:
        reader.close()
    outcome = invite(links, providers, provider_id, email, days)
    until = datetime.fromtimestamp(outcome.link.expires_at, timezone.utc).astimezone()
    print(_t(f"Link {outcome.link.link_id} voor {outcome.provider_name} ({provider_id}), geldig tot {until:%d-%m-%Y}:",
             f"Link {outcome.link.link_id} for {outcome.provider_name} ({provider_id}), valid until {until:%d-%m-%Y}:"))
    print(f"  {outcome.url}")
    if outcome.mailed:
        print(_t(f"Verstuurd naar {email}.", f"Sent to {email}."))
    elif outcome.mail_problem:
        print(_t(*outcome.mail_problem))
    print(_t("Deze link wordt nergens bewaard en is hierna niet meer op te vragen.",
             "This link is not stored anywhere and cannot be shown again."))
    return 0


def _list_invites(links: LinkStore, provider_id: str | None) -> int:
    now = time.time()
    stamp = lambda moment: datetime.fromtimestamp(moment, timezone.utc).astimezone().strftime("%d-%m-%Y %H:%M")  # noqa: E731
    for invite in links.invites(provider_id):
        used = stamp(invite.last_used_at) if invite.last_used_at else _t("nooit", "never")
        print(f"{invite.link_id}\t{invite.provider_id}\t{invite.email or '-'}\t{invite.state(now)}\t"
              f"{_t('tot', 'until')} {stamp(invite.expires_at)}\t{_t('laatst gebruikt', 'last used')} {used}")
    return 0


def _end_sessions(paths: DataPaths, name: str) -> None:
    """A removed user, or one with a new password, is logged out everywhere at once. (The web workers
    check this at every request too, also after a hand edit of the users file.)"""
    from dashboard.sessions import SessionStore

    if paths.sessions.exists():
        SessionStore(paths.sessions, 0).end_all_of(name)


def _new_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(_t("Wachtwoord: ", "Password: "))
    if getpass.getpass(_t("Nog een keer: ", "Once more: ")) != first:
        raise CapacityError("De wachtwoorden verschillen.", "The passwords differ.")
    return first


def _lang() -> str:
    return settings.get("lang")


def _t(nl: str, en: str) -> str:
    return en if _lang() == "en" else nl


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "lang", None):
        os.environ["CAPACITY_LANG"] = args.lang
    try:
        return args.handler(args)
    except CapacityError as error:
        print(error.message(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
