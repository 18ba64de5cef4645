"""The evaluator: the recipe's metrics on ``eval.num_samples`` generated images vs real data.

Generated sample ``i`` always uses latent row ``i`` of one seeded draw and label ``i % classes``,
and the indices are spread over processes with an accelerate-prepared ``DataLoader(range(N))``
whose results are assembled with ``gather_for_metrics``: the same N samples on any process count.
Real features are computed once and cached (see ``gankit.metrics.cache``). A metric that needs
real images kept out of training (``heldout = True``: ``memorisation``) gets their features too;
where they come from (``data.holdout`` or the test split, ``gankit.data.holdout``) is settled,
and the images loaded, when the evaluator is built, so a run without any fails before training.
What a metric and an extractor may declare is their contract (``gankit.metrics.base``).
"""
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from gankit.config.registry import FEATURES, METRICS
from gankit.data.base import ImageData, to_unit_range
from gankit.data.holdout import heldout_images
from gankit.errors import GankitError
from gankit.metrics import cache
from gankit.metrics.draws import draw_labels, latents
from gankit.metrics.labels import Described, spread

# Data no extractor declares itself trained on (``trained_on``) is matched by image size.
SMALL_IMAGE_FEATURES, LARGE_IMAGE_FEATURES, SMALL_SIDE = "lenet_mnist", "inception_v3", 32
DEFAULT_METRICS = ("fd", "classifier_score", "mode_coverage")
CONDITIONAL_METRICS = ("label_agreement", "intra_fd")  # added to the defaults for class-conditional generators
GEN_BATCH = 500
FLOOR_SPLITS = 5  # random half/half splits of the real reference the real-vs-real floor is averaged over


def default_features(data_name: str | None, img_shape) -> str:
    """The extractor for a dataset: the one registered as trained on it (its factory's ``trained_on``),
    else LeNet for small images, Inception-v3 for larger ones."""
    for entry in FEATURES:
        if data_name is not None and data_name in entry.obj.trained_on:
            return entry.name
    c, h, w = img_shape
    return SMALL_IMAGE_FEATURES if max(h, w) <= SMALL_SIDE else LARGE_IMAGE_FEATURES


@dataclass
class _Planned:
    metric: object
    features: str
    key: str
    name: str
    num_samples: int  # generated samples it reads: the first N of the draw (a preset fixes its own)


