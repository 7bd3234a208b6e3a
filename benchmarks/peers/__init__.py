"""The peers a user could pick instead of this package, each run as its own process by `benchmarks`.

Every peer module is run as `python -m benchmarks.peers.<name> BASE_URL DATABASE` with the key in
`POELIS_API_KEY`, copies workspaces -> products -> items -> properties (soft-deleted included) into the
DuckDB file DATABASE, and prints one JSON line: the tables it wrote, as the benchmark counts their rows.
"""
