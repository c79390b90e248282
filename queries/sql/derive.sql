-- Derived tables of one published copy (queries/derived.py), computed once when the copy is made so that
-- every page request reads them instead of recomputing them. Statements are separated by ";" at a line end.
-- Parameter: $child_share_15_24.
CREATE SCHEMA IF NOT EXISTS derived;

-- newest population per municipality; children 0-17 estimated as 0-14 + a share of 15-24
CREATE OR REPLACE TABLE derived.pop AS
SELECT gemeente_code,
       arg_max(inhabitants, reference_date) AS inhabitants,
       arg_max(age_0_14 + $child_share_15_24 * age_15_24, reference_date) AS children
FROM population
GROUP BY gemeente_code;

CREATE OR REPLACE TABLE derived.region_pop AS
SELECT r.level, r.region_code, r.region_name, sum(p.inhabitants) AS inhabitants, sum(p.children) AS children
FROM region AS r
JOIN region_membership AS m ON m.level = r.level AND m.region_code = r.region_code
JOIN derived.pop AS p USING (gemeente_code)
GROUP BY r.level, r.region_code, r.region_name;

-- the municipalities each service covers, and its target groups as a list (for the provider search)
CREATE OR REPLACE TABLE derived.service_municipality AS
SELECT service_id, gemeente_code FROM service_municipality;

CREATE OR REPLACE TABLE derived.service_groups AS
SELECT service_id, list(target_group ORDER BY target_group) AS target_groups
FROM service_target_group
GROUP BY service_id;

-- a service covering several regions counts in each by the population share of its area there
CREATE OR REPLACE TABLE derived.service_weight AS
WITH service_total AS (
    SELECT sm.service_id, sum(p.inhabitants) AS total
    FROM service_municipality AS sm JOIN derived.pop AS p USING (gemeente_code)
    GROUP BY sm.service_id
)
SELECT m.level, sm.service_id, m.region_code, sum(p.inhabitants) / any_value(t.total) AS weight
FROM service_municipality AS sm
JOIN derived.pop AS p USING (gemeente_code)
JOIN region_membership AS m USING (gemeente_code)
JOIN service_total AS t USING (service_id)
GROUP BY m.level, sm.service_id, m.region_code
HAVING sum(p.inhabitants) > 0;

-- every service's latest figure in this copy (ties: the latest loaded): the latest figure at any moment
-- from observed_until on
CREATE OR REPLACE TABLE derived.latest AS
SELECT service_id,
       arg_max({'valid_at': valid_at, 'source_id': source_id, 'unit': unit, 'maximum': maximum,
                'available': available, 'status': status, 'waiting_count': waiting_count,
                'wait_days_intake': wait_days_intake, 'wait_days_treatment': wait_days_treatment},
               {'valid_at': valid_at, 'ingested_at': ingested_at}) AS o
FROM capacity_observation
GROUP BY service_id;

CREATE OR REPLACE TABLE derived.observed_until AS
SELECT max(valid_at) AS valid_at FROM capacity_observation;

-- The shortfall from the copy's last figure on stays the same until the first fresh figure turns stale:
-- for moments in [computed_at, valid_until] it is the shortfall at computed_at.
CREATE OR REPLACE TABLE derived.now_window AS
SELECT u.valid_at AS computed_at,
       min(l.o.valid_at + to_hours(24 * coalesce(src.freshness_days, ct.freshness_days)))
           FILTER (WHERE l.o.valid_at + to_hours(24 * coalesce(src.freshness_days, ct.freshness_days)) >= u.valid_at)
           AS valid_until
FROM derived.observed_until AS u
LEFT JOIN derived.latest AS l ON true
LEFT JOIN service AS s USING (service_id)
LEFT JOIN care_type AS ct USING (care_type)
LEFT JOIN source AS src ON src.source_id = l.o.source_id
GROUP BY u.valid_at;

-- The whole shortfall table per level, as shortfall.sql computes it (filled by queries/derived.py), at the
-- copy's stored moments: computed_at (standing for its whole window; framework NULL for all services, and
-- per framework for perpetrator programmes) and each standard moment of derived.moments (the week and month
-- ends of trends and month series; framework NULL only). Read by shortfall_stored.sql.
CREATE OR REPLACE TABLE derived.shortfall (
    level VARCHAR, framework VARCHAR, at_ts TIMESTAMPTZ, region_code VARCHAR, region_name VARCHAR, care_type VARCHAR,
    target_group VARCHAR, services BIGINT, services_fresh BIGINT, places DOUBLE, available DOUBLE,
    waiting DOUBLE, unmet_now DOUBLE, norm_places DOUBLE, norm_gap DOUBLE, per_10k DOUBLE,
    national_median_per_10k DOUBLE, median_wait_intake_days DOUBLE, median_wait_treatment_days DOUBLE,
    wait_breaches BIGINT, wait_norm_intake_days INTEGER, wait_norm_treatment_days INTEGER,
    inhabitants HUGEINT, target_population DOUBLE, row_order INTEGER
);
