"""Figures: the only matplotlib users (figures read saved results), and the interactive app."""
