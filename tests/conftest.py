"""Shared test settings: no telemetry, no stray MLflow stores outside tmp folders."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, as a user would, with no tracking URI inherited."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path
