"""The `--device` values of the inference commands, free of torch so `--help` and argument
checks stay quick (engine.models.device resolves them)."""
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
