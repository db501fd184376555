import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli():
    """The Rust `eyesim` binary that the Python results must match."""
    path = os.environ.get("EYESIM_BIN") or shutil.which("eyesim-rs") or str(ROOT / "target/release/eyesim")
    assert Path(path).exists(), f"build the binary first: {path}"
    return path


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    # Relative paths (traces/, hwconfigs/) resolve as for a user in the repo.
    monkeypatch.chdir(ROOT)
