"""The Hugging Face Hub: download an exported generator by repo id, push an exported folder.

Downloads go through ``huggingface_hub.snapshot_download`` and its cache, so a repo fetched once
loads again offline (``HF_HUB_OFFLINE=1``); pushes through ``HfApi.upload_folder``. Every failure
that comes from the network, the account or the cache is one GankitError saying what to do.
"""
import os
import re
import shutil
import tempfile
from pathlib import Path

from gankit import __version__
from gankit.errors import GankitError, first_line
from gankit.runs.model_card import render_card
from gankit.runs.model_folder import CARD_FILE, CONFIG_FILE, FILES, WEIGHTS_FILE, is_model_folder, read_config

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_NETWORK_MODULES = ("httpx", "httpx2", "requests", "urllib3", "huggingface_hub", "ssl", "socket")


def looks_like_repo_id(text) -> bool:
    """Whether ``text`` can be a Hub repo id (``user/repo``): a string with one slash, no path syntax."""
    return isinstance(text, str) and bool(_REPO_ID.match(text)) and ".." not in text


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _is_hub_failure(e: Exception) -> bool:
    """An error of the network, the Hub or its client (not a bug of gankit's)."""
    return isinstance(e, (OSError, ConnectionError, TimeoutError)) or any(
        (c.__module__ or "").split(".")[0] in _NETWORK_MODULES for c in type(e).__mro__)


def download(repo_id: str, revision: str | None = None) -> Path:
    """The local folder (in the Hub cache) of an exported generator on the Hub."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    offline = _offline()
    where = f"'{repo_id}'" + (f" (revision {revision})" if revision else "")
    try:
        path = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(FILES), local_files_only=offline,
                                      library_name="gankit", library_version=__version__))
    except GatedRepoError:
        raise GankitError(f"{where}: the Hub repository is gated. Accept its conditions on its page, then log in "
                          f"(hf auth login, or set HF_TOKEN).") from None
    except RevisionNotFoundError:
        raise GankitError(f"{where}: the Hub repository has no such revision. Give an existing branch, tag or "
                          f"commit.") from None
    except RepositoryNotFoundError:
        raise GankitError(f"{where}: no local folder of that name, and no such model repository on the Hugging "
                          f"Face Hub (or it is private: log in with `hf auth login` or set HF_TOKEN).") from None
    except LocalEntryNotFoundError as e:
        if offline:
            raise GankitError(f"{where}: no local folder of that name, and the repository is not in the Hugging Face "
                              f"Hub cache ({constants.HF_HUB_CACHE}) while HF_HUB_OFFLINE=1 forbids downloading it. "
                              f"Unset HF_HUB_OFFLINE where the network is reachable, or copy the exported folder here "
                              f"and give its path.") from None
        raise GankitError(f"{where}: no local folder of that name, and the Hugging Face Hub ({constants.ENDPOINT}) "
                          f"could not be reached, nor is the repository cached ({_cause(e)}). Check the network (or "
                          f"HF_ENDPOINT), or give the path of an exported folder.") from None
    except Exception as e:  # noqa: BLE001 - only the Hub's and the network's own errors are turned into advice
        if not _is_hub_failure(e):
            raise
        raise GankitError(f"{where}: downloading from the Hugging Face Hub failed ({type(e).__name__}: "
                          f"{first_line(e)}). Check the network, the repo id and your login (hf auth login).") from None
    if not is_model_folder(path):
        raise GankitError(f"{where}: the Hub repository holds no gankit generator ({CONFIG_FILE} and {WEIGHTS_FILE}). "
                          f"Export one with `gankit export RUN_DIR OUT` and push that folder.")
    return path


def _cause(e: Exception) -> str:
    """The root cause of a chained error, in one line (the client wraps the connection error)."""
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    return f"{type(e).__name__}: {first_line(e)}"


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str | None = None, revision: str | None = None, api=None) -> str:
    """Upload an exported folder to the Hub repo ``repo_id`` (created when missing); the commit's URL.

    The model card is written again with ``repo_id`` in its usage lines. ``api``: an object with
    ``create_repo`` and ``upload_folder`` (default ``huggingface_hub.HfApi(token=token)``)."""
    folder = Path(folder)
    if not is_model_folder(folder):
        raise GankitError(f"{folder}: not an exported generator (it needs {CONFIG_FILE} and {WEIGHTS_FILE}). "
                          f"Write one with `gankit export RUN_DIR {folder}` first.")
    if not looks_like_repo_id(repo_id):
        raise GankitError(f"push: '{repo_id}' is not a Hub repo id. Give it as user/name (or org/name).")
    config = read_config(folder)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="gankit-push-") as tmp:
        for name in FILES:
            if (folder / name).is_file():
                shutil.copy2(folder / name, Path(tmp) / name)
        (Path(tmp) / CARD_FILE).write_text(render_card(config, repo_id=repo_id), encoding="utf-8")
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp, revision=revision,
                                     commit_message=commit_message or f"gankit {__version__}: upload generator")
        except Exception as e:  # noqa: BLE001 - see download()
            if not _is_hub_failure(e):
                raise
            hint = ("HF_HUB_OFFLINE=1 forbids uploads; unset it" if _offline()
                    else "check the network and your login (hf auth login, or set HF_TOKEN with write access)")
            raise GankitError(f"push to '{repo_id}' failed ({type(e).__name__}: {first_line(e)}): {hint}.") from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo_id}")
