"""The classification dock: ``panel`` (the list of images and their top-5), ``results`` (the
selected image's predictions), ``weights_menu`` (the Weights menu), ``host`` (the worker-side
Classifier; no Qt)."""
