"""Loading weights as one pipeline (``pipeline.py``, read top to bottom): source (``sources``), bytes
(``fetch``, ``download``), state dict (``checkpoints``), architecture (``architecture``), checks
(``checks``), model (``build``); class names in ``labels``, the errors in ``errors``. Core layer."""
