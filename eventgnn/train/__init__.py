"""Training: tasks (losses and metrics), the engine (fit / evaluate / checkpoints), finetuning."""
