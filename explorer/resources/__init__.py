"""Data files shipped with the app (class names, icon, sample images); located with importlib.resources."""
