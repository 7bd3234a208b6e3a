"""`python -m poelis_pipelines` is the `poelis-pipelines` command."""

import sys

from poelis_pipelines.cli import main

sys.exit(main())