class Evaluator:
    """Evaluator(cfg, data, device)(G, accelerator) → {metric key: value, ..., "eval_s": seconds}.

    ``conditional``: whether the generator to evaluate is class-conditional, when known up front;
    it adds the label metrics to the defaults and checks label metrics before any work is done.
    """

    def __init__(self, cfg: DictConfig, data: ImageData, device="cpu", metrics: list | None = None,
                 conditional: bool | None = None):
        self.ecfg = cfg.eval
        self.data, self.device = data, torch.device(device)
        self.data_node = _plain(cfg.data)
        self.default = default_features(self.data_node.get("name"), data.img_shape)
        nodes = metrics if metrics is not None else _plain(cfg.metrics)
        nodes = nodes or [{"name": n} for n in DEFAULT_METRICS + (CONDITIONAL_METRICS if conditional else ())]
        self.plan = []
        for i, node in enumerate(nodes):
            node = {"name": node} if isinstance(node, str) else dict(node)
            m = METRICS.build(node, f"metrics[{i}]")
            feats = m.features or self.default
            FEATURES.entry(feats, f"metrics[{i}].features")
            self.plan.append(_Planned(m, feats, f"metrics[{i}]", node["name"],
                                      int(m.num_samples or self.ecfg.num_samples)))
            self._check_reference(self.plan[-1])
        self.num_samples = max([p.num_samples for p in self.plan] or [self.ecfg.num_samples])
        self._heldout: dict = {}  # metric source → (held-out ImageData, "holdout" | "test")
        for p in self.plan:
            if p.metric.labels:
                self._check_labels(p, conditional)
            if p.metric.heldout and p.metric.source not in self._heldout:
                self._heldout[p.metric.source] = heldout_images(data, self.data_node, p.metric.source, p.key)
        self.described: dict[str, Described] = {}
        self.floor_values: dict[str, list[float]] = {}
        self.floor_described: dict[str, Described] = {}
        self._floor_summary: dict | None = None  # metric key → what its last value was computed on
        self._extractors: dict = {}
        self._reference: dict = {}
        self._loaders: dict = {}
        self._content: dict = {}  # id(ImageData) → sha256 of its images (the cache key's dataset content)
        for name in sorted({p.features for p in self.plan}):
            self.extractor(name)  # missing weights fail here, before any training or sampling

    # -- extractors and real features ------------------------------------------------
    def extractor(self, name: str):
        if name not in self._extractors:
            ex = FEATURES.build({"name": name}, "metrics.features", {"device": self.device})
            for p in self.plan:
                if p.features == name and p.metric.input not in ex.outputs:
                    raise GankitError(f"{p.key}: metric needs '{p.metric.input}' but extractor '{name}' gives only "
                                      f"{', '.join(ex.outputs)}. Choose another features: extractor.")
            self._extractors[name] = ex
        return self._extractors[name]

    def real_indices(self) -> torch.Tensor:
        n_all = len(self.data)
        n = min(self.ecfg.real_samples or n_all, n_all)
        if n >= n_all:
            return torch.arange(n_all)
        return torch.randperm(n_all, generator=torch.Generator().manual_seed(self.ecfg.seed))[:n]

    def reference(self, name: str) -> dict[str, torch.Tensor]:
        """Extractor outputs on the real images (cached on disk and in memory)."""
        if name not in self._reference:
            idx = self.real_indices()
            subset_seed = self.ecfg.seed if len(idx) < len(self.data) else None
            self._reference[name] = self._features(name, self.data, idx, {"subset_seed": subset_seed})
        return self._reference[name]

    def heldout_reference(self, name: str, source: str = "auto") -> dict[str, torch.Tensor]:
        """Extractor outputs on the held-out real images of a metric's ``source`` (cached like ``reference``)."""
        if (name, source) not in self._reference:
            images, where = self._heldout[source]
            self._reference[name, source] = self._features(name, images, torch.arange(len(images)),
                                                           {"subset_seed": None, "heldout": where})
        return self._reference[name, source]

    def _features(self, name: str, data: ImageData, idx: torch.Tensor, extra: dict) -> dict[str, torch.Tensor]:
        ex = self.extractor(name)
        if id(data) not in self._content:
            self._content[id(data)] = cache.content_sha256(data.images)
        meta = {"data": _absolute_root(self.data_node), "img_shape": list(data.img_shape), "num_images": len(data),
                "content_sha256": self._content[id(data)],
                "extractor": name, "weights_sha256": ex.weights_sha256, "count": len(idx),
                "fast": bool(ex.fast), **extra}
        out = cache.load(meta)
        if out is None:
            out = {}
            for chunk in idx.split(2000):
                for k, v in ex.extract(to_unit_range(data.images[chunk])).items():
                    out.setdefault(k, []).append(v.cpu())
            out = {k: torch.cat(v) for k, v in out.items()}
            cache.save(meta, out)
        return out

    # -- generated features -------------------------------------------------------------
    def fake_labels(self, G) -> torch.Tensor | None:
        """The label of every generated sample (``i % classes``), None for an unconditional G."""
        return draw_labels(G, self.num_samples, self.data.num_classes or 0)

    @torch.no_grad()
    def generated(self, G, accelerator) -> dict[str, dict[str, torch.Tensor]]:
        n = self.num_samples
        z_all = latents(n, G.z_dim, self.ecfg.seed)
        labels = self.fake_labels(G)
        names = sorted({p.features for p in self.plan})
        extractors = {k: self.extractor(k) for k in names}
        out: dict = {k: {} for k in names}
        was_training = G.training
        G.eval()
        try:
            for idx in self._loader(accelerator, n):
                idx = idx.cpu()
                y = None if labels is None else labels[idx].to(self.device)
                x = G(z_all[idx].to(self.device), y).float().clamp(-1.0, 1.0)  # the image as saved, as real data
                local = {k: ex.extract(x) for k, ex in extractors.items()}
                gathered = accelerator.gather_for_metrics(local)
                for k, d in gathered.items():
                    for o, v in d.items():
                        out[k].setdefault(o, []).append(v.cpu())
        finally:
            G.train(was_training)
        return {k: {o: torch.cat(v) for o, v in d.items()} for k, d in out.items()}

    def _loader(self, accelerator, n: int):
        key = (id(accelerator), n)
        if key not in self._loaders:
            dl = torch.utils.data.DataLoader(range(n), batch_size=GEN_BATCH, shuffle=False)
            self._loaders[key] = accelerator.prepare_data_loader(dl)
        return self._loaders[key]

    # -- results ----------------------------------------------------------------------
    def __call__(self, G, accelerator) -> dict[str, float]:
        t0 = time.perf_counter()
        refs = {p.features: self.reference(p.features) for p in self.plan}
        fake = self.generated(G, accelerator)  # gathered in sample order 0..n-1, as fake_labels(G)
        y_real, y_fake = self.real_labels(), self.fake_labels(G)
        results = {}
        for p in self.plan:
            inp = p.metric.input
            if p.metric.labels:
                self._check_labels(p, y_fake is not None)
            n = p.num_samples
            out = self._run(p, refs[p.features][inp], fake[p.features][inp][:n], y_real,
                            None if y_fake is None else y_fake[:n], self._heldout_input(p))
            results.update(out)
            for k in out:
                self.described[k] = Described(p.features, min(n, fake[p.features][inp].shape[0]),
                                              refs[p.features][inp].shape[0])
        results["eval_s"] = round(time.perf_counter() - t0, 2)
        return results

    def labels(self, prefix: str = "") -> dict[str, str]:
        """{key: label} of the last evaluation's metrics (``prefix``: of keys logged as ``prefix + key``)."""
        return {prefix + k: d.label(prefix + k) for k, d in self.described.items()}

    def floor_summary(self) -> dict[str, dict]:
        """{key: {"mean", "sd", "n", "splits"}}: the real-vs-real floor at ``eval.num_samples``, computed once
        (what a training run's eval rows name beside each metric)."""
        if self._floor_summary is None:
            self.floor(self.ecfg.num_samples)
            self._floor_summary = {k: spread(v) | {"n": self.floor_described[k].generated, "splits": len(v)}
                                   for k, v in self.floor_values.items()}
        return self._floor_summary

    def floor(self, n: int | None = None, splits: int = FLOOR_SPLITS) -> dict[str, float]:
        """The metrics of real vs real, as the mean over ``splits`` random splits of the reference into two
        disjoint subsets of min(n, half the reference) each.

        What a perfect generator would score at this sample count (FD and KID are biased upwards
        at small N); ``floor_n`` is the subset size used, ``floor_splits`` the number of splits, and
        ``floor_values`` keeps each metric's value on every split (its spread is the floor's sd)."""
        n = n or self.ecfg.num_samples
        y = self.real_labels()
        values: dict[str, list[float]] = {}
        sizes = {}
        for p in self.plan:
            ref = self.reference(p.features)[p.metric.input]
            m = min(p.metric.num_samples or n, ref.shape[0] // 2)
            for s in range(splits):
                gen = torch.Generator().manual_seed(self.ecfg.seed + 1 + s)
                perm = torch.randperm(ref.shape[0], generator=gen)
                a, b = perm[:m], perm[m:2 * m]
                out = self._run(p, ref[a], ref[b], *((y[a], y[b]) if y is not None else (None, None)),
                                self._heldout_input(p))
                for k, v in out.items():
                    values.setdefault(k, []).append(v)
                    sizes[k] = (p.features, m)
        self.floor_values = values
        self.floor_described = {k: Described(f, m, m) for k, (f, m) in sizes.items()}
        results = {k: sum(v) / len(v) for k, v in values.items()}
        results["floor_n"] = min(m for _, m in sizes.values()) if sizes else 0
        results["floor_splits"] = splits
        return results

    def real_labels(self) -> torch.Tensor | None:
        """The labels of the reference rows (None for unlabelled data)."""
        return None if self.data.labels is None else self.data.labels[self.real_indices()]

    def _check_reference(self, p: _Planned) -> None:
        if p.metric.full_reference and (self.ecfg.real_samples or len(self.data)) < len(self.data):
            raise GankitError(f"{p.key}: '{p.name}' compares with every real image, and eval.real_samples is "
                              f"{self.ecfg.real_samples}. Set eval.real_samples=null (gankit eval: drop --real-samples).")

    def _check_labels(self, p: _Planned, conditional: bool | None) -> None:
        if self.data.labels is None:
            raise GankitError(f"{p.key}: metric '{p.name}' needs labelled data, and '{self.data_node.get('name')}' "
                              f"has no labels. Remove it from metrics:.")
        if conditional is False:
            raise GankitError(f"{p.key}: metric '{p.name}' compares samples with the labels they were generated for, "
                              f"and this generator is not class-conditional. Remove it from metrics:.")

    def _heldout_input(self, p: _Planned) -> torch.Tensor | None:
        if not p.metric.heldout:
            return None
        return self.heldout_reference(p.features, p.metric.source)[p.metric.input]

    def _run(self, p: _Planned, real, fake, real_labels=None, fake_labels=None, heldout=None) -> dict[str, float]:
        kwargs = {}
        if p.metric.labels:
            kwargs.update(real_labels=real_labels, fake_labels=fake_labels)
        if p.metric.heldout:
            kwargs["heldout"] = heldout
        if p.metric.on_device:
            kwargs["device"] = self.device
        try:
            out = p.metric(real, fake, **kwargs)
            return {k: float(v) for k, v in out.items()}
        except ValueError as e:
            raise GankitError(f"{p.key}: metric could not be computed on {real.shape[0]} real and "
                              f"{fake.shape[0]} generated samples ({e}). Raise eval.num_samples.") from e


def _absolute_root(node: dict) -> dict:
    """The data node with a relative ``root`` made absolute (``data`` in two folders is two datasets)."""
    root = node.get("root")
    return {**node, "root": str(Path(root).expanduser().resolve())} if isinstance(root, str) else node


def _plain(node):
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node
