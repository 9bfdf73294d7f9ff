"""`xbench bench`: speed measured side by side with the obvious alternatives (transformers'
Trainer, seqeval, a naive bootstrap, an older checkout)."""
