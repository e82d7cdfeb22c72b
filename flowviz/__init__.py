"""flowviz: draw a 2D distribution and watch conditional flow matching learn it."""

__version__ = "0.1.0"
