"""The amplitude engine's error type (a leaf: every module of the subpackage may import it)."""

from __future__ import annotations


class AmplitudeError(ValueError):
    """Input the amplitude engine cannot use: wrong shapes, an unknown channel or helicity."""
