"""Skiff's deep-learning framework on NumPy.

Users write ``import framework as fw``.
"""

__version__ = "0.1.0"
