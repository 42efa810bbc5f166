"""Projected Levenberg-Marquardt, shared by inverse kinematics and joint fitting.

Both problems are small (2-32 parameters) least squares with box bounds (joint limits, shape
ranges) and a finite-difference Jacobian that the caller evaluates in one batched FK call. A
rejected trial only raises the damping, so every iteration costs one evaluation; parameters
pinned at a bound and pushed further into it drop out of the step (a projected active set).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# (cost, residual, jacobian) at a point: cost = residual @ residual, jacobian = d residual / dx.
Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]
# Turns the current point and a step into the trial point (default: clip(x + step)).
Propose = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LMSettings:
    iterations: int
    step_tolerance: float  # stop when no parameter would move more than this
    absolute_tolerance: float = 0.0  # converged when the cost falls by less than
    relative_tolerance: float = 0.0  # absolute + relative * cost
    initial_damping: float = 1e-3
    damping_up: float = 10.0
    damping_down: float = 0.3
    min_damping: float = 1e-12
    max_damping: float = 1e8
    diagonal_floor: float = 0.0  # keeps a degenerate problem solvable


def projected_lm(evaluate: Evaluate, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 settings: LMSettings, propose: Propose | None = None) -> np.ndarray:
    """Minimise the evaluated cost over x within [lower, upper]; returns the best point found."""
    cost, residual, jacobian = evaluate(x)
    damping = settings.initial_damping
    for _ in range(settings.iterations):
        gradient = jacobian.T @ residual
        active = ~(((x <= lower) & (gradient > 0.0)) | ((x >= upper) & (gradient < 0.0)))
        if not np.any(active):
            break
        normal = jacobian[:, active].T @ jacobian[:, active]
        normal += damping * np.diag(np.diag(normal) + settings.diagonal_floor)
        step = np.zeros_like(x)
        step[active] = np.linalg.solve(normal, -gradient[active])
        trial = propose(x, step) if propose is not None else np.clip(x + step, lower, upper)
        if np.max(np.abs(trial - x)) < settings.step_tolerance:
            break
        trial_cost, trial_residual, trial_jacobian = evaluate(trial)
        if trial_cost < cost:
            converged = cost - trial_cost < settings.absolute_tolerance + settings.relative_tolerance * cost
            x, cost, residual, jacobian = trial, trial_cost, trial_residual, trial_jacobian
            damping = max(damping * settings.damping_down, settings.min_damping)
            if converged:
                break
        else:
            damping *= settings.damping_up
            if damping > settings.max_damping:
                break
    return x
