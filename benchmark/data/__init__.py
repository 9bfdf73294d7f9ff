"""WikiANN-style NER data: text layouts, data sources, validation."""
