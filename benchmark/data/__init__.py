"""Task data: task definitions (labels, splits, recipes, language sets), languages, data sources in
their layouts (panx, Rahimi, CoNLL, hub parquet), the CoNLL reader and writer, and validation."""
