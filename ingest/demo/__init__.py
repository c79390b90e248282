"""The living demo: a fictional national picture written as sources, loaded through the real ingest path.

`world` builds providers and services (seeded), `model` moves their figures over time, `writers` turns
them into inbox files, a JSON feed, an HSDS API and an HSDS package, `generate` writes it all under
<data>/demo/ with a sources.toml, `server` answers the feed and the API on 127.0.0.1, and `refresh`
keeps new reports arriving while the demo runs.
"""
