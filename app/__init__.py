"""Label Smoothing Explorer: watch label smoothing change a network, live (Müller et al. 2019)."""

__version__ = "0.1.0"
