"""Trainers (gan, pose) and the plumbing they share (common): torchrun-ready and resumable."""
