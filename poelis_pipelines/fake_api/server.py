"""`FakePoelisServer`: the fake API on a loopback port, for the demo, the tests and the benchmarks."""

from __future__ import annotations

import ipaddress
import secrets
from collections import Counter
from collections.abc import Sequence
from types import TracebackType

from poelis_pipelines import settings
from poelis_pipelines.fake_api.api import FakeApi, FakeOrganization, Faults, RateLimit
from poelis_pipelines.fake_api.dataset import FakeDataset, generate_organization
from poelis_pipelines.fake_api.mutation import Mutation, apply_mutation
from poelis_pipelines.fake_api.transport import HttpServer


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakePoelisServer:
    """A faithful fake of the Poelis Public API serving one or more organizations on loopback.

    With no `organizations`, it generates two from `seed` and `scale` (the second, tiny, so cross-
    organization tests have somewhere to look). Use as a context manager or call `start()`/`stop()`.
    `faults` and `rate_limit` may be reassigned while it runs.
    """

    def __init__(
        self,
        organizations: Sequence[FakeOrganization] | None = None,
        *,
        seed: int = 0,
        scale: str = "tiny",
        rate_limit: RateLimit | None = None,
        faults: Faults | None = None,
        host: str = settings.FAKE_API_HOST,
        port: int = 0,
        allow_non_loopback: bool = False,
    ) -> None:
        if not allow_non_loopback and not _is_loopback(host):
            raise ValueError(
                f"refusing to serve the fake API on non-loopback host {host!r}: anyone could use its public "
                "demo key; pass allow_non_loopback=True (--allow-non-loopback) if you mean it"
            )
        if organizations is None:
            organizations = [
                FakeOrganization(generate_organization(seed, scale)),
                FakeOrganization(generate_organization(seed + 1, "tiny")),
            ]
        if not organizations:
            raise ValueError("a fake server needs at least one organization")
        self.organizations: list[FakeOrganization] = list(organizations)
        self._api = FakeApi(self.organizations, rate_limit, faults)
        self._host = host
        self._port = port
        self._http: HttpServer | None = None

    # --- lifecycle ---

    def start(self) -> FakePoelisServer:
        if self._http is None:
            self._http = HttpServer(self._host, self._port, self._api.handle, self._api.protocol_error)
            self._port = self._http.port
            self._http.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (clients see a reset, as in an outage)."""
        if self._http is not None:
            self._http.stop()
            self._http = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the command line)."""
        self.start()
        try:
            while self._http is not None and self._http.wait(timeout=0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> FakePoelisServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- what clients need ---

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without the `/v1/public` prefix (like `https://api.poelis.com`)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def api_key(self) -> str:
        """The first organization's key."""
        return self.organizations[0].api_key

    @property
    def dataset(self) -> FakeDataset:
        """The first organization's `FakeDataset`."""
        return self.organizations[0].dataset

    def revoke_key(self, api_key: str) -> None:
        """Make `api_key` invalid from the next request on (401)."""
        self._api.revoke_key(api_key)

    def issue_key(self, organization: FakeOrganization | None = None) -> str:
        """Mint an additional valid key for an organization (default: the first), e.g. for rotation."""
        api_key = settings.API_KEY_PREFIX + secrets.token_urlsafe(32)
        self._api.add_key(api_key, organization or self.organizations[0])
        return api_key

    @property
    def faults(self) -> Faults:
        return self._api.faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        self._api.faults = value

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._api.limiter.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | None) -> None:
        self._api.limiter.rate_limit = value

    def mutate(self, seed: int, organization: FakeOrganization | None = None) -> Mutation:
        """Change the draft of an organization (default: the first) as users would between two syncs."""
        return apply_mutation((organization or self.organizations[0]).dataset, seed)

    @property
    def counters(self) -> Counter[tuple[str, int]]:
        """Requests so far by (route template, status); a dropped connection counts as status 0."""
        return self._api.counters

    @property
    def window_counters(self) -> Counter[tuple[str, str, int]]:
        """Requests with a valid key by (rate-limit window, as its `X-RateLimit-Reset`; route template;
        status): what the organizations spent in each window (whole-second Resets tell apart windows of 1 s
        or more)."""
        return self._api.window_counters

    @property
    def total_requests(self) -> int:
        return sum(self._api.counters.values())

    def reset_counters(self) -> None:
        self._api.reset_counters()

    def __repr__(self) -> str:
        state = "running" if self._http else "stopped"
        return f"<FakePoelisServer {self.base_url} {state} organizations={len(self.organizations)}>"
