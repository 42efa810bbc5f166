"""The `--device` values of the inference commands, free of torch so `--help` and argument
checks stay quick (engine.models.device resolves them)."""
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")

# `--backend` of G (engine.models.inference.InferenceGenerator): the float32 reference or int8
# on the CPU. "torch" stays the default until int8's evaluation is at least as good (model card).
GENERATOR_BACKENDS: tuple[str, ...] = ("torch", "int8")
DEFAULT_GENERATOR_BACKEND = "torch"
