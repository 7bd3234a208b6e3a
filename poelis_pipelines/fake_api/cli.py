"""`poelis-pipelines fake-api`: serve the fake Poelis API until Ctrl-C (also `python -m ...fake_api.cli`)."""

from __future__ import annotations

import argparse
import sys

from poelis_pipelines import settings
from poelis_pipelines.fake_api.api import RateLimit
from poelis_pipelines.fake_api.dataset import SCALES
from poelis_pipelines.fake_api.server import FakePoelisServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=settings.FAKE_API_HOST, help="interface to listen on (loopback)")
    parser.add_argument("--port", type=int, default=settings.FAKE_API_PORT, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same organization")
    parser.add_argument("--scale", choices=list(SCALES), default=settings.FAKE_API_DEFAULT_SCALE)
    parser.add_argument(
        "--rate-limit", type=int, default=None, metavar="N", help="requests per window (default: no limit)"
    )
    parser.add_argument("--burst", type=int, default=settings.DEFAULT_RATE_LIMIT_BURST, metavar="B")
    parser.add_argument("--window", type=float, default=settings.RATE_LIMIT_WINDOW_SECONDS, metavar="S")
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="serve on a non-loopback host (the demo key is public!)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        rate_limit = (
            RateLimit(args.rate_limit, args.burst, args.window) if args.rate_limit is not None else None
        )
        server = FakePoelisServer(
            seed=args.seed,
            scale=args.scale,
            rate_limit=rate_limit,
            host=args.host,
            port=args.port,
            allow_non_loopback=args.allow_non_loopback,
        ).start()
    except (ValueError, OSError, OverflowError) as error:  # a bad --rate-limit, --host or --port
        print(f"fake-api: {error}", file=sys.stderr)
        return 2
    limit = f"{rate_limit.limit}+{rate_limit.burst} per {rate_limit.window:g}s" if rate_limit else "off"
    print(f"Fake Poelis API ({args.scale}, seed {args.seed}) on {server.base_url}  rate limit: {limit}")
    print(f"  export {settings.ENV_BASE_URL}={server.base_url}")
    print(f"  export {settings.ENV_API_KEY}={server.api_key}   # a demo key for fake data only")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="poelis-pipelines fake-api", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
