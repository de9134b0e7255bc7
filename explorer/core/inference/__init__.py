"""Classification: the classifier that predicts with an engine (PyTorch, onnxruntime, OpenVINO) made
from a BN-folded inference copy of the model. Core layer, pure PyTorch."""
