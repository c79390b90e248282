"""Run-time settings, each declared once with its environment variable and help text."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO_ROOT / "data" / "reference"
EXAMPLES_DIR = REPO_ROOT / "examples"


@dataclass(frozen=True)
class Setting:
    """One setting: its name, environment variable, default and what it does."""

    name: str
    env: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "CAPACITY_DATA_DIR", "./data",
            "Folder holding all state: warehouse, published copies, inbox, archive, quarantine."),
    Setting("config", "CAPACITY_CONFIG", "",
            "Sources configuration (TOML). Empty: ./sources.toml when present; else `capacity run` writes and "
            "runs the demo (capacity demo) and other commands use examples/sources.toml."),
    Setting("publish_keep", "CAPACITY_PUBLISH_KEEP", "5",
            "How many published read-only copies to keep (older ones are deleted once no reader holds them)."),
    Setting("writer_memory", "CAPACITY_WRITER_MEMORY", "256MB",
            "Memory DuckDB may use in the ingest process (the warehouse's one writer), e.g. 256MB or 2GB; a "
            "large file's staging tables beyond it spill to a folder beside the warehouse, so a file of any "
            "size loads in bounded memory."),
    Setting("reader_poll_seconds", "CAPACITY_READER_POLL_SECONDS", "1.0",
            "How often a web worker checks for a newer published copy."),
    Setting("host", "CAPACITY_HOST", "127.0.0.1", "Address the dashboard listens on."),
    Setting("port", "CAPACITY_PORT", "8050", "Port the dashboard listens on."),
    Setting("workers", "CAPACITY_WORKERS", "2", "Web worker processes (gunicorn)."),
    Setting("threads", "CAPACITY_THREADS", "4", "Threads per web worker."),
    Setting("lang", "CAPACITY_LANG", "nl", "Language of command-line messages: nl or en."),
    Setting("demo_port", "CAPACITY_DEMO_PORT", "8051",
            "Port on 127.0.0.1 of the demo's feeds and HSDS API (capacity demo; capacity run without a "
            "configuration)."),
    Setting("production", "CAPACITY_PRODUCTION", "false",
            "true on a real deployment: `capacity serve` then refuses to start without CAPACITY_SECRET_KEY, and "
            "without login visitors may have at most the public role."),
    Setting("secret_key", "CAPACITY_SECRET_KEY", "",
            "Key that signs login sessions (at least 32 characters; the same for every web worker and restart). "
            "Required with login on or in production mode.", secret=True),
    Setting("login", "CAPACITY_LOGIN", "off",
            "How people log in: off (nobody logs in; everyone has CAPACITY_ANONYMOUS_ROLE), local (the users "
            "file, see `capacity users`), oidc (OpenID Connect, see CAPACITY_OIDC_*) or local,oidc."),
    Setting("anonymous_role", "CAPACITY_ANONYMOUS_ROLE", "",
            "Role of visitors who have not logged in: none (must log in), public, professional or steward. "
            "Empty: steward with login off (the demo), none with login on."),
    Setting("users_file", "CAPACITY_USERS_FILE", "",
            "Local users with argon2-hashed passwords (TOML). Empty: users.toml in the data folder."),
    Setting("session_hours", "CAPACITY_SESSION_HOURS", "8", "Hours a login stays valid."),
    Setting("oidc_issuer", "CAPACITY_OIDC_ISSUER", "",
            "OpenID Connect issuer URL (its /.well-known/openid-configuration is read)."),
    Setting("oidc_client_id", "CAPACITY_OIDC_CLIENT_ID", "", "OpenID Connect client id of this dashboard."),
    Setting("oidc_client_secret", "CAPACITY_OIDC_CLIENT_SECRET", "", "OpenID Connect client secret.",
            secret=True),
    Setting("oidc_role_claim", "CAPACITY_OIDC_ROLE_CLAIM", "roles",
            "Claim of the ID token (or userinfo) that holds the user's groups or roles."),
    Setting("oidc_roles", "CAPACITY_OIDC_ROLES", "",
            "Which claim values give which role, e.g. 'vt-medewerker=professional,datasteward=steward'. A user "
            "with none of them gets the anonymous role."),
    Setting("public_level", "CAPACITY_PUBLIC_LEVEL", "veilig_thuis",
            "The one region level the public role sees (one level only, so that levels cannot be subtracted "
            "from each other to reveal a hidden figure)."),
    Setting("behind_proxy", "CAPACITY_BEHIND_PROXY", "false",
            "true when a TLS-terminating reverse proxy sets X-Forwarded-For/-Proto (then HSTS is sent on HTTPS)."),
    Setting("smtp_host", "CAPACITY_SMTP_HOST", "",
            "Mail server (SMTP) the ingest process sends e-mail through, e.g. smtp.example.nl. Empty: no mail is "
            "sent; messages wait in the outbox until a server is set."),
    Setting("smtp_port", "CAPACITY_SMTP_PORT", "587",
            "Port of the mail server: usually 587 with starttls, 465 with tls, 25 with none."),
    Setting("smtp_security", "CAPACITY_SMTP_SECURITY", "starttls",
            "How the connection to the mail server is encrypted: starttls (upgrade after connecting), tls "
            "(encrypted from the start) or none (only for a relay on the same machine or network; a user and "
            "password are then refused)."),
    Setting("smtp_user", "CAPACITY_SMTP_USER", "",
            "User name to log in to the mail server. Empty: send without logging in."),
    Setting("smtp_password", "CAPACITY_SMTP_PASSWORD", "", "Password of CAPACITY_SMTP_USER at the mail server.",
            secret=True),
    Setting("mail_from", "CAPACITY_MAIL_FROM", "",
            "Sender of every e-mail, e.g. 'Capaciteit <noreply@example.nl>'. Required when CAPACITY_SMTP_HOST is "
            "set; its domain also names the messages (Message-ID)."),
    Setting("public_url", "CAPACITY_PUBLIC_URL", "http://127.0.0.1:8050",
            "Address of the dashboard as people reach it (behind a proxy: the proxy's https address), used for "
            "links in e-mails."),
    Setting("webhook_hosts", "CAPACITY_WEBHOOK_HOSTS", "",
            "Host names (comma-separated) that alert webhooks may call, e.g. 'hooks.example.nl'. Empty: no webhooks "
            "(deny by default; a host not listed is refused when subscribing and again when sending)."),
    Setting("alert_settle_minutes", "CAPACITY_ALERT_SETTLE_MINUTES", "120",
            "After an alert about something (a region's combination, a threshold, a source), the next alert about "
            "the same thing waits at least this many minutes; if it is back to what was last told by then, "
            "nothing is sent (no storm of messages when a status flaps)."),
    Setting("digest_schedule", "CAPACITY_DIGEST_SCHEDULE", "mon 07:00",
            "When the weekly digest goes out, in Dutch time: a weekday (mon ... sun) and a time, e.g. 'fri 16:30'. "
            "A digest missed while the ingest process was down goes out when it starts again (once per week)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}

# Status thresholds of DESIGN.md ("Status, first rule that holds"). Norms per care type and
# freshness windows are data: data/reference/care_domain.toml, loaded into care_type at init.
GREY_WHEN_FRESH_SHARE_BELOW = 0.5      # grey when 2 x services_fresh < services
RED_WHEN_NORM_GAP_SHARE_AT_LEAST = 0.2  # red when norm_gap >= 20% of norm_places
PUBLIC_MIN_SERVICES = 3                 # public views suppress cells built on fewer services
HISTORY_ROLE = "professional"           # figures at another moment than now (pages, API, digest's week ago
                                        # and trend): the public sees the current picture only
# Every "more than" and "at least" of a status rule is decided on the exact value: the population split
# makes fractions that floating point computes a hair off (3.5 waiting against 3.5 free is no unmet
# demand), so differences within this tolerance, far below display precision (0.1), count as equal.
EXACT_TOLERANCE = 1e-9
CHILD_SHARE_OF_15_24 = 0.3              # children 0-17 = 0-14 + 3/10 of 15-24 (no 0-17 band in CBS)


def get(name: str) -> str:
    """The value of a setting: its environment variable when set, else its default."""
    setting = _BY_NAME[name]
    return os.environ.get(setting.env) or setting.default


def data_dir(override: str | None = None) -> Path:
    """The data folder: --data-dir, else CAPACITY_DATA_DIR, else ./data."""
    return Path(override or get("data_dir")).resolve()


def config_path(override: str | None = None) -> Path:
    """The sources configuration: --config, else CAPACITY_CONFIG, ./sources.toml, or examples/sources.toml."""
    return chosen_config_path(override) or EXAMPLES_DIR / "sources.toml"


def chosen_config_path(override: str | None = None) -> Path | None:
    """The sources configuration chosen explicitly: --config, CAPACITY_CONFIG or ./sources.toml; else None."""
    chosen = override or get("config")
    if chosen:
        return Path(chosen).resolve()
    local = Path("sources.toml")
    return local.resolve() if local.is_file() else None
