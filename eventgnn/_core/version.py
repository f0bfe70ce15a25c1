"""The package version, a leaf: setup.cfg reads it, and every module that records it imports it
from here (never from the package's ``__init__``)."""

__version__ = "0.1.0"
