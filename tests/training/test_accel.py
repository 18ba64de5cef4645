import json
import os
import platform
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import torch

from gankit.config import recipe, validate
from gankit.errors import GankitError
from gankit.training import accel


@pytest.mark.parametrize("native,expected", [(True, "bf16"), (False, "no")])
def test_auto_precision_is_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, native, expected):
    for cap in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):  # no instruction-set cap: the probes decide
        monkeypatch.delenv(cap, raising=False)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: native, raising=False)
    assert accel.resolve_precision("auto", cpu=True) == expected
    assert accel.resolve_precision("no", cpu=True) == "no" and accel.resolve_precision("bf16", cpu=True) == "bf16"


def test_auto_precision_on_a_gpu_asks_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert accel.resolve_precision("auto", cpu=False) == "no"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert accel.resolve_precision("auto", cpu=False) == "bf16"


def test_a_onednn_cap_below_bf16_makes_bf16_not_native(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert accel.native_bf16(cpu=True) is False and accel.resolve_precision("auto", cpu=True) == "no"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a cap that keeps bf16: the CPU's flags decide
    for flags in (False, True):
        for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
            monkeypatch.setattr(torch.cpu, probe, lambda: flags, raising=False)
        assert accel.native_bf16(cpu=True) is flags


# oneDNN capped at AVX2 runs bf16 the way an AVX2-only CPU does (emulated): the probe, the warning and the bench
# line are checked on that real slow kernel, in a fresh process (oneDNN reads the cap once).
EMULATED = r"""
import json, sys, time, warnings, torch
from gankit.config import recipe
from gankit.training import accel
t0 = time.perf_counter()
probe = accel.slowdown_probe(torch.device("cpu"))
probe_s = time.perf_counter() - t0
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    mp = accel.make_accelerator(recipe.load(sys.argv[1], ["trainer.precision=bf16"])).mixed_precision
    accel.make_accelerator(recipe.load(sys.argv[1], ["trainer.precision=auto"]))
print(json.dumps({"native": accel.native_bf16(True), "probe": probe, "probe_s": probe_s, "mp": mp,
                  "warnings": [str(w.message) for w in caught if w.category is RuntimeWarning]}))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="ONEDNN_MAX_CPU_ISA=AVX2 is an x86 cap")
def test_emulated_bf16_is_probed_tiny_and_an_explicit_bf16_warns_with_the_factor(tiny_recipe):
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", EMULATED, str(tiny_recipe)], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    r = json.loads(out.splitlines()[-1])
    assert r["native"] is False and r["mp"] == "bf16"
    p = r["probe"]
    assert p["n"] <= 256 and r["probe_s"] < 0.5  # never a big emulated matmul
    assert p["slowdown"] > 5 and p["gflops"] < 20  # emulated bf16: 0.7-1.7 GFLOP/s against ~100 for fp32 here
    (warning,) = r["warnings"]  # bf16 warns; auto (which resolves to fp32 here) does not
    factor = float(re.search(r"ran (\d+)x slower than fp32", warning).group(1))
    assert factor > 5 and "trainer.precision=no" in warning and "trainer.precision=auto" in warning


def test_native_precisions_and_fp16_on_cpus():
    assert accel.native("no", cpu=True) is True and accel.native("fp16", cpu=True) is False
    assert accel.native("bf16", cpu=True) == accel.native_bf16(cpu=True)


def test_a_native_bf16_gives_no_warning(tiny_recipe, monkeypatch, recwarn):
    monkeypatch.setattr(accel, "native_bf16", lambda cpu: True)
    acc = accel.make_accelerator(recipe.load(tiny_recipe, ["trainer.precision=bf16"]))
    assert acc.mixed_precision == "bf16" and not [w for w in recwarn if "emulated" in str(w.message)]


def test_compile_auto_is_eager_on_cpus_and_compiled_on_cuda():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert accel.resolve_compile("auto", cpu) is False and accel.resolve_compile("auto", cuda) is True
    assert accel.resolve_compile(True, cpu) is True and accel.resolve_compile(False, cuda) is False


def test_compile_and_timeout_keys_are_checked(tiny_recipe):
    cfg = recipe.load(tiny_recipe, ["trainer.compile=auto", "ddp.timeout_s=20"])
    assert cfg.trainer.compile == "auto" and validate.settings_problems(cfg) == []
    assert accel.process_group_kwargs(cfg) == {"timeout": timedelta(seconds=20)}
    bad = recipe.load(tiny_recipe, ["trainer.compile=sometimes", "ddp.timeout_s=0"])
    found = validate.settings_problems(bad)
    assert len(found) == 2 and found[0].startswith("trainer.compile: 'sometimes'") and found[1].startswith("ddp.timeout_s: 0")
    assert recipe.is_resume_safe("ddp.timeout_s")  # how long to wait changes nothing a checkpoint holds


GLOO_RESET = ("[gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:1965: Connection reset by peer. This is "
              "typically caused by a remote worker hanging or bugs in the application.")
GLOO_TIMEOUT = "[gloo/transport/tcp/unbound_buffer.cc:78] Timed out waiting 20000ms for recv operation to complete"


@pytest.mark.parametrize("text", [GLOO_RESET, GLOO_TIMEOUT])
def test_a_failed_collective_names_the_likely_dead_rank_and_the_resume(text):
    e = accel.lost_process_error(RuntimeError(text), rank=0, world=2, timeout_s=20, run="runs/x")
    assert isinstance(e, GankitError)
    msg = str(e)
    assert msg.startswith("distributed: rank 0 of 2 lost contact") and "rank 1 likely died" in msg
    assert "gankit train --resume runs/x" in msg and "ddp.timeout_s=20 s" in msg and text.splitlines()[0] in msg
    many = str(accel.lost_process_error(RuntimeError(text), rank=2, world=4, timeout_s=600, run="r"))
    assert "rank 2 of 4" in many and "one of ranks 0, 1, 3 " in many


def test_other_errors_and_single_processes_are_not_called_a_lost_rank():
    assert accel.lost_process_error(RuntimeError(GLOO_RESET), rank=0, world=1, timeout_s=600, run="r") is None
    assert accel.lost_process_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied"), 0, 2, 600, "r") is None
    assert accel.lost_process_error(ValueError(GLOO_RESET), 0, 2, 600, "r") is None
