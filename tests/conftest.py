"""Shared fixtures: an initialised data folder (real DuckDB files), the CLI as a real process."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

import shortfall_world
from ingest.reference_load import initialise
from queries.connection import PublishedReader
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




@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishedReader]:
    """A reader of the hand-made world of shortfall_world.py, published once per test module."""
    paths = DataPaths(tmp_path_factory.mktemp("world") / "data")
    shortfall_world.build(paths)
    published = PublishedReader(paths)
    yield published
    published.close()
