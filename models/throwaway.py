"""Scratch: a throwaway model kind (verifies that a kind is one module here + one fitter)."""
from .base import BehavioralModel, register_kind


@register_kind
class ThrowawayModel(BehavioralModel):
    kind = "throwaway-iv"
    primary = "i_a"
