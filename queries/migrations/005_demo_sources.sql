-- 005: sources marked `demo = true` in sources.toml carry fictional demonstration data; while any is
-- present the dashboard says so on every page. (No NOT NULL here: DuckDB cannot add a constraint to a
-- table other tables reference; the default fills existing rows and the loader always writes a value.)
ALTER TABLE source ADD COLUMN demo BOOLEAN DEFAULT false;
