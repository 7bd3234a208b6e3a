"""Fake API throughput: list requests per second over keep-alive `requests.Session`s.

    python -m benchmarks.bench_fake_api [--seconds 3] [--scale tiny]

The server runs in a child process (`python -m poelis_pipelines.fake_api.cli`) so it does not share a
GIL with the clients. Clients are 1 process x 1 thread, 1 x 4 and 2 x 2: one `requests` process tops out
near 1,500 requests/s on its own CPU, so only several client processes show the server's capacity. The
workload is a sync's mix of item and property list pages (1 to 200 records each). The peer, measured in
the same run, is the cheapest stdlib server (a fixed 2-byte body from a `ThreadingHTTPServer`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import requests

from poelis_pipelines import settings

_PEER_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H); s.daemon_threads = True
print(f"http://127.0.0.1:{s.server_address[1]}", flush=True); s.serve_forever()
"""


@contextmanager
def _child_server(command: list[str]) -> Iterator[str]:
    """Start a server process and yield the base URL it prints on its first line starting with a URL."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "http://" in line:
                url = line[line.index("http://") :].split()[0]
                break
        else:
            raise RuntimeError(f"server exited without printing its URL: {command}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _discover(base_url: str, api_key: str) -> list[str]:
    """Request URLs of a realistic sync mix: item and property list pages."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {api_key}"
        prefix = base_url + settings.API_PREFIX
        urls = []
        for workspace in session.get(f"{prefix}/workspaces").json()["items"]:
            products = session.get(f"{prefix}/products", params={"workspace_id": workspace["id"]}).json()
            for product in products["items"]:
                urls.append(f"{prefix}/items?product_id={product['id']}&limit=50")
                items = session.get(
                    f"{prefix}/items", params={"product_id": product["id"], "limit": 20}
                ).json()
                urls.extend(f"{prefix}/properties?item_id={item['id']}&limit=200" for item in items["items"])
        return urls


def _count_requests(urls: list[str], api_key: str, threads: int, start_at: float, seconds: float) -> int:
    """Requests completed by `threads` keep-alive sessions between `start_at` and `start_at + seconds`."""
    done = [0] * threads
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.time() + seconds

    def worker(index: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {api_key}"
            position = index
            while time.time() < deadline:
                response = session.get(urls[position % len(urls)])
                if response.status_code != 200:
                    raise RuntimeError(f"unexpected {response.status_code}: {response.text[:200]}")
                position += threads
                done[index] += 1

    pool = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done)


def _requests_per_second(
    urls: list[str], api_key: str, processes: int, threads: int, seconds: float
) -> float:
    """Aggregate rate of `processes` client processes with `threads` sessions each, over one shared window."""
    start_at = time.time() + 1.5  # after every process has imported requests
    with ProcessPoolExecutor(max_workers=processes) as executor:
        futures = [
            executor.submit(_count_requests, urls, api_key, threads, start_at, seconds)
            for _ in range(processes)
        ]
        return sum(future.result() for future in futures) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--scale", default="tiny")
    args = parser.parse_args(argv)

    from poelis_pipelines.fake_api.dataset import api_key_for

    seed = 0
    api_key = api_key_for(seed)
    fake_command = [sys.executable, "-m", "poelis_pipelines.fake_api.cli", "--port", "0"]
    fake_command += ["--seed", str(seed), "--scale", args.scale]
    rows = []
    with (
        _child_server(fake_command) as fake_url,
        _child_server([sys.executable, "-c", _PEER_SERVER]) as peer_url,
    ):
        urls = _discover(fake_url, api_key)
        peer_urls = [peer_url + "/"]
        for processes, threads in ((1, 1), (1, 4), (2, 2)):
            fake = _requests_per_second(urls, api_key, processes, threads, args.seconds)
            peer = _requests_per_second(peer_urls, api_key, processes, threads, args.seconds)
            rows.append((processes, threads, fake, peer))
    print(f"fake API list requests/s ({args.scale}, {len(urls)} distinct list URLs, {os.cpu_count()} CPUs)")
    print(
        f"{'client processes x threads':>26} {'fake req/s':>11} {'stdlib floor req/s':>19} {'fake/floor':>10}"
    )
    for processes, threads, fake, peer in rows:
        label = f"{processes} x {threads}"
        print(f"{label:>26} {fake:>11.0f} {peer:>19.0f} {fake / peer:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
