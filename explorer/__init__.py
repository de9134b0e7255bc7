"""ResNet Explorer: touch ResNet-50 (architecture, live classification, gradient lab)."""

__version__ = "0.1.0"
