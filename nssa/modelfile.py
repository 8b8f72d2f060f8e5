"""The anomaly model's file: one JSON header line, then the joblib-pickled model.

The header names the feature schema, its version, the scikit-learn version and the sha256 of
the model bytes, so a model is checked before anything is unpickled: a file from another schema
or scikit-learn release, or one whose bytes changed, is refused with the reason. The hash
proves integrity, not origin: model files must come from a trusted ``nssa baseline`` run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

from detectors.baselinemodel import SCHEMA_VERSION, BaselineModel
from detectors.hostwindows import FEATURES
from nssa.errors import MonitorError

FORMAT = "nssa-anomaly-baseline"
"""The header's ``format``: what kind of file this is."""
MAX_HEADER = 64 * 1024
"""Longest header line read; a longer first line is not a model header."""


class ModelFileError(MonitorError):
    """A model file is unreadable, of another schema or release, or corrupted."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def header_of(model: BaselineModel, payload: bytes) -> dict[str, Any]:
    """The JSON header describing ``model`` and its pickled bytes."""
    return {
        "format": FORMAT,
        "schema_version": model.schema_version,
        "features": list(model.features),
        "window_seconds": model.spec.window_seconds,
        "history_windows": model.spec.history_windows,
        "model_version": model.version,
        "sklearn_version": model.sklearn_version,
        "trained_from": model.trained_from,
        "trained_until": model.trained_until,
        "rows": model.rows,
        "hosts": model.hosts,
        "windows": model.windows,
        "segments": [f"{s.link or '*'}/{s.unit or '*'}" for s in model.segments],
        "payload_bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def save_model(model: BaselineModel, path: Path) -> None:
    """Write the model file atomically (a temporary file renamed over ``path``)."""
    import joblib  # here: every nssa command imports this module, few save models

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    payload = buffer.getvalue()
    header = json.dumps(header_of(model, payload), sort_keys=True).encode()
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(header + b"\n" + payload)
        os.replace(partial, path)
    except OSError as exc:
        raise ModelFileError(path, f"cannot write: {exc.strerror or exc}") from exc


def read_header(path: Path) -> tuple[dict[str, Any], bytes]:
    """The header and the model bytes of a model file, unchecked."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    line, newline, payload = data.partition(b"\n")
    try:
        if not newline or len(line) > MAX_HEADER:
            raise ValueError("no header line")
        header = json.loads(line)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("wrong format")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(path, f"not an NSSA anomaly model ({exc})") from exc
    return header, payload


def load_model(path: Path) -> BaselineModel:
    """Read and check a model file; ModelFileError names what does not match."""
    header, payload = read_header(path)
    _check_header(path, header)
    digest = hashlib.sha256(payload).hexdigest()
    if len(payload) != header.get("payload_bytes") or digest != header.get("sha256"):
        raise ModelFileError(
            path,
            f"model bytes do not match the header's sha256 (file {digest[:12]}…, header "
            f"{str(header.get('sha256'))[:12]}…): the file is corrupted or was altered",
        )
    import joblib

    model = joblib.load(io.BytesIO(payload))
    if not isinstance(model, BaselineModel) or model.version != header["model_version"]:
        raise ModelFileError(path, "the pickled object is not the model the header describes")
    return model


def _check_header(path: Path, header: dict[str, Any]) -> None:
    found = header.get("schema_version")
    if found != SCHEMA_VERSION:
        raise ModelFileError(
            path,
            f"feature schema version {found} does not match this NSSA's {SCHEMA_VERSION}: "
            "train a new model with `nssa baseline`",
        )
    features = tuple(header.get("features", ()))
    if features != FEATURES:
        raise ModelFileError(
            path,
            f"feature schema {list(features)} differs from this NSSA's {list(FEATURES)}: "
            "train a new model with `nssa baseline`",
        )
    import sklearn

    trained, running = str(header.get("sklearn_version")), sklearn.__version__
    if _release(trained) != _release(running):
        raise ModelFileError(
            path,
            f"trained with scikit-learn {trained}, this is {running}: forests do not load "
            "safely across releases; train a new model with `nssa baseline`",
        )


def _release(version: str) -> tuple[str, ...]:
    """Major and minor version: pickles are compatible within one scikit-learn release."""
    return tuple(version.split(".")[:2])
