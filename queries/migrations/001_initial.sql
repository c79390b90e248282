-- 001: reference data (municipalities, region levels, population), the care
-- domain (care types, target groups, providers, services, capacity
-- observations) and the ingest ledger (sources, runs, rejected rows, files).
-- Shelter street addresses have no column anywhere, by design.
-- Foreign keys point only at tables whose rows are never deleted and never get
-- list columns updated (DuckDB refuses such updates on referenced rows):
-- services, providers and their children are kept consistent by the loader,
-- which writes them in the same transaction as the observations.

CREATE TABLE municipality (
    gemeente_code    VARCHAR PRIMARY KEY CHECK (regexp_full_match(gemeente_code, 'GM[0-9]{4}')),
    name             VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
    boundary_geojson VARCHAR NOT NULL
);

CREATE TABLE region_level (
    level        VARCHAR PRIMARY KEY CHECK (regexp_full_match(level, '[a-z][a-z0-9_]{0,39}')),
    label_nl     VARCHAR NOT NULL,
    label_en     VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL CHECK (origin IN ('shipped', 'loaded')),
    is_default   BOOLEAN NOT NULL DEFAULT false,
    sort_order   INTEGER NOT NULL,
    source_file  VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE region (
    level            VARCHAR NOT NULL REFERENCES region_level (level),
    region_code      VARCHAR NOT NULL CHECK (length(trim(region_code)) > 0),
    region_name      VARCHAR NOT NULL CHECK (length(trim(region_name)) > 0),
    boundary_geojson VARCHAR NOT NULL,
    PRIMARY KEY (level, region_code)
);

-- Every municipality belongs to exactly one region of each level (the key).
CREATE TABLE region_membership (
    level         VARCHAR NOT NULL,
    gemeente_code VARCHAR NOT NULL REFERENCES municipality (gemeente_code),
    region_code   VARCHAR NOT NULL,
    PRIMARY KEY (level, gemeente_code)
);

CREATE TABLE population (
    gemeente_code  VARCHAR NOT NULL REFERENCES municipality (gemeente_code),
    reference_date DATE NOT NULL,
    inhabitants    INTEGER NOT NULL CHECK (inhabitants >= 0),
    age_0_14       INTEGER CHECK (age_0_14 >= 0),
    age_15_24      INTEGER CHECK (age_15_24 >= 0),
    age_25_44      INTEGER CHECK (age_25_44 >= 0),
    age_45_64      INTEGER CHECK (age_45_64 >= 0),
    age_65_plus    INTEGER CHECK (age_65_plus >= 0),
    source_file    VARCHAR NOT NULL,
    PRIMARY KEY (gemeente_code, reference_date)
);

CREATE TABLE care_type (
    care_type                VARCHAR PRIMARY KEY CHECK (regexp_full_match(care_type, '[a-z][a-z_]{0,39}')),
    label_nl                 VARCHAR NOT NULL,
    label_en                 VARCHAR NOT NULL,
    sort_order               INTEGER NOT NULL,
    freshness_days           INTEGER NOT NULL CHECK (freshness_days > 0),
    norm_places_per_10k      DOUBLE CHECK (norm_places_per_10k > 0),
    wait_norm_intake_days    INTEGER CHECK (wait_norm_intake_days >= 0),
    wait_norm_treatment_days INTEGER CHECK (wait_norm_treatment_days >= 0)
);

CREATE TABLE target_group (
    target_group     VARCHAR PRIMARY KEY CHECK (regexp_full_match(target_group, '[a-z][a-z_]{0,39}')),
    label_nl         VARCHAR NOT NULL,
    label_en         VARCHAR NOT NULL,
    population_basis VARCHAR NOT NULL CHECK (population_basis IN ('child', 'adult', 'all')),
    sort_order       INTEGER NOT NULL
);

-- The care type x target group combinations that are reported.
CREATE TABLE care_type_target_group (
    care_type    VARCHAR NOT NULL REFERENCES care_type (care_type),
    target_group VARCHAR NOT NULL REFERENCES target_group (target_group),
    PRIMARY KEY (care_type, target_group)
);

CREATE TABLE source (
    source_id      VARCHAR PRIMARY KEY CHECK (regexp_full_match(source_id, '[A-Za-z0-9][A-Za-z0-9_.-]{0,79}')),
    kind           VARCHAR NOT NULL CHECK (kind IN ('file', 'http', 'hsds', 'submission')),
    location       VARCHAR NOT NULL,
    schedule       VARCHAR,
    freshness_days INTEGER CHECK (freshness_days > 0),
    registered_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE provider (
    provider_id VARCHAR PRIMARY KEY CHECK (length(trim(provider_id)) > 0),
    name        VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
    website     VARCHAR,
    phone       VARCHAR,
    email       VARCHAR,
    source_id   VARCHAR NOT NULL REFERENCES source (source_id),
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE service (
    service_id        VARCHAR PRIMARY KEY CHECK (length(trim(service_id)) > 0),
    provider_id       VARCHAR NOT NULL,
    name              VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
    care_type         VARCHAR NOT NULL REFERENCES care_type (care_type),
    framework         VARCHAR CHECK (framework IN ('voluntary', 'mandated', 'both')),
    age_min           INTEGER CHECK (age_min BETWEEN 0 AND 120),
    age_max           INTEGER CHECK (age_max BETWEEN 0 AND 120),
    whole_family      BOOLEAN NOT NULL DEFAULT false,
    languages         VARCHAR[] NOT NULL DEFAULT [],
    violence_profiles VARCHAR[] NOT NULL DEFAULT [] CHECK (list_has_all(
        ['intimate_terror', 'family_in_stress', 'long_term_care_needs',
         'child_behaviour_parenting_stress', 'complex_conflict_divorce'], violence_profiles)),
    phone             VARCHAR,
    email             VARCHAR,
    website           VARCHAR,
    referral_route    VARCHAR,
    source_id         VARCHAR NOT NULL REFERENCES source (source_id),
    updated_at        TIMESTAMPTZ NOT NULL,
    CHECK (age_min IS NULL OR age_max IS NULL OR age_min <= age_max)
);

CREATE TABLE service_target_group (
    service_id   VARCHAR NOT NULL,
    target_group VARCHAR NOT NULL REFERENCES target_group (target_group),
    PRIMARY KEY (service_id, target_group)
);

-- A service area entry is a municipality (area_level 'gemeente') or a region
-- code of any level, which stands for its municipalities.
CREATE TABLE service_area (
    service_id VARCHAR NOT NULL,
    area_level VARCHAR NOT NULL,
    area_code  VARCHAR NOT NULL,
    PRIMARY KEY (service_id, area_level, area_code)
);

CREATE SEQUENCE ingest_run_id START 1;

CREATE TABLE ingest_run (
    run_id        BIGINT PRIMARY KEY,
    source_id     VARCHAR NOT NULL REFERENCES source (source_id),
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('ok', 'partial', 'failed', 'unchanged')),
    rows_in       INTEGER NOT NULL DEFAULT 0 CHECK (rows_in >= 0),
    rows_loaded   INTEGER NOT NULL DEFAULT 0 CHECK (rows_loaded >= 0),
    rows_rejected INTEGER NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
    file_name     VARCHAR,
    content_hash  VARCHAR,
    error_nl      VARCHAR,
    error_en      VARCHAR,
    CHECK (finished_at >= started_at),
    CHECK (rows_loaded + rows_rejected <= rows_in),
    CHECK ((status = 'failed') = (error_en IS NOT NULL))
);

-- Append-only history: one row per service, time the figures were true, source.
CREATE TABLE capacity_observation (
    service_id          VARCHAR NOT NULL,
    valid_at            TIMESTAMPTZ NOT NULL,
    source_id           VARCHAR NOT NULL,
    unit                VARCHAR NOT NULL CHECK (unit IN ('place', 'bed', 'treatment_slot', 'group_seat')),
    maximum             INTEGER CHECK (maximum >= 0),
    available           INTEGER CHECK (available >= 0),
    status              VARCHAR NOT NULL CHECK (status IN ('open', 'full', 'waitlist', 'closed', 'unknown')),
    waiting_count       INTEGER CHECK (waiting_count >= 0),
    wait_days_intake    INTEGER CHECK (wait_days_intake BETWEEN 0 AND 3650),
    wait_days_treatment INTEGER CHECK (wait_days_treatment BETWEEN 0 AND 3650),
    run_id              BIGINT NOT NULL,
    ingested_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (service_id, valid_at, source_id),
    CHECK (available IS NULL OR maximum IS NULL OR available <= maximum)
);

CREATE TABLE rejected_row (
    run_id      BIGINT NOT NULL,
    source_id   VARCHAR NOT NULL,
    file_name   VARCHAR,
    row_number  INTEGER CHECK (row_number >= 0),
    column_name VARCHAR,
    value       VARCHAR,
    message_nl  VARCHAR NOT NULL,
    message_en  VARCHAR NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL
);

-- Files are keyed by content: a re-dropped or renamed file loads nothing new.
CREATE TABLE file_seen (
    source_id    VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL CHECK (regexp_full_match(content_hash, '[0-9a-f]{64}')),
    file_name    VARCHAR NOT NULL,
    size_bytes   BIGINT NOT NULL CHECK (size_bytes >= 0),
    outcome      VARCHAR NOT NULL CHECK (outcome IN ('loaded', 'quarantined')),
    run_id       BIGINT NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_id, content_hash)
);

-- What `capacity init` loaded, keyed by the content hash of the inputs.
CREATE TABLE reference_load (
    part         VARCHAR PRIMARY KEY,
    content_hash VARCHAR NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL
);
