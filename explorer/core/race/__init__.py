"""The training race (He et al. 2015, Fig. 1 and 4: the degradation of a deep plain network): a
residual network and its plain twin trained side by side on the same batches, reported as plain
values. Core layer, pure PyTorch, no Qt.

- ``config``: :class:`RaceConfig` (one network, or ``depths``: several, He et al. Fig. 6), ``validate``,
  the networks (``NETWORKS``: the ResNet family, the CIFAR ResNets included);
- ``data``: the bundled digits, ImageFolder-style folders, the validation split, the batch stream;
- ``train``: ``build_network``, ``run_race(config, on_step, cancel, on_data) -> RaceResult``;
- ``sgd``: the optimiser, SGD with momentum and weight decay as ``torch.optim.SGD`` computes it, without
  importing ``torch.optim``'s ``torch._dynamo``;
- ``report``: the plain-value types (``RaceStep``, ``RaceResult``, ``Standing``, ...), ``planned_runs``
  and the JSON/CSV schema;
- ``verdict``: the verdict (who leads, and across depths), the conditions line, from the numbers.

Nothing is re-exported here on purpose: ``config``, ``report`` and ``verdict`` import no torch, so the
CLI can describe its options without loading it (importing this package runs this file first).
"""
