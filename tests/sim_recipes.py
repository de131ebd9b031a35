"""Reference recipes for simulator tests: the same circuits built the slower way."""
from imcspice.characterize.recipes.crossbar import CrossbarArray, L_ACCESS_UM, _ref
from imcspice.circuits import crossbar as cb


class UnhoistedCrossbarArray(CrossbarArray):
    """crossbar-array with the PDK's access-transistor subcircuit as shipped (48 binned
    model cards expanded per cell), the reference for the hoisted deck."""

    name = "test-crossbar-array-unhoisted"

    def body(self, tech, p):
        g, v = self.arrays(p)
        return cb.crossbar_netlist(
            g, [float(x) for x in v], p["device"],
            wires=cb.WireParams(_ref("r_wl_ohm"), _ref("r_bl_ohm"), 0.0, 0.0),
            tia=cb.TiaParams(_ref("r_f_ohm"), 0.0, _ref("a0_v_per_v"), 5e8),
            access=cb.AccessTransistor(p["w_access_um"], L_ACCESS_UM, tech.vdd_v,
                                       tech.devices["nfet"]),
            memristor=cb.MemristorParams(_ref("v0_v")), hoist=None)


class SparseCrossbarArray(CrossbarArray):
    """crossbar-array solved with ngspice's Sparse 1.3 instead of KLU (the deck's own
    `.options sparse` follows, and so overrides, the engine's `.options klu`)."""

    name = "test-crossbar-array-sparse"

    def body(self, tech, p):
        return [".options sparse"] + super().body(tech, p)
