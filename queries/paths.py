"""Where each piece of state lives inside the data folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data folder."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def pointer(self) -> Path:
        """The file naming the newest published copy."""
        return self.published / "CURRENT.json"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def sessions(self) -> Path:
        """Login sessions and failed logins, shared by the web workers (never by the ingester)."""
        return self.root / "web" / "sessions.sqlite3"

    @property
    def provider_links(self) -> Path:
        """Providers' personal update links (hashes only), shared by the CLI, the web and the ingester."""
        return self.root / "links" / "provider_links.sqlite3"

    @property
    def subscriptions(self) -> Path:
        """Alert subscriptions (with webhook secrets), shared by the CLI, the web and the ingester."""
        return self.root / "alerts" / "subscriptions.sqlite3"

    @property
    def ingest_lock(self) -> Path:
        """Held by the one running ingest process."""
        return self.root / "ingest.lock"

    def ensure(self) -> None:
        """Create the folders (not the warehouse)."""
        for folder in (self.root, self.published, self.inbox, self.archive, self.quarantine):
            folder.mkdir(parents=True, exist_ok=True)
