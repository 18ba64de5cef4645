"""The Optuna study of a sweep: its storage, sampler, pruner, and what a joining worker needs.

A sweep folder holds ``sweep.json`` (the storage URL and study name) and, by default, the study
itself in ``study.db`` (SQLite). Any database Optuna supports works as storage (PostgreSQL,
MySQL: ``--storage postgresql://user:pw@host/db``), so workers on several machines share one study.
The study's user attributes hold the recipe, the overrides, the space and the sweep folder: a
worker that joins (``gankit sweep --join URL``) needs nothing else.

Workers send a heartbeat every ``heartbeat`` seconds; a RUNNING trial silent for three of them
(its worker was killed) is marked FAIL by the next worker that looks, and queued again with the
same parameters, so it continues in the same run directory.
"""
import json
import warnings
from pathlib import Path

from gankit.errors import GankitError, first_line
from gankit.store.files import write_json_atomic

SWEEP_FILE = "sweep.json"
STUDY_DB = "study.db"
ATTR = "gankit"  # the study user attribute that holds the sweep's description


def default_url(sweep_dir: str | Path) -> str:
    return f"sqlite:///{(Path(sweep_dir) / STUDY_DB).resolve()}"


def storage(url: str, heartbeat: int):
    """An RDBStorage with heartbeats and the retry of trials whose worker died."""
    import optuna
    from optuna.storages import RDBStorage

    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeats and retries are "experimental" in Optuna's terms
        retry_cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
        kwargs = ({"heartbeat_stale_trial_callback": retry_cls()} if retry_cls is not None
                  else {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback()})
        try:
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                              grace_period=3 * heartbeat, **kwargs)
        except ImportError as e:
            raise GankitError(f"--storage {_safe(url)}: the database driver is not installed ({first_line(e)}); "
                              f"for PostgreSQL: pip install psycopg2-binary.") from None
        except Exception as e:  # noqa: BLE001 - sqlalchemy's many connection errors
            raise GankitError(f"--storage {_safe(url)}: cannot open the study database ({first_line(e)}). "
                              f"Check the URL, that the server runs and that the user may connect.") from None


def sampler(name: str, seed: int = 0):
    import optuna

    # grid sweeps enqueue every (configuration, seed); the sampler is asked nothing then
    return optuna.samplers.TPESampler(seed=seed) if name == "tpe" else optuna.samplers.RandomSampler(seed=seed)


def pruner(node):
    """The study's pruner from the space's ``pruner`` (a name, or {name, startup_trials})."""
    import optuna

    node = node if isinstance(node, dict) else {"name": node}
    name = node.get("name", "median")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=node.get("startup_trials", 2), n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def create(url: str, name: str, info: dict, heartbeat: int):
    """A new study holding ``info`` (recipe, overrides, space, sweep folder); an error if it exists."""
    import optuna

    st = storage(url, heartbeat)
    direction = info["space"].get("objective", {}).get("direction", "minimize")
    try:
        study = optuna.create_study(storage=st, study_name=name, direction=direction,
                                    sampler=sampler(info["space"].get("sampler", "grid")),
                                    pruner=pruner(info["space"].get("pruner", "median")))
    except optuna.exceptions.DuplicatedStudyError:
        raise GankitError(f"sweep: the storage {_safe(url)} already holds a study named '{name}'. Join it with "
                          f"gankit sweep --join {_safe(url)} --study {name}, or choose another --out.") from None
    study.set_user_attr(ATTR, info)
    return study


def load(url: str, name: str | None = None, heartbeat: int | None = None):
    """The study ``name`` in storage ``url`` (the only one there when no name is given) and its info."""
    import optuna

    st = storage(url, heartbeat or 60)
    names = optuna.get_all_study_names(storage=st)
    if name is None:
        if len(names) != 1:
            raise GankitError(f"--join {_safe(url)}: the storage holds {len(names)} studies "
                              f"({', '.join(names) or 'none'}); name one with --study NAME.")
        name = names[0]
    if name not in names:
        raise GankitError(f"--study {name}: no such study in {_safe(url)} (it holds: {', '.join(names) or 'none'}).")
    probe = optuna.load_study(study_name=name, storage=st)
    info = probe.user_attrs.get(ATTR)
    if not isinstance(info, dict):
        raise GankitError(f"--join: study '{name}' in {_safe(url)} was not made by gankit sweep (no '{ATTR}' "
                          f"attribute), so its recipe is unknown.")
    space = info["space"]
    if heartbeat is None and space.get("heartbeat", 60) != 60:
        st = storage(url, space["heartbeat"])
    study = optuna.load_study(study_name=name, storage=st, sampler=sampler(space.get("sampler", "grid")),
                              pruner=pruner(space.get("pruner", "median")))
    return study, info


def write_sweep_file(sweep_dir: Path, url: str, name: str) -> None:
    write_json_atomic(sweep_dir / SWEEP_FILE, {"storage": url, "study": name})


def read_sweep_file(sweep_dir: str | Path) -> dict:
    path = Path(sweep_dir) / SWEEP_FILE
    if not path.is_file():
        raise GankitError(f"--resume {sweep_dir}: not a sweep folder (no {SWEEP_FILE}). Give the folder "
                          f"`gankit sweep` printed, or join a study with --join URL.")
    try:
        data = json.loads(path.read_text())
        return {"storage": str(data["storage"]), "study": str(data["study"])}
    except (ValueError, KeyError, TypeError):
        raise GankitError(f"--resume: {path} is damaged (expected storage and study). Join the study with "
                          f"gankit sweep --join URL --study NAME instead.") from None


def _safe(url: str) -> str:
    """A storage URL without its password, for messages."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
