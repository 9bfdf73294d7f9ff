"""`python -m benchmark.cli`: the xbench command line."""

from benchmark.cli.app import main

main()
