"""crossbar.ir_profile: a bit line's IR drop shared by its cells' positions, against a hand
solution, ngspice (superposition with undriven rows held at the reference) and the
characterized column law it must keep."""
import numpy as np
import pytest

from imcspice.accelerators.analog import CrossbarDevice, CrossbarLinear
from imcspice.accelerators.hardware import scale_crossbar
from imcspice.accelerators.ir_profile import (bitline_transfer, compensated_targets,
                                               row_factors)
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import crossbar as cb


def test_two_and_one_row_columns_by_hand():
    # 2 rows, far row 0: nodes (G0 + gs) v0 - gs v1 = 0 and -gs v0 + (G1 + 2 gs) v1 = gs
    # (adjoint, the sense node driven): t = (gs^2, gs (G0 + gs)) / det
    g0, g1, r = 50e-6, 80e-6, 100.0
    gs = 1 / r
    det = (g0 + gs) * (g1 + 2 * gs) - gs ** 2
    t = bitline_transfer(np.array([[g0], [g1]]), r)[:, 0]
    np.testing.assert_allclose(t, [gs * gs / det, gs * (g0 + gs) / det], rtol=1e-12)
    # one cell behind one segment: the divider gs / (G + gs)
    np.testing.assert_allclose(bitline_transfer(np.array([[g0]]), r), [[gs / (g0 + gs)]],
                               rtol=1e-12)
    # far rows lose more, columns are independent
    g = np.full((128, 3), 100e-6)
    t = bitline_transfer(g, 2.5)
    assert np.all(np.diff(t[:, 0]) > 0)
    np.testing.assert_array_equal(t[:, 0], t[:, 2])
    with pytest.raises(ValueError):
        bitline_transfer(g, 0.0)


def test_ladder_matches_ngspice_for_any_rows_driven(tmp_path, pool):
    """ngspice's linear column (behavioral TIA, word-line wire negligible) against the
    nodal form: every row driven, and a quarter driven with the rest held at the
    reference, whose loss is the driven cells' t-weighted share (superposition)."""
    rows, frac_on, g_on, g_off, r_bl = 64, 0.25, 100e-6, 1e-6, 2.5
    raw = run_sweep(SweepSpec("crossbar-column", {
        "tia": ["behavioral"], "device": ["linear"], "rows": [rows], "r_wl_ohm": [1e-6],
        "r_bl_ohm": [r_bl], "a0_v_per_v": [1e12], "g_on_us": [g_on * 1e6],
        "g_off_us": [g_off * 1e6], "frac_on": [frac_on], "frac_active": [0.25, 1.0]}),
        tmp_path / "x.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": raw.status.size}, raw.message.ravel()
    spice = raw.data["ir_drop_rel"].ravel()
    for k, frac_active in enumerate((0.25, 1.0)):
        on, act = cb.column_pattern(rows, frac_on, frac_active, 0)
        g = np.where(on, g_on, g_off)
        t = bitline_transfer(g[:, None], r_bl)[:, 0]
        want = 1.0 - (t * g * act).sum() / (g * act).sum()
        assert want > 0.05        # a real drop, not a vanishing one
        np.testing.assert_allclose(spice[k], want, rtol=2e-3, err_msg=str(frac_active))


def test_row_factors_keep_the_column_law_and_the_column_profile_is_flat():
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 100e-6, (128, 5))
    loss = np.array([0.05, 0.1, 0.2, 0.3, 0.0])
    f = row_factors(g, loss, 2.5)
    # every row driven, the column passes exactly what the characterized law says
    np.testing.assert_allclose((f * g).sum(0), (1 - loss) * g.sum(0), rtol=1e-12)
    assert np.all(f[0] < f[-1])                    # far rows lose most
    dev = CrossbarDevice(g_min_s=1e-6, g_max_s=100e-6, v_read_v=0.2, v0_v=0.5,
                         tile_rows=128, ir_drop_rel=lambda x: 0.1 * np.asarray(x),
                         ir_profile="ladder", r_bl_ohm=2.5)
    np.testing.assert_allclose(dev.read_factors(g, loss), f, rtol=1e-12)
    flat = CrossbarDevice(**{**dev.__dict__, "ir_profile": "column"})
    np.testing.assert_allclose(flat.read_factors(g, loss), (1 - loss)[None, :])
    # the IR drop switched off (the ablation) takes its wire with it: no profile left
    off = scale_crossbar(dev, ir_drop=0.0)
    np.testing.assert_allclose(off.read_factors(g, np.zeros(5)), np.ones((1, 5)))
    assert scale_crossbar(dev, ir_drop=2.0).r_bl_ohm == 5.0


