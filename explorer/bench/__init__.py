"""Benchmark suites behind ``resnet-explorer bench``. Each module ``explorer.bench.<suite>`` exposes
``run(args) -> dict`` (plain, JSON-ready numbers) and ``describe(result) -> str`` (human lines), and
may add options with ``add_arguments(parser)``. Benchmarks print numbers; tests never time anything.
This package may import torchvision *optionally* to measure the reference in the same run."""
