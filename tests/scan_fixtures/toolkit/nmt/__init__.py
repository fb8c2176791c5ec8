"""A small NMT-style toolkit: cells in nmt.layers, models in nmt.models (never run)."""
