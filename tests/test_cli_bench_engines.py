"""``bench --suite engines`` runs end to end at a tiny size, round-robin in one process: every
installed engine of the project and every contender is listed with its numbers (never asserted on),
or as not measured with the reason; the floors and ratios are there and the user's engine cache is
left untouched."""

from __future__ import annotations

import json

import torch

from explorer.bench import engines as engines_bench
from explorer.cli import main
from explorer.core.choices import ENGINES
from explorer.core.devices import default_precision
from explorer.core.inference import engines
from explorer.core.inference.engines import cache


def test_bench_engines_reports_every_contender_or_why_not(capsys):
    cpu = torch.device("cpu")
    before = sorted(cache.cache_dir().glob("*"))
    args = ["bench", "--suite", "engines", "--engines-size", "32", "--engines-repeats", "1", "--engines-warmup", "1", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)["engines"]
    assert set(result["batches"]) == {"1", "8"} and result["size"] == 32 and result["matmul_gflops"]["fp32"] > 0
    for row in result["batches"].values():
        assert row["floor_ms"]["fp32"] > 0 and "torch eager fp32" in row["contenders"]
        assert all(engines.installed(n) == (f"project {n} fp32" in row["contenders"]) for n in ENGINES)
        # The stock contender needs torch.onnx.export, hence the onnx package (the bench extra): the
        # ratio is there exactly when it was measured, and a reason when it was not.
        stock = "onnxruntime fp32" in row["contenders"]
        assert ("project/onnxruntime fp32" in row["ratios"]) == (stock and engines.installed("onnxruntime"))
        if not stock:
            assert any("torch.onnx.export" in r or "onnxruntime fp32:" in r for r in result["not_measured"])
        # The runtimes at their own defaults beside the tuned ones, and the default install against the faster.
        defaults = [c for c in row["contenders"] if c.startswith(("onnxruntime defaults", "openvino defaults"))]
        assert ("onnxruntime defaults" in defaults) == stock
        assert ("default install / fastest peer" in row["ratios"]) == bool(defaults)
    assert result["auto"]["default"] == f"{engines.resolve('auto', cpu, default_precision(cpu))} {default_precision(cpu)}"
    assert set(result["cpu_features"]) <= set(engines_bench.CPU_FEATURES)
    assert result["auto"]["fp32"] == engines.resolve("auto", cpu, "fp32")
    assert set(result["first_prediction_s"]) == {n for n in ENGINES if engines.installed(n)}
    if not result["native_bf16"]:
        assert any("no native bf16" in reason for reason in result["not_measured"])
    text = engines_bench.describe(result)
    assert "auto picks" in text and "fp32 floor" in text and "first prediction after load" in text and "CPU features" in text
    assert sorted(cache.cache_dir().glob("*")) == before
