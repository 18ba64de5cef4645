"""gankit export RUN_DIR_OR_CHECKPOINT OUT [--format safetensors|torchscript|onnx] [--raw] [--overwrite] [--push REPO]

safetensors (the default) writes the portable model folder OUT (weights, config.json, model card,
sample grid) that ``gankit.load_generator`` and the Hub take; torchscript and onnx write one file.
Every export is checked by loading what was written and running it on the same latents as the
PyTorch generator; the largest absolute difference is printed, and one above --atol is an error.
"""
from pathlib import Path

from gankit.errors import GankitError
from gankit.runs import portable
from gankit.runs.export import check_out, load_with_config, write_model_folder
from gankit.runs.hub import push_to_hub
from gankit.runs.inference import TRUST_PLUGINS_HELP, generate
from gankit.runs.model_folder import load_folder
from gankit.runs.signature import CHECK_N, CHECK_SEED, example_inputs


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a trained generator as a shareable folder, TorchScript or ONNX file")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("out", metavar="OUT", help="a new folder (safetensors) or file (torchscript: .pt, onnx: .onnx)")
    p.add_argument("--format", choices=portable.FORMATS, default="safetensors",
                   help="safetensors model folder (default), torchscript or onnx file")
    p.add_argument("--raw", action="store_true", help="the trained weights, not their EMA (default: the EMA when "
                                                      "the run kept one)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export at OUT (only its files: other files there stay)")
    p.add_argument("--atol", type=float, default=1e-4,
                   help="largest accepted |exported − PyTorch| output difference (default 1e-4)")
    p.add_argument("--push", metavar="REPO_ID", help="also upload the folder to this Hugging Face Hub repo "
                                                     "(user/name; created when missing; safetensors only)")
    p.add_argument("--private", action="store_true", help="with --push: create the repo as private")
    p.add_argument("--trust-plugins", action="store_true", help=TRUST_PLUGINS_HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.push and args.format != "safetensors":
        raise GankitError(f"--push: uploads the safetensors model folder, not a {args.format} file. Drop --push, "
                          f"or export with --format safetensors.")
    if not args.atol >= 0:
        raise GankitError(f"--atol: must be ≥ 0, got {args.atol}.")
    if args.format == "safetensors":
        check_out(Path(args.out), args.overwrite)  # before the (slower) loading
    else:
        _file_path(Path(args.out), args.format, args.overwrite)
    G, config = load_with_config(args.checkpoint, ema=False if args.raw else None, trust_plugins=args.trust_plugins)
    inputs = example_inputs(G, CHECK_N)
    if args.format == "safetensors":
        out = write_model_folder(G, config, args.out, overwrite=args.overwrite)
        z, labels = inputs[0], (inputs[1] if len(inputs) > 1 else None)
        diff = float((generate(load_folder(out), z, labels) - generate(G, z, labels)).abs().max())
        what = f"model folder {out} (model.safetensors, config.json, README.md, samples.png)"
    else:
        out = _file_path(Path(args.out), args.format, args.overwrite)
        batch = portable.export_file(G, args.format, out, config)
        diff = portable.verify(G, out, args.format)
        what = f"{args.format} file {out}" + ("" if batch is None else f" (takes {batch} latent(s) per call: "
                                                                      f"this generator's graph fixes the batch size)")
    print(f"wrote {what} of generator '{config['generator']['name']}' ({config['weights']} weights, step "
          f"{config['trained']['step']})")
    print(f"check: max abs difference vs PyTorch on {CHECK_N} samples (seed {CHECK_SEED}): {diff:.3g}")
    if diff > args.atol:
        raise GankitError(f"{out}: the exported generator differs from the PyTorch one by up to {diff:.3g} (more than "
                          f"--atol {args.atol:g}). Use another --format, or raise --atol if that is acceptable.")
    if args.push:
        print(f"pushed to {push_to_hub(out, args.push, private=args.private or None)}")
    return 0


def _file_path(out: Path, fmt: str, overwrite: bool) -> Path:
    """OUT as a file name: the format's suffix added when OUT has none."""
    if not out.suffix:
        out = out.with_suffix(portable.SUFFIX[fmt])
    if not out.parent.is_dir():
        raise GankitError(f"OUT: folder {out.parent} does not exist. Create it or choose another path.")
    if out.is_dir():
        raise GankitError(f"OUT: {out} is a folder; --format {fmt} writes one file. Give a file name, e.g. "
                          f"{out / ('generator' + portable.SUFFIX[fmt])}.")
    if out.exists() and not overwrite:
        raise GankitError(f"OUT: {out} exists. Choose another name, or pass --overwrite to replace it.")
    if out.exists() and not portable.is_export_file(out, fmt):
        raise GankitError(f"OUT: {out} is not an earlier gankit {fmt} export, so --overwrite does not replace it. "
                          f"Choose another name, or move that file away.")
    return out
