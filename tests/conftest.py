"""Shared fixtures: an initialised data folder (real DuckDB files), the CLI as a real process."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.reference_load import initialise
from queries.paths import DataPaths
from queries.warehouse import Warehouse


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after `capacity init`, built once per session; copy it, never write to it."""
    root = tmp_path_factory.mktemp("template") / "data"
    with Warehouse(DataPaths(root)) as warehouse:
        initialise(warehouse)
    return root


@pytest.fixture
def data_paths(initialised_template: Path, tmp_path: Path) -> DataPaths:
    """A private copy of the initialised data folder."""
    root = tmp_path / "data"
    shutil.copytree(initialised_template, root)
    return DataPaths(root)


