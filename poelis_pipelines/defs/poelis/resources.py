"""Dagster resources: the Poelis API client, the warehouse and what a sync fetches.

Every field is optional and may be a `dg.EnvVar`; an unset one falls back on its environment variable, read
when a run starts, so definitions load with no secret set and a rotated key needs no restart.
"""

import os
from datetime import timedelta
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from poelis_pipelines import settings
from poelis_pipelines.client import ConfigurationError, PoelisClient, RequestBudgetExhausted
from poelis_pipelines.client.config import read_key_file, resolve_allow_insecure_http
from poelis_pipelines.incremental import IncrementalSettings, parse_duration
from poelis_pipelines.versions import resolve_versions_mode
from poelis_pipelines.warehouse import Warehouse


class PoelisResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Authenticated access to one Poelis organization's Public API.

    The key is never a plain-string default: definitions leave it unset, so the client reads
    `POELIS_API_KEY` / `POELIS_API_KEY_FILE` when a run first calls the API, exactly as the CLI does (same
    errors, a rotated key needs no restart, the key is never in run config or run storage). One client per
    run; the clients of one key in a process share one rate limiter, so the CLI's runs in one process pace
    as one.

    Example::

        import dagster as dg
        from poelis_pipelines import PoelisResource, build_poelis_defs

        defs = build_poelis_defs(
            poelis=PoelisResource(api_key=dg.EnvVar("ACME_POELIS_API_KEY"), quota_share=0.5)
        )
    """

    api_key: str | None = Field(
        default=None,
        description="Poelis REST API key; unset: POELIS_API_KEY or POELIS_API_KEY_FILE, read at run time.",
    )
    api_key_file: str | None = Field(
        default=None, description="Path of a file holding the key (the Kubernetes/Docker secret convention)."
    )
    base_url: str | None = Field(
        default=None, description=f"API host; default: $POELIS_BASE_URL, else {settings.DEFAULT_BASE_URL}."
    )
    timeout_seconds: float = Field(
        default=settings.DEFAULT_TIMEOUT_SECONDS, description="Per-request timeout."
    )
    max_attempts: int | None = Field(
        default=None,
        description=f"Attempts per request; default: ${settings.ENV_MAX_ATTEMPTS}, "
        f"else {settings.DEFAULT_MAX_ATTEMPTS}.",
    )
    backoff_seconds: float | None = Field(
        default=None,
        description=f"First back-off between attempts (doubles each time); default: "
        f"${settings.ENV_BACKOFF_SECONDS}, else {settings.DEFAULT_BACKOFF_SECONDS}.",
    )
    max_concurrency: int = Field(
        default=settings.DEFAULT_MAX_CONCURRENCY, description="Parallel property requests."
    )
    requests_per_minute: int | None = Field(
        default=None, description="Optional cap below the plan's limit, to leave quota for other tools."
    )
    allow_insecure_http: bool | None = Field(
        default=None,
        description="Allow plain http to a non-loopback host (behind a TLS-terminating proxy); default: "
        f"${settings.ENV_ALLOW_INSECURE_HTTP} (1/true/yes), else no.",
    )
    quota_share: float | None = Field(
        default=None,
        description="Part of each rate-limit window the sync may spend (above 0, at most 1), leaving the "
        f"rest to the organization's other integrations; default: ${settings.ENV_QUOTA_SHARE}, "
        f"else {settings.DEFAULT_QUOTA_SHARE}.",
    )
    max_requests: int | None = Field(
        default=None,
        description="Requests one run may send; once spent, the run commits what it fetched and succeeds, "
        f"the rest waits for the next run; default: ${settings.ENV_MAX_REQUESTS}, else no limit (the "
        "schedule gives each run a budget that fits its interval).",
    )

    _client: PoelisClient | None = PrivateAttr(default=None)

    def get_client(self, run_budget: int | None = None) -> PoelisClient:
        """The run's client, built on first use: inside the asset (or sensor) body, so a missing or bad key
        fails the run with the client's one sentence rather than a resource-initialization error.

        `run_budget`: the requests the run may send when `max_requests` sets none (the schedule's budget for
        its interval, what a CLI sync has left), else `POELIS_MAX_REQUESTS`."""
        if self._client is None:
            self._client = PoelisClient(
                self.api_key
                or (
                    read_key_file(Path(self.api_key_file), source="api_key_file")
                    if self.api_key_file
                    else None
                ),
                self.base_url,
                timeout=self.timeout_seconds,
                max_attempts=self.max_attempts,
                backoff_seconds=self.backoff_seconds,
                max_concurrency=self.max_concurrency,
                requests_per_minute=self.requests_per_minute,
                quota_share=self.quota_share,
                max_requests=self.max_requests if self.max_requests is not None else run_budget,
                allow_insecure_http=self.insecure_http_allowed(),
            )
        return self._client

    def insecure_http_allowed(self) -> bool:
        """`allow_insecure_http`, else `POELIS_ALLOW_INSECURE_HTTP` (read now)."""
        return resolve_allow_insecure_http(self.allow_insecure_http)

    def advertised_rate_limit(self) -> int | None:
        """The limit the API advertised to a client of this key in this process (None: none seen yet, or no
        usable key); sends no request."""
        try:
            return self.get_client().advertised_rate_limit
        except ConfigurationError:
            return None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class PoelisSyncSettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """What a sync fetches: incremental properties (the default for the CLI, the schedule and the sensor)
    or every item's properties (`full`), and the staleness bound an incremental run keeps.

    Also which published versions a sync stores (`versions`: none, baseline or all).

    A resource rather than an asset's run config: the CLI hands it over per run as resource config, a
    deployment sets it once in its `Definitions` (or per run in the launchpad), and the schedule, the sensor
    and the UI's materializations then all sync the same way without repeating a config block.

    Example::

        from poelis_pipelines import PoelisSyncSettings, build_poelis_defs

        defs = build_poelis_defs(sync_settings=PoelisSyncSettings(max_staleness="6h", versions="all"))
    """

    full: bool = Field(
        default=False, description="List every item's properties (exact, about one request per item)."
    )
    max_staleness: str | None = Field(
        default=None,
        description="Incremental runs re-list every live item's properties within this bound (e.g. 6h, "
        f"2d; 0: every item is due now); default: ${settings.ENV_MAX_STALENESS}, "
        f"else {settings.DEFAULT_MAX_STALENESS}.",
    )
    versions: str | None = Field(
        default=None,
        description=f"Published versions to store: none, baseline (each product's baseline version) or all; "
        f"default: ${settings.ENV_VERSIONS}, else {settings.DEFAULT_VERSIONS}.",
    )

    def versions_mode(self) -> str:
        """The versions mode, read when a run starts; a bad value is a configuration error."""
        return resolve_versions_mode(self.versions)

    def staleness_bound(self) -> timedelta:
        """The bound, read when a run starts; a bad value is a configuration error."""
        raw = self.max_staleness or os.environ.get(settings.ENV_MAX_STALENESS, "").strip()
        source = "max_staleness" if self.max_staleness else f"${settings.ENV_MAX_STALENESS}"
        try:
            return parse_duration(raw or settings.DEFAULT_MAX_STALENESS)
        except ValueError as error:
            raise ConfigurationError(f"{source}: {error}") from None

    def incremental(
        self, max_items: int | None, due_within: timedelta = timedelta(0)
    ) -> IncrementalSettings | None:
        """The incremental settings of a properties run (None: `full`); a spent request budget ends it."""
        if self.full:
            return None
        return IncrementalSettings(
            self.staleness_bound(),
            max_items=max_items,
            budget_errors=(RequestBudgetExhausted,),
            due_within=due_within,
        )


class PoelisWarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The SQL warehouse the assets load into (any SQLAlchemy URL; embedded DuckDB by default).

    A URL holding a password belongs in an `EnvVar`: Dagster stores the values a resource is built with in
    its run storage, and an `EnvVar` as the variable's name only.

    Example::

        import dagster as dg
        from poelis_pipelines import PoelisWarehouseResource, build_poelis_defs

        defs = build_poelis_defs(
            warehouse=PoelisWarehouseResource(url=dg.EnvVar("WAREHOUSE_URL"), schema_name="poelis")
        )
    """

    url: str | None = Field(
        default=None,
        description=f"SQLAlchemy URL; default: $POELIS_WAREHOUSE_URL, else {settings.DEFAULT_WAREHOUSE_URL}.",
    )
    schema_name: str | None = Field(
        default=None,
        description=f"Schema; default: $POELIS_WAREHOUSE_SCHEMA, else {settings.DEFAULT_WAREHOUSE_SCHEMA}.",
    )

    def resolved_url(self) -> str:
        return self.url or os.environ.get(settings.ENV_WAREHOUSE_URL) or settings.DEFAULT_WAREHOUSE_URL

    def resolved_schema(self) -> str:
        return (
            self.schema_name
            or os.environ.get(settings.ENV_WAREHOUSE_SCHEMA)
            or settings.DEFAULT_WAREHOUSE_SCHEMA
        )

    _ensured: bool = PrivateAttr(default=False)

    def target(self) -> Warehouse:
        """The warehouse, its tables not yet ensured (the CLI's reads, locks and checks); the caller closes
        it."""
        return Warehouse(self.resolved_url(), self.resolved_schema())

    def open(self) -> Warehouse:
        """A ready warehouse (schema and tables created or migrated); the caller closes it.

        The schema is ensured on the first open of a run only: the steps of one run share this resource, and
        even a current warehouse costs `ensure()` a connection and a fingerprint read (~30 ms on DuckDB).
        """
        warehouse = self.target()
        if not self._ensured:
            try:
                warehouse.ensure()
            except BaseException:
                warehouse.close()
                raise
            self._ensured = True
        return warehouse
