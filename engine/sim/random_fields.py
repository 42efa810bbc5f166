"""Random fields of the sensor models (engine.sim.sensors): white Gaussian noise and Gaussian
noise correlated over a few pixels ("blobs": sensor errors come in blobs).

Why a module of its own: the draws were half of a styled dataset sample's sensor time, and each
field here is drawn the cheap way that still gives the distribution the models assume (tests
pin mean, std, tails, kurtosis and correlation in tests/test_random_fields.py):
- white normals by Box-Muller from uniform draws (numpy's float32 ziggurat cost 3x as much here);
- wide blobs from uniform white bytes: the blur averages so many draws that the field is
  Gaussian anyway;
- very wide blobs drawn on a coarser grid and interpolated: a field this smooth has nothing at
  the fine grid's scale, and 1/f^2 of the draws and the blur's work remain.
Every draw comes from the caller's generator, so a seed gives the same field bit for bit.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# Blob fields this wide or wider start from uniform white noise: the blur then averages about
# 2 pi sigma^2 >= 25 draws per pixel, so the field's kurtosis is within 1.2 / 25 = 0.05 of a
# Gaussian's. Narrower fields (the 1-px dropout blobs) start from normals.
UNIFORM_WHITE_MIN_SIGMA_PX = 2.0
# Fields wider than COARSE_MIN_FACTOR times this are drawn on a grid `factor` = sigma // this
# times coarser, where they are still at least this wide (minus the interpolation's own
# spread), so linear interpolation between grid points neighbours that correlate >= 0.93 and
# the field's std varies by under 3 % with the position between them.
COARSE_SIGMA_PX = 2.0
COARSE_MIN_FACTOR = 2
# Logistic approximation of the standard normal CDF, Phi(x) ~ 1/(1+exp(-1.702x)), max error
# < 0.01 (Bowling et al., J. Industrial Engineering and Management 2(1), 2009).
LOGISTIC_PROBIT = 1.702
_UNIFORM_BYTE_STD = math.sqrt((256 ** 2 - 1) / 12.0)  # a uniform byte 0..255
_UNIFORM_BYTE_MEAN = 127.5
_TWO_PI = np.float32(2.0 * np.pi)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float32 N(0, 1) draws by the Box-Muller transform of uniform(0, 1) pairs.

    The tails reach 5.8 sigma (the smallest 1 - u in float32 is 2^-24), far beyond what any
    sensor model's noise would show in a frame.
    """
    size = math.prod(shape)
    half = (size + 1) // 2
    u = rng.random(2 * half, dtype=np.float32)
    radius = np.log1p(-u[:half])  # 1 - u is in (0, 1]: no log(0)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle = u[half:]
    angle *= _TWO_PI
    out = np.empty(2 * half, np.float32)
    np.cos(angle, out=out[:half])
    np.sin(angle, out=out[half:])
    out[:half] *= radius
    out[half:] *= radius
    return out[:size].reshape(shape)


def blob_normal(rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float) -> np.ndarray:
    """Unit-variance Gaussian noise (float32) correlated over `sigma_px` (a Gaussian blur's sigma,
    so the correlation at lag d is exp(-d^2 / (4 sigma^2))).

    A trailing third dimension of `shape` gives that many independent fields at once (one
    blur for all).
    """
    factor = int(sigma_px // COARSE_SIGMA_PX)
    if factor >= COARSE_MIN_FACTOR:
        return _coarse_blob_normal(rng, shape, sigma_px, factor)
    return _fine_blob_normal(rng, shape, sigma_px)


def blob_uniform(rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float) -> np.ndarray:
    """Approximately uniform(0, 1) values correlated over `sigma_px`, for clustered dropouts:
    the blob field through the logistic approximation of the normal CDF."""
    u = blob_normal(rng, shape, sigma_px)  # a new array: the logistic runs in place
    u *= -LOGISTIC_PROBIT
    np.exp(u, out=u)
    u += 1.0
    return np.reciprocal(u, out=u)



def _gaussian_kernel(sigma_px: float) -> np.ndarray:
    return cv2.getGaussianKernel(2 * int(np.ceil(3 * sigma_px)) + 1, sigma_px)


def _fine_blob_normal(rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float) -> np.ndarray:
    kernel = _gaussian_kernel(sigma_px)
    # Blurring white noise with K = k k^T leaves std sqrt(sum K^2) = sum k^2 times the white
    # noise's std (whose mean, for the uniform bytes, is taken off).
    gain = float((kernel ** 2).sum())
    if sigma_px >= UNIFORM_WHITE_MIN_SIGMA_PX:
        # Bytes are the cheapest uniform draws (8 from one 64-bit word); the filter reads
        # them as they are and writes float32.
        white = np.frombuffer(rng.bytes(math.prod(shape)), np.uint8).reshape(shape)
        blurred = cv2.sepFilter2D(white, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
        blurred -= np.float32(_UNIFORM_BYTE_MEAN)
        gain *= _UNIFORM_BYTE_STD
    else:
        white = standard_normal(rng, shape)
        blurred = cv2.sepFilter2D(white, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    blurred *= np.float32(1.0 / gain)
    return blurred.reshape(shape)


def _coarse_blob_normal(rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float,
                        factor: int) -> np.ndarray:
    """`blob_normal` drawn on a grid `factor` times coarser and interpolated linearly.

    Linear interpolation spreads like a triangle of variance factor^2 / 6 (fine pixels^2), so
    the coarse field's sigma is what leaves sigma_px after it. Between grid points the
    interpolated field's variance dips (to ((1 + rho) / 2)^2 at a cell's centre, rho the
    correlation of neighbouring grid points); it is scaled so that its mean over positions is 1.
    """
    h, w = shape[:2]
    coarse_sigma = math.sqrt((sigma_px / factor) ** 2 - 1.0 / 6.0)
    # Two grid points of margin each side: the crop below starts and ends between grid points,
    # away from the resize's clamped border.
    coarse = _fine_blob_normal(rng, (h // factor + 3, w // factor + 3, *shape[2:]), coarse_sigma)
    fine = cv2.resize(coarse, (coarse.shape[1] * factor, coarse.shape[0] * factor),
                      interpolation=cv2.INTER_LINEAR)
    field = np.ascontiguousarray(fine[factor:factor + h, factor:factor + w].reshape(shape))
    field *= np.float32(1.0 / _interpolated_std(coarse_sigma, factor))
    return field


def _interpolated_std(coarse_sigma: float, factor: int) -> float:
    """The square root of the mean variance of a unit-variance coarse field (blurred white
    noise of `coarse_sigma`) after linear interpolation by `factor`.

    Separable: the variance at offsets (tx, ty) between grid points is A(tx) A(ty) with
    A(t) = (1 - t)^2 + t^2 + 2 t (1 - t) rho, rho the neighbours' correlation; cv2.resize puts
    fine pixel j of a cell at t = frac((j + 0.5) / factor - 0.5). sqrt(mean A * mean A) = mean A.
    """
    k = _gaussian_kernel(coarse_sigma)[:, 0]
    rho = float((k[1:] * k[:-1]).sum() / (k * k).sum())
    t = np.mod((np.arange(factor) + 0.5) / factor - 0.5, 1.0)
    return float(((1 - t) ** 2 + t ** 2 + 2 * t * (1 - t) * rho).mean())
