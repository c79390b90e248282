"""`capacity report ...`: the municipalities' export of shortfall, providers and sources."""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from queries.connection import PublishedReader
from queries.export import to_csv, to_json, to_xlsx
from queries.health import REJECTION_COLUMNS, SOURCE_COLUMNS, rejection_summary, source_health
from queries.moments import as_of
from queries.paths import DataPaths
from queries.providers import PROVIDER_COLUMNS, SearchFilters, search_providers
from queries.shortfall import REPORT_COLUMNS, shortfall



def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("shortfall", "providers", "sources", "rejected"))
    parser.add_argument("--source", help="one source (rejected)")
    parser.add_argument("--level", default="veilig_thuis", help="region level (shortfall)")
    parser.add_argument("--at", help="moment: 2026-06-30 (end of that day, Dutch time) or a full timestamp")
    parser.add_argument("--care-type")
    parser.add_argument("--target-group")
    parser.add_argument("--framework", choices=("voluntary", "mandated"))
    parser.add_argument("--region", help="one region code (shortfall)")
    parser.add_argument("--gemeente", help="municipality code, e.g. GM0363 (providers)")
    parser.add_argument("--age", type=int)
    parser.add_argument("--language")
    parser.add_argument("--violence-profile")
    parser.add_argument("--whole-family", action="store_true")
    parser.add_argument("--available-only", action="store_true")
    parser.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    parser.add_argument("--out", type=Path, help="write to this file (default: standard output; xlsx needs --out)")


def run_report(args: argparse.Namespace, paths: DataPaths, lang: str) -> int:
    reader = PublishedReader(paths)
    moment = as_of(args.at)
    with reader.cursor() as cur:
        if args.what == "shortfall":
            columns = REPORT_COLUMNS
            rows = [cell.report_row(lang) for cell in shortfall(
                cur, args.level, moment, args.care_type, args.target_group, args.framework, args.region)]
        elif args.what == "providers":
            columns = PROVIDER_COLUMNS
            filters = SearchFilters(args.gemeente, args.care_type, args.target_group, args.age, args.framework,
                                    args.language, args.violence_profile, args.whole_family, args.available_only)
            rows = [asdict(match) for match in search_providers(cur, filters, moment)]
        elif args.what == "rejected":
            columns = REJECTION_COLUMNS
            rows = [asdict(group) for group in rejection_summary(cur, args.source)]
        else:
            columns = SOURCE_COLUMNS
            rows = [asdict(health) for health in source_health(cur, moment)]
    reader.close()
    _write(args, columns, rows)
    return 0


def _write(args: argparse.Namespace, columns: tuple[str, ...], rows: list[dict]) -> None:
    if args.format == "xlsx":
        if args.out is None:
            raise SystemExit("--format xlsx needs --out FILE")
        args.out.write_bytes(to_xlsx(columns, rows, sheet=args.what))
        return
    text = to_csv(columns, rows) if args.format == "csv" else to_json(
        [{c: row.get(c) for c in columns} for row in rows])
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
