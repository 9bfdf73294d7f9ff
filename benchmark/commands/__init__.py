"""What the CLI commands show, as library functions that build their tables (languages, models,
cache, status), one module per command; the click layer in benchmark/cli/ calls them."""
