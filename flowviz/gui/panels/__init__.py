"""Docked panels: display, formulas, time bar, loss chart, training settings."""
