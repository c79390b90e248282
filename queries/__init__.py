"""The warehouse: schema and migrations, publishing, and every read query."""
