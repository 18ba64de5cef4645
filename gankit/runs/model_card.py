"""The model card (README.md) of an exported generator, written from its config.json.

Markdown with the Hub's YAML metadata block on top, so it renders on the Hub, on GitHub and in
any Markdown viewer: the sample grid, how to load and sample, the model's facts, the final
metrics table and the recipe it was trained with. It is derived data: ``render_card(config)``
writes it again at any time (``push_to_hub`` does, to put the repo id in the usage lines).

Everything it copies from the run (name, description, metric names, arguments, plugin names) is
text, not markup: written by ``_text`` (one line, HTML escaped, Markdown punctuation escaped) or
``_code`` (a code span), and the recipe sits in a fence longer than any run of backticks in it.
"""
import html
import re

import yaml

from gankit.runs.model_folder import GRID_FILE

_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")


def _text(value) -> str:
    """``value`` as inert Markdown: on one line, HTML escaped, Markdown punctuation backslash-escaped."""
    return _MARKUP.sub(r"\\\1", html.escape(" ".join(str(value).split()), quote=False))


def _code(value) -> str:
    """``value`` as a code span (shown as it is), or as ``_text`` when it holds a backtick or a table's ``|``."""
    text = " ".join(str(value).split())
    return f"`{text}`" if text and "`" not in text and "|" not in text else _text(text)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text`` (so ``text`` cannot close it)."""
    return "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", text)), default=0))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return _text(v)


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
             f"# {_text(title)}: a gankit {_code(name)} generator", ""]
    if recipe.get("description"):
        lines += [_text(recipe["description"]), ""]
    grid = config.get("grid") or {}
    seed = _text(grid.get("seed", 0))
    lines += [f"![Samples of seed {seed}]({GRID_FILE})", "",
              f"*{_text(grid.get('num', ''))} samples of seed {seed}"
              + (", one column per class" if conditional else "") + ", written when the generator was exported.*", ""]
    lines += ["## Use", "", "```python", "import gankit", "",
              f'G = gankit.load_generator("{where}")',
              "images = gankit.sample(G, 16, seed=0)   # (16, C, H, W) in [-1, 1]"
              + ("; labels i % classes unless labels= is given" if conditional else ""),
              "```", "", "or from the shell:", "", "```bash",
              f"gankit sample {where} --num 64 --out samples.png",
              f"gankit sample {where} --seed 0-7 --interpolate 8 --out walk.png   # also walk.gif",
              "```", ""]
    shape = _text("×".join(str(s) for s in config["img_shape"]))
    args = _text(", ".join(f"{k}={v}" for k, v in gen.items() if k != "name") or "defaults")
    trained = config.get("trained") or {}
    facts = [("generator", f"{_code(name)} ({args})"), ("image shape", shape),
             ("classes", _text(config["num_classes"]) if conditional else "unconditional"),
             ("z size", _text(config["z_dim"])),
             ("weights", "EMA" if config.get("weights") == "ema" else "trained (no EMA)"),
             ("truncation", "w (mapping network)" if config.get("truncation") == "w" else "z (scaled latents)")]
    if trained:
        data = (recipe.get("data") or {}).get("name", "?")
        facts.append(("trained", f"{_text(trained.get('step'))} steps on {_code(data)}"))
    facts.append(("gankit", _text(config.get("gankit_version", "?"))))
    for rec in config.get("plugins", []):
        source = (f"package {rec['package']} {rec.get('version') or ''}" if rec.get("package")
                  else f"file {rec['file']}" if rec.get("file") else f"module {rec.get('module')}")
        facts.append((f"plugin {_code(rec['component'])}", _text(source.strip())))
    lines += ["## Model", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts] + [""]
    metrics = config.get("metrics") or {}
    lines += ["## Metrics", ""]
    if metrics:
        lines += ["| metric | value | step |", "|---|---|---|"]
        lines += [f"| {_text(m.get('label') or k)} | {_fmt(m['value'])} | {_text(m['step'])} |"
                  for k, m in sorted(metrics.items())]
        lines += ["", "The last evaluation logged during training at or before the exported step "
                      "(see the recipe's `metrics:` and `eval:` for how).", ""]
    else:
        lines += ["No evaluation was logged during training (`gankit eval` computes metrics of the run).", ""]
    if recipe:
        text = yaml.safe_dump(recipe, sort_keys=False).strip()
        lines += ["## Recipe", "", f"{_fence(text)}yaml", text, _fence(text), ""]
    return "\n".join(lines)
