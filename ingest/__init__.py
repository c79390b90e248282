"""Ingest: the only writer. Sources, parsing, validation, loading, scheduling."""
