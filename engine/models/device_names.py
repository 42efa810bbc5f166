"""The `--device` values of the inference commands, free of torch so `--help` and argument
checks stay quick (engine.models.device resolves them)."""
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")

# `--backend` of G (engine.models.inference.InferenceGenerator): the float32 reference, int8
# on the CPU, or bf16 autocast on CUDA; "auto" picks int8 on the CPU and torch on a GPU (bf16
# is asked for by name until its scores on a GPU have been measured: scripts/gpu_check.sh).
GENERATOR_BACKENDS: tuple[str, ...] = ("torch", "int8", "bf16")  # the backends that run
BACKEND_CHOICES: tuple[str, ...] = ("auto", *GENERATOR_BACKENDS)
BACKEND_HELP = ("torch (float32, the reference), int8 (CPU), bf16 (CUDA autocast; where one cannot run, "
                "G runs torch and says so) or auto: int8 on the CPU, torch on a GPU")
# What `evaluate` scores and what training and tools compare against: the checkpoint as trained.
REFERENCE_BACKEND = "torch"
# Where speed counts (the app, `generate`, `bench`, the dataset command): int8 on the CPU, since
# the shipped G's int8 evaluation is within the float32 one's 95 % intervals, raw and cut
# (generator_default.md, "int8"), at half its time on one thread.
RUNTIME_BACKEND = "auto"
