"""Build a national-scale warehouse for benchmarks: real geography, synthetic fictional services.

    .venv/bin/python bench/build_warehouse.py DATA_DIR [--services 2000] [--observations 1000000]

Services are spread over the real municipalities and region codes; each gets a
history of observations spaced evenly over the two years before now. Rows are
generated inside DuckDB (this is a query benchmark, not an ingest one).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ingest.load import refresh_first_valid_at
from ingest.reference_load import initialise
from queries.db import run, scalar
from queries.paths import DataPaths
from queries.warehouse import Warehouse

SERVICES = """
INSERT INTO service (service_id, provider_id, name, care_type, framework, age_min, age_max, whole_family,
                     languages, violence_profiles, phone, email, referral_route, source_id, updated_at)
SELECT 'B' || lpad(i::VARCHAR, 6, '0'), 'BP' || (i % 400), 'Fictieve dienst ' || i,
       (['shelter', 'trauma_care', 'perpetrator_programme', 'peer_group'])[1 + i % 4],
       CASE WHEN i % 4 = 2 THEN (['voluntary', 'mandated', 'both'])[1 + (i // 4) % 3] END,
       CASE WHEN i % 3 = 0 THEN 0 ELSE 18 END, 99, i % 5 = 0, ['nl'], [], '000-0000000', NULL,
       'via Veilig Thuis', 'bench', now()
FROM range($services) AS t(i)"""
PROVIDERS = """
INSERT INTO provider SELECT 'BP' || i, 'Fictieve aanbieder ' || i, NULL, NULL, NULL, 'bench', now()
FROM range(400) AS t(i)"""
TARGET_GROUPS = """
INSERT INTO service_target_group
SELECT s.service_id, g.target_group FROM service AS s JOIN care_type_target_group AS g USING (care_type)
WHERE s.source_id = 'bench' AND (hash(s.service_id || g.target_group) % 4 <> 0 OR g.target_group = 'perpetrator')"""
AREAS = """
INSERT INTO service_area
SELECT s.service_id, 'gemeente', m.gemeente_code
FROM (SELECT service_id, row_number() OVER () AS n FROM service WHERE source_id = 'bench') AS s
JOIN (SELECT gemeente_code, row_number() OVER (ORDER BY gemeente_code) AS n FROM municipality) AS m
  ON m.n = 1 + (s.n * 7) % 342 OR (s.n % 3 = 0 AND m.n = 1 + (s.n * 13) % 342)"""
OBSERVATIONS = """
INSERT INTO capacity_observation
SELECT s.service_id,
       now() - to_days(730) + to_seconds(k * (730 * 86400 // $per_service)) AS valid_at,
       'bench', 'place', 5 + s.n % 30 AS maximum, (k + s.n) % (6 + s.n % 30) % (5 + s.n % 30) AS available,
       'open', (k * 7 + s.n) % 25, (k + s.n) % 60, (k * 3 + s.n) % 120, 1, now()
FROM (SELECT service_id, row_number() OVER (ORDER BY service_id) AS n FROM service WHERE source_id = 'bench') AS s
CROSS JOIN range($per_service) AS t(k)"""


def build(root: Path, services: int, observations: int) -> None:
    paths = DataPaths(root)
    with Warehouse(paths) as warehouse:
        initialise(warehouse)
        with warehouse.transaction() as con:
            run(con, "INSERT INTO source (source_id, kind, location, schedule, registered_at) VALUES ('bench', 'file', 'bench', '15m', now()) ON CONFLICT DO NOTHING")
            run(con, "INSERT INTO ingest_run (run_id, source_id, started_at, finished_at, status, rows_in, rows_loaded, "
                     "rows_rejected) VALUES (nextval('ingest_run_id'), 'bench', now(), now(), 'ok', 0, 0, 0) "
                     "ON CONFLICT DO NOTHING")
            run(con, PROVIDERS)
            run(con, SERVICES, {"services": services})
            run(con, TARGET_GROUPS)
            run(con, AREAS)
            run(con, OBSERVATIONS, {"per_service": max(1, observations // services)})
            refresh_first_valid_at(con)
        warehouse.publish()
        print(f"{scalar(warehouse.con, 'SELECT count(*) FROM service')} services, "
              f"{scalar(warehouse.con, 'SELECT count(*) FROM capacity_observation')} observations in {root}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.data_dir.resolve(), args.services, args.observations)
    print(f"built in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
