"""Every constant the package shares, in one place (the dlt verified-source convention).

Nothing here reads the environment at import time: the names of the variables live here, their values are
read when a client, resource or command is built, so a rotated key or a changed URL takes effect on the
next run without a restart.
"""

from __future__ import annotations

# --- Poelis Public API (SPEC.md sections 0, 1, 7, 8) ---
DEFAULT_BASE_URL = "https://api.poelis.com"
API_PREFIX = "/v1/public"
API_KEY_PREFIX = "poelis_api_"
API_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
API_KEY_MIN_LENGTH = 32
API_KEY_MAX_LENGTH = 128
KEY_MANAGEMENT_HINT = "create a new key in the Poelis web app under Settings -> Manage REST API Keys"

MAX_PAGE_SIZE = 200
DEFAULT_API_PAGE_SIZE = 50  # what the API uses when `limit` is omitted
DEFAULT_RATE_LIMIT_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_BURST = 10
RATE_LIMIT_WINDOW_SECONDS = 60.0

PROPERTY_TYPES = ("numeric", "text", "date", "status", "matrix", "formula")
STATUS_VALUES = ("Draft", "Under Review", "Done")

# --- Client defaults ---
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_MAX_CONCURRENCY = 4
MAX_RETRY_AFTER_SECONDS = 120.0
# The part of each rate-limit window (of X-RateLimit-Limit) a client may spend; the rest, and the burst, is
# left to the organization's other integrations. 1 spends the whole window, burst included.
ENV_QUOTA_SHARE = "POELIS_QUOTA_SHARE"
DEFAULT_QUOTA_SHARE = 0.8
ENV_MAX_REQUESTS = "POELIS_MAX_REQUESTS"  # requests one client (one run) may send; unset: no limit

# --- Environment variables (names only; read at use) ---
ENV_API_KEY = "POELIS_API_KEY"
ENV_API_KEY_FILE = "POELIS_API_KEY_FILE"
ENV_BASE_URL = "POELIS_BASE_URL"
ENV_WAREHOUSE_URL = "POELIS_WAREHOUSE_URL"
ENV_WAREHOUSE_SCHEMA = "POELIS_WAREHOUSE_SCHEMA"
ENV_SYNC_CRON = "POELIS_SYNC_CRON"
ENV_TEST_POSTGRES_URL = "POELIS_TEST_POSTGRES_URL"
ENV_ALLOW_INSECURE_HTTP = "POELIS_ALLOW_INSECURE_HTTP"  # 1/true/yes: plain http to a non-loopback API host
TRUE_WORDS = ("1", "true", "yes")  # what a yes/no environment variable accepts as yes (any case)
FALSE_WORDS = ("", "0", "false", "no")

# --- Warehouse ---
DEFAULT_WAREHOUSE_URL = "duckdb:///data/warehouse.duckdb"
DEFAULT_WAREHOUSE_SCHEMA = "poelis"

# --- Dagster ---
ASSET_KEY_PREFIX = "poelis"
API_CONCURRENCY_POOL = "poelis_api"
DEFAULT_SYNC_CRON = "0 * * * *"  # hourly incremental runs, each within a budget that fits the hour
SYNC_TIMEZONE = "UTC"
WORKSPACE_PARTITIONS_NAME = "poelis_workspaces"

# --- Client retries (backoff between attempts; 429 waits follow Retry-After instead) ---
DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_MAX_BACKOFF_SECONDS = 30.0

# --- Warehouse internals (tables, normalize, warehouse layers) ---
WAREHOUSE_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"  # schema and table names we format into SQL
WAREHOUSE_STAGE_CHUNK_ROWS = 100_000  # rows converted and sent per bulk-load chunk (bounds memory)
WAREHOUSE_SCOPE_ALL = "*"  # sync_runs.scope of a table listed as a whole (workspaces)
# Records a level fetches ahead of its merges, and the most one merge takes: scopes already fetched are
# merged together (one transaction, one set of statements) up to this many records.
SYNC_MERGE_RECORDS = 10_000
# Incremental properties: items listed per fetch unit (a crash or a spent budget costs at most one unit's
# requests), and the share of a run's item budget that always goes to the items listed longest ago.
SYNC_ITEMS_PER_FETCH = 25
DEFAULT_ROTATION_FLOOR = 0.25
# Incremental syncs: every live item's properties are re-listed within this bound (CLI --max-staleness).
ENV_MAX_STALENESS = "POELIS_MAX_STALENESS"
DEFAULT_MAX_STALENESS = "24h"
# A scheduled run's request budget is share x limit x its interval, less this part, so runs never pile up.
SCHEDULED_RUN_BUDGET_MARGIN = 0.1
# Published versions (immutable, fetched once): which ones a sync stores (`none`, `baseline`: each product's
# baseline only, `all`), and how often a product is probed for a version newer than those it knows.
ENV_VERSIONS = "POELIS_VERSIONS"
VERSIONS_NONE = "none"
VERSIONS_BASELINE = "baseline"
VERSIONS_ALL = "all"
VERSIONS_CHOICES = (VERSIONS_NONE, VERSIONS_BASELINE, VERSIONS_ALL)
DEFAULT_VERSIONS = VERSIONS_BASELINE
VERSION_PROBE_INTERVAL_HOURS = 24
VERSION_STATUSES = ("pending", "complete", "missing")

# --- Fake Poelis API (poelis_pipelines.fake_api) ---
FAKE_API_HOST = "127.0.0.1"
FAKE_API_PORT = 8765
FAKE_API_DEFAULT_SCALE = "small"

# --- Reliability (CLI resume and the one-sync-at-a-time lock; client retry knobs read at run time) ---
ENV_MAX_ATTEMPTS = "POELIS_MAX_ATTEMPTS"
ENV_BACKOFF_SECONDS = "POELIS_BACKOFF_SECONDS"
CLI_SYNC_TABLE_NAME = "(cli sync)"  # sync_runs.table_name of the row recording a whole CLI sync
CLI_RESUME_WINDOW_HOURS = 24  # a CLI sync interrupted longer ago than this is not resumed
SYNC_LOCK_SUFFIX = ".sync-lock"  # lock file beside a file warehouse (DuckDB, SQLite) while a CLI sync runs

# --- Demo (`poelis-pipelines demo`, and `dev` with no key): its own warehouse and Dagster home under the
# current directory, whatever POELIS_* and DAGSTER_HOME say, so a demo never writes into real data ---
DEMO_DIR = "data/demo"
DEMO_WAREHOUSE_FILE = "warehouse.duckdb"
DEMO_DAGSTER_HOME = "dagster_home"
ENV_DEMO_MODE = "POELIS_DEMO_MODE"  # the sentence the UI shows while `dev` serves the fake API (unset: real)

# --- CLI progress (a sync's output when it is not a terminal: cron, CI, a pipe) ---
PROGRESS_LINE_SECONDS = 30.0  # one progress line this often
ENV_PROGRESS_LINE_SECONDS = "POELIS_PROGRESS_LINE_SECONDS"  # overrides it (tests set it low)
