"""Train the LeNet feature extractors (seeded, CPU, a minute or two).

    python scripts/train_lenet.py --dataset mnist --root ../shared/data
    python scripts/train_lenet.py --dataset fashion_mnist --root /usr/share/datasets/fashion-mnist

MNIST: only the 10k test split is available offline, so it is shuffled and 2k are held out
(the first and last 5k come from different writer populations). Fashion-MNIST: trained on the
60k train split, evaluated on the 10k test split. Writes gankit/metrics/weights/lenet_<dataset>.safetensors.
"""
import argparse
import hashlib
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from gankit.data.base import to_unit_range
from gankit.data.mnist import fashion_mnist, mnist
from gankit.metrics.lenet import WEIGHTS_DIR, LeNet


def splits(dataset: str, root: str, seed: int):
    if dataset == "mnist":
        d = mnist(root, "test", download=False)
        perm = torch.randperm(len(d), generator=torch.Generator().manual_seed(seed))
        tr, te = perm[2000:], perm[:2000]
        return (d.images[tr], d.labels[tr]), (d.images[te], d.labels[te]), "held-out 2k of the shuffled test split"
    tr, te = fashion_mnist(root, "train", download=False), fashion_mnist(root, "test", download=False)
    return (tr.images, tr.labels), (te.images, te.labels), "10k test split"


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 pixels (the classifier should not key on exact position)."""
    pad = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
    return pad[:, :, dy:dy + 28, dx:dx + 28]


def accuracy(net: LeNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(c).argmax(1) for c in x.split(2000)])
    net.train()
    return float((pred == y).float().mean())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("mnist", "fashion_mnist"), required=True)
    p.add_argument("--root", required=True, help="folder with the IDX files")
    p.add_argument("--epochs", type=int, default=None, help="default: 6 (mnist), 2 (fashion_mnist)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    epochs = args.epochs or {"mnist": 6, "fashion_mnist": 2}[args.dataset]
    torch.manual_seed(args.seed)
    (xtr, ytr), (xte, yte), test_name = splits(args.dataset, args.root, args.seed)
    xtr, xte = to_unit_range(xtr), to_unit_range(xte)
    net = LeNet()
    steps = epochs * (len(xtr) // 64)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(len(xtr) // 64):
            idx = perm[i * 64:(i + 1) * 64]
            loss = F.cross_entropy(net(augment(xtr[idx], g)), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}, {test_name} accuracy "
              f"{accuracy(net, xte, yte):.4f} ({time.time() - t0:.0f} s)", flush=True)
    WEIGHTS_DIR.mkdir(exist_ok=True)
    path = WEIGHTS_DIR / f"lenet_{args.dataset}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{args.dataset}: {test_name} accuracy {accuracy(net, xte, yte):.4f}; wrote {path} "
          f"({path.stat().st_size} bytes, sha256 {sha})")


if __name__ == "__main__":
    main()
