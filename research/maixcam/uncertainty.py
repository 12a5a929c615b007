"""How firm an INT8 - FP32 gap is: a paired bootstrap over the units read.

A set's gap is decided by a handful of pages (the MaixCAM bench) or a few
hundred lines (the tuning material): the interval says which differences
the set can tell apart. Pairing matters: both graphs read the same units,
so a hard page raises both CERs and leaves the gap alone.
"""
import numpy as np


def gap_interval(fp32_units, int8_units, samples=10000, seed=1):
    """95 % interval (percentile bootstrap: units resampled with replacement,
    both graphs on the same draw) of the gap 100 * (INT8 errors - FP32
    errors) / characters; `*_units`: [(errors, characters)] per unit (a page
    or a line), the same units in the same order."""
    fp32 = np.array([errors for errors, _ in fp32_units], float)
    int8 = np.array([errors for errors, _ in int8_units], float)
    chars = np.array([count for _, count in fp32_units], float)
    draws = np.random.default_rng(seed).integers(0, len(chars), size=(samples, len(chars)))
    gaps = 100 * (int8[draws].sum(axis=1) - fp32[draws].sum(axis=1)) / chars[draws].sum(axis=1)
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)
