"""The `xbench` command line (click): `benchmark.cli:main` is the console script, and
`python -m benchmark.cli` runs it too."""

from benchmark.cli.app import cli, main  # noqa: F401  (the console script and the tests use these)
