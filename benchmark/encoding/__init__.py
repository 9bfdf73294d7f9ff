"""Turning tagged sentences into model windows: first-subword labels, sentences split at word
boundaries into windows, packed arrays, and the cache of encoded test splits shared by runs."""
