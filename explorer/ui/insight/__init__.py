"""The Insight dock, what the network sees in one image: ``panel`` (the coordinator and its jobs),
``activations_tab``, ``cam_tab`` (Grad-CAM), ``lesions_tab`` (single lesions and the lesion sweep),
``views`` (the grid, table and chart) and ``host`` (the worker-side model; no Qt)."""
