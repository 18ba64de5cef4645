"""Make the ``vgg16_pr`` weights file from NVlabs' TorchScript ``vgg16.pt`` (run once, offline).

    python scripts/convert_vgg16.py vgg16.pt ~/.cache/torch/hub/checkpoints/vgg16-nvlabs-state-dict.pth

``vgg16.pt`` is the file NVlabs' stylegan2-ada-pytorch downloads for ``pr50k3_full``
(https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt). This script
opens it with ``torch.jit.load`` (a TorchScript model file you chose to place; gankit's evaluator never
does this), renames its tensors to torchvision vgg16's keys and saves a plain state dict, which the
evaluator reads with ``torch.load(weights_only=True)``.
"""
import argparse
import hashlib

import torch

from gankit.metrics.vgg16 import from_nvlabs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="NVlabs' vgg16.pt (TorchScript)")
    ap.add_argument("dst", help="where to write the state dict (GANKIT_VGG16_WEIGHTS or torch hub's checkpoints/)")
    args = ap.parse_args(argv)
    state = from_nvlabs(torch.jit.load(args.src, map_location="cpu").state_dict())
    torch.save({k: v.detach().clone().contiguous() for k, v in state.items()}, args.dst)
    with open(args.dst, "rb") as f:
        print(f"wrote {args.dst}: {len(state)} tensors, sha256 {hashlib.sha256(f.read()).hexdigest()}")


if __name__ == "__main__":
    main()
