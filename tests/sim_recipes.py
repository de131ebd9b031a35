"""Reference recipes for simulator tests: the same circuits built the slower way."""
from imcspice.characterize.recipes.crossbar import CrossbarArray


class UnhoistedCrossbarArray(CrossbarArray):
    """crossbar-array with the PDK's access-transistor subcircuit as shipped (48 binned
    model cards expanded per cell), the reference for the hoisted deck."""

    name = "test-crossbar-array-unhoisted"
    hoist_model_card = False


class SparseCrossbarArray(CrossbarArray):
    """crossbar-array solved with ngspice's Sparse 1.3 instead of KLU (the deck's own
    `.options sparse` follows, and so overrides, the engine's `.options klu`)."""

    name = "test-crossbar-array-sparse"

    def body(self, tech, p):
        return [".options sparse"] + super().body(tech, p)
