"""The recipe schema: typed dataclasses with their defaults (the one place defaults live)."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

PRECISIONS = ("no", "bf16", "fp16", "auto")


@dataclass
class OptimizerCfg:
    """The optimizer of one network (its values may follow a schedule: see ``schedules``)."""

    name: str = "adam"  # an optimizer of the `optimizers` registry (adam, adamw, sgd, or a plugin's)
    args: Dict[str, Any] = field(default_factory=dict)  # more keyword arguments of that optimizer
    lr: float = 2e-4
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = 0.0
    grad_clip: Optional[float] = None  # max global grad norm, None = off


@dataclass
class OptimCfg:
    g: OptimizerCfg = field(default_factory=OptimizerCfg)
    d: OptimizerCfg = field(default_factory=OptimizerCfg)


@dataclass
class DDPCfg:
    find_unused_parameters: bool = False
    broadcast_buffers: bool = True
    sync_batchnorm: bool = False
    timeout_s: int = 600  # seconds a process waits in a collective before giving up (a rank that died or hangs)


@dataclass
class EMACfg:
    """An exponential moving average of G; sampling and evaluation use it when enabled."""

    enabled: bool = False
    half_life_kimg: float = 10.0  # half-life of the average, in thousands of images seen
    rampup: Optional[float] = 0.05  # half-life ≤ rampup × images seen so far (null: no ramp-up)
    decay: Optional[float] = None  # a fixed per-step decay instead of the half-life (e.g. 0.999)
    start: int = 0  # step from which the EMA tracks G (copied before)
    bn_batches: int = 8  # batches of latents that recompute a BatchNorm G's statistics for the averaged weights


@dataclass
class EvalCfg:
    num_samples: int = 10000  # generated samples per evaluation (the same set on any process count)
    real_samples: Optional[int] = None  # real images for reference statistics (None = all)
    best: Optional[str] = None  # metric key that chooses the `best` checkpoint, e.g. "fd"
    best_mode: str = "min"  # min | max
    seed: int = 12345
    raw: bool = False  # with EMA on, also score the raw generator (its metrics logged as raw_<name>)


@dataclass
class TrainerCfg:
    epochs: int = 10
    max_steps: Optional[int] = None  # when set, wins over epochs
    batch_size: int = 128  # global batch per step, split across processes
    d_steps: int = 1
    g_steps: int = 1
    grad_accum: int = 1
    precision: str = "no"  # no | bf16 | fp16 | auto (bf16 where the hardware runs it natively, else no)
    channels_last: bool = False
    compile: Union[bool, str] = False  # true | false | auto (compile on CUDA, eager on CPU where it measured slower)
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    eval_every: Optional[int] = None
    num_grid: int = 64  # images in each sample grid
    on_nonfinite: str = "stop"  # stop | skip
    cpu: bool = False  # force CPU even when a GPU is present


@dataclass
class OutputCfg:
    root: str = "runs"  # run dirs are created under it unless --out is given


@dataclass
class Recipe:
    generator: Dict[str, Any] = field(default_factory=lambda: {"name": "dcgan_mnist"})
    discriminator: Dict[str, Any] = field(default_factory=lambda: {"name": "dcgan_mnist"})
    loss: Dict[str, Any] = field(default_factory=lambda: {"name": "non_saturating"})
    data: Dict[str, Any] = field(default_factory=lambda: {"name": "mnist"})
    penalties: List[Dict[str, Any]] = field(default_factory=list)
    augment: Optional[Dict[str, Any]] = None
    schedules: Dict[str, Any] = field(default_factory=dict)  # recipe key -> schedule node (training/schedules.py)
    metrics: List[Dict[str, Any]] = field(default_factory=list)
    side_jobs: List[Dict[str, Any]] = field(default_factory=list)
    optim: OptimCfg = field(default_factory=OptimCfg)
    trainer: TrainerCfg = field(default_factory=TrainerCfg)
    ema: EMACfg = field(default_factory=EMACfg)
    eval: EvalCfg = field(default_factory=EvalCfg)
    ddp: DDPCfg = field(default_factory=DDPCfg)
    output: OutputCfg = field(default_factory=OutputCfg)
    plugins: List[str] = field(default_factory=list)
    trackers: List[str] = field(default_factory=list)
    description: str = ""


# Keys a resumed run may change (everything else must match the stored recipe).
RESUME_SAFE_KEYS = (
    "trainer.epochs", "trainer.max_steps", "trainer.log_every", "trainer.sample_every",
    "trainer.checkpoint_every", "trainer.keep_checkpoints", "trainer.eval_every", "trainer.num_grid",
    "trainer.on_nonfinite", "ddp.timeout_s", "trackers", "output", "description", "side_jobs",
)

# Keys that moved, and where to (the message a recipe that still uses one gets).
MOVED = {f"optim.{net}.schedule": f"an lr schedule is one of the recipe's schedules now: write "
                                  f"`schedules: {{optim.{net}.lr: {{name: linear, end: 0}}}}` (was linear_decay) or "
                                  f"{{name: cosine, end: 0}} (was cosine); see docs/reference/recipe.md."
         for net in ("g", "d")}
