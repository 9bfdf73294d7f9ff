"""Fine-tuning a token classifier on the source language: the training loop, its checkpoints
(resume after preemption) and the optimiser."""
