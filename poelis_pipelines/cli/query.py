"""`poelis-pipelines query [NAME]`: run one of the example analyst queries of `sql/queries/` and print it.

The files name the default schema (`poelis.`) so analysts can paste them anywhere; this command runs the
packaged copy against the configured warehouse and schema. With no NAME it lists the queries.
"""

from __future__ import annotations

import argparse
import os
import sys

import sqlalchemy as sa

from poelis_pipelines.cli.output import EXIT_CONFIG, EXIT_OK, Output
from poelis_pipelines.cli.sync_command import target_warehouse
from poelis_pipelines.warehouse.queries import example_queries, in_schema, summary


def _list_queries(output: Output) -> int:
    queries = example_queries()
    width = max(map(len, queries))
    for name, path in queries.items():
        output.line(f"{name:<{width}}  {summary(path.read_text(encoding='utf-8'))}")
    output.line("\nrun one with: poelis-pipelines query NAME [--schema S] [--warehouse-url URL]")
    return EXIT_OK


def run_query(args: argparse.Namespace, output: Output) -> int:
    if args.name is None:
        return _list_queries(output)
    queries = example_queries()
    if args.name not in queries:
        output.error(f"no query named {args.name!r}; the queries are: {', '.join(queries)}")
        return EXIT_CONFIG
    with target_warehouse(args) as warehouse:
        if warehouse.duckdb_file is not None and not warehouse.duckdb_file.exists():
            output.error(f"no warehouse at {warehouse.duckdb_file}: run `poelis-pipelines sync` first")
            return EXIT_CONFIG
        sql = in_schema(queries[args.name].read_text(encoding="utf-8"), warehouse.schema)
        try:
            result = warehouse.query(sql)
        except sa.exc.DBAPIError as error:
            hint = (
                f"query {args.name} failed (has a sync created the tables and views of {warehouse.schema}?)"
            )
            return output.fail(error, EXIT_CONFIG, context=hint)
    try:
        output.line(result.to_string(index=False, max_colwidth=40) if len(result) else "(no rows)")
    except BrokenPipeError:  # `... | head` stopped reading: what it read was what was wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail too
    return EXIT_OK
