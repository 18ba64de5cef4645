"""The model card (README.md) of an exported generator, written from its config.json.

Markdown with the Hub's YAML metadata block on top, so it renders on the Hub, on GitHub and in
any Markdown viewer: the sample grid, how to load and sample, the model's facts, the final
metrics table and the recipe it was trained with. It is derived data: ``render_card(config)``
writes it again at any time (``push_to_hub`` does, to put the repo id in the usage lines).
"""
import yaml

from gankit.runs.model_folder import GRID_FILE


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def render_card(config: dict, repo_id: str | None = None) -> str:
    """README.md text for an export's ``config`` (``repo_id``: where it lives on the Hub, if known)."""
    gen = config["generator"]
    name = gen["name"]
    conditional = bool(config.get("conditional"))
    where = repo_id or "path/to/this/folder"
    meta = {"library_name": "gankit", "tags": ["gankit", "gan", "image-generation", name],
            "pipeline_tag": "unconditional-image-generation"}
    recipe = config.get("recipe") or {}
    title = (config.get("trained") or {}).get("run") or name
    lines = ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", "",
             f"# {title}: a gankit `{name}` generator", ""]
    if recipe.get("description"):
        lines += [str(recipe["description"]), ""]
    grid = config.get("grid") or {}
    lines += [f"![Samples of seed {grid.get('seed', 0)}]({GRID_FILE})", "",
              f"*{grid.get('num', '')} samples of seed {grid.get('seed', 0)}"
              + (", one column per class" if conditional else "") + ", written when the generator was exported.*", ""]
    lines += ["## Use", "", "```python", "import gankit", "",
              f'G = gankit.load_generator("{where}")',
              "images = gankit.sample(G, 16, seed=0)   # (16, C, H, W) in [-1, 1]"
              + ("; labels i % classes unless labels= is given" if conditional else ""),
              "```", "", "or from the shell:", "", "```bash",
              f"gankit sample {where} --num 64 --out samples.png",
              f"gankit sample {where} --seed 0-7 --interpolate 8 --out walk.png   # also walk.gif",
              "```", ""]
    shape = "×".join(str(s) for s in config["img_shape"])
    args = ", ".join(f"{k}={v}" for k, v in gen.items() if k != "name") or "defaults"
    trained = config.get("trained") or {}
    facts = [("generator", f"`{name}` ({args})"), ("image shape", shape),
             ("classes", config["num_classes"] if conditional else "unconditional"),
             ("z size", config["z_dim"]), ("weights", "EMA" if config.get("weights") == "ema" else "trained (no EMA)"),
             ("truncation", "w (mapping network)" if config.get("truncation") == "w" else "z (scaled latents)")]
    if trained:
        facts.append(("trained", f"{trained.get('step')} steps on `{(recipe.get('data') or {}).get('name', '?')}`"))
    facts.append(("gankit", config.get("gankit_version", "?")))
    for rec in config.get("plugins", []):
        source = (f"package {rec['package']} {rec.get('version') or ''}" if rec.get("package")
                  else f"file {rec['file']}" if rec.get("file") else f"module {rec.get('module')}")
        facts.append((f"plugin `{rec['component']}`", source.strip()))
    lines += ["## Model", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts] + [""]
    metrics = config.get("metrics") or {}
    lines += ["## Metrics", ""]
    if metrics:
        lines += ["| metric | value | step |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(m['value'])} | {m['step']} |" for k, m in sorted(metrics.items())]
        lines += ["", "The last evaluation logged during training at or before the exported step "
                      "(see the recipe's `metrics:` and `eval:` for how).", ""]
    else:
        lines += ["No evaluation was logged during training (`gankit eval` computes metrics of the run).", ""]
    if recipe:
        lines += ["## Recipe", "", "```yaml", yaml.safe_dump(recipe, sort_keys=False).strip(), "```", ""]
    return "\n".join(lines)