def test_unknown_profile_or_weight_scale_is_a_description_error(tmp_path, capsys):
    from imcspice.cli import main
    rc = main(["evaluate", "--arch", "race-it", "--set", "crossbar.ir_profile=wire",
               "--quick", "--no-ablation", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "ir_profile must be one of column, ladder, compensated, not 'wire'" in err[0]
    assert not (tmp_path / "o").exists()
    rc = main(["evaluate", "--arch", "race-it", "--set", "crossbar.w_scale=row",
               "--quick", "--no-ablation", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "w_scale must be one of matrix, column, tile, not 'row'" in err[0]


def test_compensated_targets_give_every_cell_its_target_share_unless_clipped():
    """The conductances the mapping programs are the fixed point g = target / rel(g):
    read through the ladder and trimmed at their own load they give back the targets,
    except the cells clipped at g_min or g_max (far cells of the largest weights)."""
    rng = np.random.default_rng(0)
    g_min, g_max = 1e-6, 100e-6
    w = np.clip(np.abs(rng.standard_normal((128, 16))) * 0.15, 0, 1)
    w[rng.integers(0, 128, 16), np.arange(16)] = 1.0       # each column's max at g_max
    target = g_min + (g_max - g_min) * w

    def law(g):      # a made-up drop law in the column's load
        return 0.05 + 0.9 * np.clip((g.mean(0) - g_min) / (g_max - g_min), 0, 1)
    g = compensated_targets(target, law, 2.5, g_min, g_max)
    loss = law(g)
    read = g * row_factors(g, loss, 2.5) / (1 - loss)
    clipped = (g >= g_max) | (g <= g_min)
    assert 0 < clipped.mean() < 0.1
    np.testing.assert_allclose(read[~clipped], target[~clipped], rtol=0, atol=1e-4 * g_max)
    # without compensation the same columns are off by far more
    loss0 = law(target)
    read0 = target * row_factors(target, loss0, 2.5) / (1 - loss0)
    assert np.abs(read0 - target).max() > 0.05 * g_max


@pytest.mark.parametrize("r_access", [0.0, 1400.0])
@pytest.mark.parametrize("profile, lo, hi", [("column", 0, 1e-6), ("ladder", 4e-3, 1.0),
                                             ("compensated", 0, 5e-4)])
def test_a_tile_read_with_each_profile(profile, lo, hi, r_access):
    """A 4-row tile (200 ohm segments, a made-up drop law, no noise; with and without
    access transistors): the column profile and the compensated mapping compute x @ W.T
    (the latter up to the targets at g_min that cannot go lower), the uncompensated
    ladder does not. Both columns hold a full-scale weight in the far row, so the
    compensation needs more than g_max there: the pair is mapped onto a smaller span
    (TIA gain > 1)."""
    W = np.array([[1.0, 0.5, -0.5, 0.25], [1.0, -0.25, 0.5, 0.1]], dtype=np.float32)
    X = np.array([[1.0, 0.5, -0.5, 1.0], [0.3, -1.0, 0.2, 0.1]], dtype=np.float32)
    dev = CrossbarDevice(1e-6, 101e-6, 0.2, 1e6, 4, lambda x: 0.05 + 0.2 * np.asarray(x),
                         None, ir_profile=profile, r_bl_ohm=200.0, r_access_ohm=r_access)
    xb = CrossbarLinear(W, dev, None, 1.0, seed=0, outlier_factor=None)
    err = float(np.abs(xb(X) - X @ W.T).max())
    assert lo <= err < hi, err
    trims = xb.gain_trim * (1 - dev.trim_and_read_drops(xb.loads, xb.loads)[0])
    if profile == "compensated":
        assert np.all(trims > 1 + 1e-3)            # headroom taken, nothing clipped
        assert xb.w_eff.max() <= 1.0 + 1e-6
    else:
        np.testing.assert_allclose(trims, 1.0)


def test_access_transistor_share_by_hand():
    """No wire, two cells behind 1.4 kohm: each passes 1 / (1 + g R) of its own current;
    what the law loses beyond that is shared equally, and the column keeps the law."""
    g = np.array([[100e-6], [1e-6]])
    r, loss = 1400.0, np.array([0.12])
    f = row_factors(g, loss, 0.0, r)[:, 0]
    acc = 1 / (1 + g[:, 0] * r)                   # 0.8772, 0.9986
    assert f[0] / f[1] == pytest.approx(acc[0] / acc[1], rel=1e-12, abs=0)
    assert (f * g[:, 0]).sum() == pytest.approx((1 - 0.12) * g.sum(), rel=1e-12, abs=0)


def test_access_share_matches_ngspice_1t1r_cells(tmp_path, pool):
    """The access transistor the shipped crossbar-column model implies (from its 128-row
    columns' wire-free fraction) against ngspice's SKY130 1T1R cells read with no wire,
    through the shipped sweep's OTA (bit line at v_cm = 0.45 V, so the nfet's source
    sits there): a column of OFF cells loses next to nothing, one half ON loses what
    1/(1 + g R) per cell says, within 15 % (the OTA's own drift and the OFF cells'
    state-dependent read are not in R; ngspice: 0.1345 against 0.1225)."""
    import warnings

    from imcspice.accelerators import arch, hardware
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hw = hardware.HardwareModels.from_dir(None, corner="tt", temp_c=27.0)
        dev = hardware.crossbar_device(hw, arch.load("race-it").component("crossbar"))
    assert 500 < dev.r_access_ohm < 5000         # a SKY130 1 um nfet, ~kohm
    raw = run_sweep(SweepSpec("crossbar-column", {
        "device": ["1t1r"], "rows": [16], "r_wl_ohm": [1e-6], "r_bl_ohm": [1e-6],
        "v_read_v": [0.2], "g_on_us": [100.0], "g_off_us": [1.0], "frac_on": [0.0, 0.5]}),
        tmp_path / "x.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": raw.status.size}, raw.message.ravel()
    off, half = raw.data["ir_drop_rel"].ravel()
    g = np.array([100e-6, 1e-6])
    acc = 1 / (1 + g * dev.r_access_ohm)
    assert half == pytest.approx(1 - (g * acc).sum() / g.sum(), rel=0.15, abs=0)
    assert abs(off) < 0.01


@pytest.mark.parametrize("a_bad", [0.0, -0.2, 1.5, float("nan")])
def test_a_wire_free_fraction_outside_0_1_is_refused(a_bad, monkeypatch):
    """A crossbar-column model whose fitted wire-free fraction is not a fraction (a user's
    refit gone wrong) stops the machine's build with one line naming it, rather than a
    division by zero or a negative transistor."""
    import warnings

    from imcspice.accelerators import arch, hardware
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hw = hardware.HardwareModels.from_dir(None, corner="tt", temp_c=27.0)
    f = hw.need("crossbar-column").functions["ir_drop_rel"]
    real = f.params_at
    ia = f.param_names.index("a")

    def tampered(corner, at):
        p = np.array(real(corner, at), dtype=np.float64)
        p[..., ia] = a_bad
        return p
    monkeypatch.setattr(f, "params_at", tampered)
    with pytest.raises(hardware.HardwareModelError, match="wire-free fraction a = .* not in"):
        hardware._access_ohm(hw, hw.need("crossbar-column"),
                             arch.load("race-it").component("crossbar"), 0.2, 27.0)


def test_tiles_solved_side_by_side_equal_tile_by_tile():
    """mapped_conductances and tile_read_factors solve all row tiles' bit lines as one
    array's columns: the same numbers, bit for bit, as each tile alone (the other path:
    the function called on one tile's rows), with a partial last tile (3 + 3 + 2 rows)."""
    from imcspice.accelerators.ir_profile import mapped_conductances
    rng = np.random.default_rng(4)
    wn = np.clip(0.6 * rng.standard_normal((8, 5)), -1.0, 1.0)
    wn[0] = 1.0                     # a full-scale far row: the span cut in the first tile
    dev = CrossbarDevice(1e-6, 101e-6, 0.2, 1e6, 3, lambda x: 0.05 + 0.2 * np.asarray(x),
                         None, ir_profile="compensated", r_bl_ohm=200.0, r_access_ohm=1400.0)
    whole = mapped_conductances(wn, dev)
    tiles = [mapped_conductances(wn[t:t + 3], dev) for t in (0, 3, 6)]
    for k in (0, 1):
        assert np.array_equal(whole[k], np.concatenate([p[k] for p in tiles]))
    assert np.array_equal(whole[2], np.concatenate([p[2] for p in tiles], axis=1))
    assert np.array_equal(whole[3], np.concatenate([p[3] for p in tiles]))
    assert whole[3][0].min() > 1.0 and np.all(whole[3][1:] >= 1.0)
    g, loss = whole[0], 0.01 * rng.uniform(1, 9, (3, 5))
    f = dev.tile_read_factors(g, loss)
    assert np.array_equal(f, np.concatenate([dev.read_factors(g[t:t + 3], loss[t // 3])
                                             for t in (0, 3, 6)]))
