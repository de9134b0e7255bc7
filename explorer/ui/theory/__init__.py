"""The Theory dock: signal propagation, Veit's paths and the effective receptive field, as tabs (see
panel.py)."""
