"""The `--device` values of the inference commands, free of torch so `--help` and argument
checks stay quick (engine.models.device resolves them)."""
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")

# `--backend` of G (engine.models.inference.InferenceGenerator): the float32 reference or int8
# on the CPU; "auto" picks int8 on the CPU and torch on a GPU.
GENERATOR_BACKENDS: tuple[str, ...] = ("torch", "int8")  # the backends that run
BACKEND_CHOICES: tuple[str, ...] = ("auto", *GENERATOR_BACKENDS)
# What `evaluate` scores and what training and tools compare against: the checkpoint as trained.
REFERENCE_BACKEND = "torch"
# Where speed counts (the app, `generate`, `bench`, the dataset command): int8 on the CPU, since
# the shipped G's int8 evaluation is within the float32 one's 95 % intervals, raw and cut
# (generator_default.md, "int8"), at half its time on one thread.
RUNTIME_BACKEND = "auto"
