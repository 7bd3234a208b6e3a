"""`poelis-pipelines fake-api`: serve the fake Poelis API until Ctrl-C (also `python -m ...fake_api.cli`).

Ctrl-C or SIGTERM at any moment from `main` on (while the organization is generated, the banner printed, or
requests served) stops it without a traceback, exiting like every `poelis-pipelines` command stopped by a
signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

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


class _Stopped:
    by: int | None = None  # the signal


def _stop(signum: int, _frame: FrameType | None) -> None:
    """The first Ctrl-C or SIGTERM raises `KeyboardInterrupt`; later ones are ignored: stopping finishes."""
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    _Stopped.by = signum
    raise KeyboardInterrupt


def _exit_code() -> int:
    return 0 if _Stopped.by is None else 128 + _Stopped.by


def stop_on_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)


def run(args: argparse.Namespace) -> int:
    server: FakePoelisServer | None = None
    try:
        stop_on_signals()
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
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
    print("stopped", flush=True)
    return _exit_code()


def main(argv: list[str] | None = None) -> int:
    stop_on_signals()
    try:
        parser = argparse.ArgumentParser(prog="poelis-pipelines fake-api", description=__doc__)
        add_arguments(parser)
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:  # before `run` took over
        return _exit_code()


if __name__ == "__main__":
    sys.exit(main())
