"""A study as a grid of (model, seed, source) units: options, run identity, planning, the unit of
work itself, and the launchers (in-process, local GPUs, Slurm) that run units; also
evaluate-as-given, which scores a fine-tuned model without training."""
