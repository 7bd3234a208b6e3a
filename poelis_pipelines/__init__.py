"""poelis-pipelines: everything in a Poelis organization, in your SQL warehouse, kept fresh by Dagster."""

__version__ = "0.1.0"
