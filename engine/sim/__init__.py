"""Depth simulator: render a hand to clean metric depth, then add a chosen sensor's artefacts."""
