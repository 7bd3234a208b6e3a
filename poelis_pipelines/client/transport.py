"""Keep-alive HTTP connections to the one API origin, on urllib3 with the environment's proxy and CA bundle.

urllib3 directly rather than requests: requests adds about 0.8 ms of CPU per request (hooks, cookie jars,
per-request environment lookups), several CPU-seconds over a sync of tens of thousands of requests. What
requests read from the environment on every request is read here once, when the client is built (as the key).
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from urllib3.exceptions import ProxySchemeUnknown

from .errors import ConfigurationError
from .secrets import register_secret, scrub

# Where requests, OpenSSL and curl users point at their organization's CA bundle; the first set wins.
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


class Transport:
    """A connection pool to the API origin, shared by the fan-out threads (urllib3's pools are thread-safe).

    urllib3's own retries are off, so tenacity stays the one retry layer, and so are redirects: following
    one could hand the key to another host.
    """

    def __init__(self, base_url: str, *, size: int, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        proxy_url = environment_proxy(base_url)
        tls = ca_bundle_options()
        manager: urllib3.PoolManager
        if proxy_url is None:
            manager = urllib3.PoolManager(maxsize=size, **tls)
        else:
            manager = _proxy_manager(proxy_url, size=size, tls=tls)
        self._manager = manager
        self._pool = manager.connection_from_url(base_url)
        # A plain-http request through a proxy is forwarded, not tunnelled: the proxy needs the absolute URL.
        forwarded = proxy_url is not None and parts.scheme == "http"
        self._target_prefix = base_url if forwarded else parts.path
        self._headers = {**headers, "Host": parts.netloc} if forwarded else dict(headers)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)

    def get(self, target: str) -> urllib3.BaseHTTPResponse:
        """`GET` the base URL's path + `target`, body read; raises urllib3's exceptions as they come."""
        return self._pool.urlopen(
            "GET",
            self._target_prefix + target,
            headers=self._headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=self._timeout,
            preload_content=True,
        )

    def close(self) -> None:
        self._manager.clear()


def environment_proxy(base_url: str) -> str | None:
    """The proxy the environment sets for `base_url` (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, lower case
    first), or None when there is none or `NO_PROXY` exempts the host."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or _bypasses_proxy(parts.hostname or "", proxies.get("no", "")):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # as requests reads `proxy:3128`


def _bypasses_proxy(host: str, no_proxy: str) -> bool:
    """`NO_PROXY` as the standard library reads it (names, domain suffixes, `*`), plus the CIDR ranges
    (`10.0.0.0/8`) in `no_proxy` that curl and requests also honour and the standard library does not."""
    if urllib.request.proxy_bypass(host):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in no_proxy.split(","):
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:  # a host name, a suffix or `*`: the standard library's part
            continue
    return False


def ca_bundle_options() -> dict[str, Any]:
    """urllib3's certificate options: verification on, against the bundle the environment names, else
    certifi's (what requests used)."""
    bundle = next((os.environ[name] for name in _CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    if bundle and os.path.isdir(bundle):
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": bundle}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": bundle or certifi.where()}


def _proxy_manager(proxy_url: str, *, size: int, tls: Mapping[str, Any]) -> urllib3.ProxyManager:
    """A ProxyManager that authenticates with the credentials in the proxy URL, which stay out of messages."""
    parts = urlsplit(proxy_url)
    proxy_headers: dict[str, str] = {}
    if parts.username is not None:
        password = unquote(parts.password or "")
        register_secret(password)
        proxy_headers = urllib3.make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{password}")
    try:
        return urllib3.ProxyManager(proxy_url, maxsize=size, proxy_headers=proxy_headers, **tls)
    except (ProxySchemeUnknown, ValueError) as error:
        raise ConfigurationError(
            f"The proxy {scrub(proxy_url)!r} from the environment is unusable ({error}); "
            "set HTTPS_PROXY or HTTP_PROXY to an http:// or https:// proxy, or exempt the host in NO_PROXY."
        ) from None
