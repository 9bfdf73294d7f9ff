"""NER task data: CoNLL-style text layouts, data sources, validation."""
