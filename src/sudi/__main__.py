"""``python -m sudi``: the command line, for a child process started with this interpreter."""

from sudi.cli import app

app()
