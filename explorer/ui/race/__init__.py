"""The Race view: a residual network and its plain twin trained side by side, live (panel, form,
settings, plot, export)."""
