"""Mask builders, one per defect kind, behind one registry (`KINDS`) and one signature."""

from conditioning.masks import learned, pcb, real, surface  # noqa: F401  (registers the kinds)
from conditioning.masks.registry import KINDS, Canvas, MaskKind, register

__all__ = ["KINDS", "Canvas", "MaskKind", "register"]
