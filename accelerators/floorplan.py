"""A stacked machine's floorplan (a description's ``[floorplan]``): tier groups of
``count`` dies of ``die_mm2`` each, holding the components they name. A group's count may
be ``"fit"``: the fewest dies that hold its components' priced area, set from the cost
sheet (:func:`fit_tiers`, called by ``cost.check`` and ``hetrax.tier_powers``) before the
stack's thermal solution reads it (:func:`tier_count`)."""
from __future__ import annotations

import math

from ..errors import ArchError

#: a tier group's count set by its components' priced area
FIT = "fit"


def tier_count(tier: dict) -> int:
    """A tier group's number of dies: its ``count``, or for ``count = "fit"`` the number
    its priced area needs (set by :func:`fit_tiers`)."""
    n = tier.get("fitted", tier["count"]) if tier["count"] == FIT else tier["count"]
    if n == FIT:
        raise ArchError("a floorplan tier group's count is \"fit\": price the workload "
                        "first (floorplan.fit_tiers) to know how many dies its area needs")
    return int(n)


def tier_areas(arch, sheet) -> dict:
    """Tier group -> (area of its components, capacity die_mm2 x dies), mm^2."""
    fp = arch.floorplan
    if not fp:
        return {}
    area = sheet.by(sheet.area, "component")
    return {g: (sum(area.get(c, 0.0) for c in t["components"]), fp["die_mm2"] * tier_count(t))
            for g, t in fp["tiers"].items()}


def fit_tiers(arch, sheet) -> None:
    """Set each ``count = "fit"`` tier group's dies (its ``fitted``) to the fewest
    die_mm2 dies that hold its components' priced area (``sheet``: a cost sheet)."""
    fp = arch.floorplan
    area = sheet.by(sheet.area, "component")
    for t in (fp or {}).get("tiers", {}).values():
        if t["count"] == FIT:
            used = sum(area.get(c, 0.0) for c in t["components"])
            t["fitted"] = max(1, math.ceil(used / fp["die_mm2"] * (1 - 1e-12)))


def check(arch) -> None:
    """Refuse a malformed ``[floorplan]`` of description ``arch`` in one line."""
    fp = arch.floorplan
    if not fp:
        return
    where = f"{arch.path}: floorplan"
    groups = fp.get("tiers")
    if not isinstance(groups, dict):
        raise ArchError(f"{where}: 'tiers' must be a table of tier groups")
    for g, t in groups.items():
        if not isinstance(t, dict):
            raise ArchError(f"{where}.tiers.{g}: must be a table")
        n = t.get("count")
        if n != FIT and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ArchError(f"{where}.tiers.{g}: count must be a whole number >= 1 or "
                            f"\"{FIT}\" (as many dies as its components' area needs), "
                            f"got {n!r}")
        comps = t.get("components")
        if not isinstance(comps, list):
            raise ArchError(f"{where}.tiers.{g}: 'components' must be a list")
        for c in comps:
            if c not in arch.components:
                raise ArchError(f"{where}.tiers.{g}: unknown component {c!r}")
    die = fp.get("die_mm2")
    if isinstance(die, bool) or not isinstance(die, (int, float)) or not math.isfinite(die) \
            or die <= 0:
        raise ArchError(f"{where}.die_mm2: must be a positive number, got {die!r}")
