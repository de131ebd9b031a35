"""Hardware-operator classes on tiny configurations, against hand calculations.

Each expected value is worked out in the test from the hardware's definition (two's
complement bit planes, per-tile converters, product lookups), not from the code."""
import numpy as np
import pytest

from imcspice.accelerators.analog import (CrossbarDevice, CrossbarLinear, quantize_uniform,
                                          uniform_quantizer)


def ideal(rows):
    # no IR drop, no programming spread, v0 >> v_read: the sinh law is linear
    return CrossbarDevice(1e-6, 100e-6, 0.2, 1e6, rows, lambda load: 0.0 * np.asarray(load))


W = np.array([[1.0, -2.0, 0.5, 1.0],
              [0.0, 1.0, -1.0, 2.0]], dtype=np.float32)     # (out 2, in 4): 2 row tiles of 2
X = np.array([[1 / 3, -2 / 3, 1.0, 0.0]], dtype=np.float32)  # codes at 3 bits: 1, -2, 3, 0


def test_bit_serial_unconverted_is_the_quantized_product():
    # 3-bit two's complement, full scale 3: codes (1, -2, 3, 0) -> x_q = x exactly
    xb = CrossbarLinear(W, ideal(2), 3, 1.0, seed=0, outlier_factor=None, bit_serial=True)
    y = xb(X)
    # hand: row 0: 1/3*1 + (-2/3)(-2) + 1*0.5 + 0 = 1/3 + 4/3 + 1/2 = 13/6
    #       row 1: 0 + (-2/3)(1) + 1*(-1) + 0 = -5/3
    assert y[0] == pytest.approx([13 / 6, -5 / 3], rel=1e-5, abs=0)


def test_bit_serial_per_tile_converters_by_hand():
    bits_out = 2                      # 4 levels over [-R, R]: (-3/4, -1/4, 1/4, 3/4) R
    xb = CrossbarLinear(W, ideal(2), 3, 1.0, seed=0, outlier_factor=None, bit_serial=True,
                        out_bits=bits_out, partial_sums="digital", quantizer=uniform_quantizer)
    xb.calibrate(X, pct=100.0)
    # two's complement bits (b0, b1, b2) of the codes 1, -2 (=6), 3, 0:
    bits = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=float)  # (in, plane)
    weight = np.array([1, 2, -4]) / 3.0            # plane weights 2^b / full, MSB negative
    y = np.zeros(2)
    ranges = np.zeros((2, 2))
    partial = np.zeros((2, 3, 2))                  # (tile, plane, out)
    for t in range(2):
        for b in range(3):
            partial[t, b] = bits[2 * t:2 * t + 2, b] @ W[:, 2 * t:2 * t + 2].T
        ranges[t] = np.abs(partial[t]).max(axis=0)  # each converter's calibrated range
    for t in range(2):
        for b in range(3):
            for j in range(2):
                R = ranges[t, j]
                code = min(max(np.floor((partial[t, b, j] / R + 1) * 2), 0), 3)
                y[j] += weight[b] * (-1 + (code + 0.5) / 2) * R
    assert xb.ranges == pytest.approx(ranges, rel=1e-6, abs=0)
    assert xb(X)[0] == pytest.approx(y, rel=1e-5, abs=0)


def test_analog_partial_sums_convert_once_per_column():
    xb = CrossbarLinear(W, ideal(2), 3, 1.0, seed=0, outlier_factor=None, bit_serial=True,
                        out_bits=8, partial_sums="analog", quantizer=uniform_quantizer)
    xb.calibrate(X, pct=100.0)
    assert xb.ranges.shape == (1, 2)          # one converter range per column, not per tile
    # the range is the largest |plane sum over all 4 rows| of each column
    bits = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=float)
    sums = bits.T @ W.T                       # (plane, out)
    assert xb.ranges[0] == pytest.approx(np.abs(sums).max(axis=0), rel=1e-6, abs=0)


def test_multilevel_drive_applies_the_device_law():
    # multi-level: u = mid-rise 3-bit level of x, drive = v0 sinh(u v_read / v0) / v_read
    dev = CrossbarDevice(1e-6, 100e-6, 0.5, 0.5, 4, lambda load: 0.0 * np.asarray(load))
    xb = CrossbarLinear(W, dev, 3, 1.0, seed=0, outlier_factor=None)
    u = quantize_uniform(X[0], 3, -1.0, 1.0)      # levels (-7/8 .. 7/8) step 1/4
    drive = 0.5 * np.sinh(u * 0.5 / 0.5) / 0.5
    assert xb(X)[0] == pytest.approx(drive @ W.T, rel=1e-5, abs=0)


def test_converter_ranges_average_their_calibration_batches():
    # ideal drive (in_bits None: x read exactly), analog partial sums, pct 100: a batch's
    # range is the largest |column sum| of each column, |X W^T| = (13/6, 5/3) (first
    # test); a second batch 3 X reads (13/2, 5). The ranges are their mean, 2 x the first
    # batch's, where a maximum over the batches would keep the second's 3 x.
    xb = CrossbarLinear(W, ideal(2), None, 1.0, seed=0, outlier_factor=None,
                        out_bits=8, partial_sums="analog", quantizer=uniform_quantizer)
    xb.calibrate(X, pct=100.0)
    xb.calibrate(3 * X, pct=100.0)
    assert xb.n_calibrated == 2
    assert xb.ranges[0] == pytest.approx([13 / 3, 10 / 3], rel=1e-5, abs=0)
