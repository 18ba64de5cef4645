import pytest
import torch

from gankit.training import accel


@pytest.mark.parametrize("native,expected", [(True, "bf16"), (False, "no")])
def test_auto_precision_is_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, native, expected):
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: native, raising=False)
    assert accel.resolve_precision("auto", cpu=True) == expected
    assert accel.resolve_precision("no", cpu=True) == "no" and accel.resolve_precision("bf16", cpu=True) == "bf16"


def test_auto_precision_on_a_gpu_asks_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert accel.resolve_precision("auto", cpu=False) == "no"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert accel.resolve_precision("auto", cpu=False) == "bf16"
