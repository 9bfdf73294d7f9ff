"""The results store: one checksummed JSON file per run and its per-sentence prediction sidecars,
where they live, how they are written atomically, and whether a stored score still stands."""
