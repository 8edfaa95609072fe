"""Bootstrap helpers for zero-config CLI flows."""

from dalston_cli.bootstrap.model_manager import (
    ModelBootstrapError,
    ModelEnsureResult,
    ModelStatus,
    ensure_model_ready,
    read_model_status,
    resolve_bootstrap_model,
)
from dalston_cli.bootstrap.preflight import PreflightError, run_preflight
from dalston_cli.bootstrap.settings import BootstrapSettings, load_bootstrap_settings

__all__ = [
    "BootstrapSettings",
    "ModelBootstrapError",
    "ModelEnsureResult",
    "ModelStatus",
    "PreflightError",
    "ensure_model_ready",
    "load_bootstrap_settings",
    "read_model_status",
    "resolve_bootstrap_model",
    "run_preflight",
]
