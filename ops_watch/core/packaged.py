"""Where the default rules directory and the example config are: inside an installed wheel, or the checkout.

The wheel carries the repository's `rules/` and `config.example.toml` as ops_watch/defaults/ (copied at build by
setup.py); `config init` writes them out from here. An editable install (`pip install -e .`, the dev venv) has
no copy, so it is served the checkout's own files, which are the ones the wheel would carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DataFiles", "data_files"]

# Inside the package: ops_watch/defaults/{rules/, config.example.toml}.
PACKAGED_DIR = "defaults"
RULES_DIR = "rules"
EXAMPLE_CONFIG = "config.example.toml"


@dataclass(frozen=True)
class DataFiles:
    """The default rules directory (contract.toml and the rule files) and the commented example config."""

    rules_dir: Path
    example_config: Path


def _complete(root: Path) -> DataFiles | None:
    found = DataFiles(rules_dir=root / RULES_DIR, example_config=root / EXAMPLE_CONFIG)
    if found.rules_dir.is_dir() and found.example_config.is_file():
        return found
    return None


def data_files() -> DataFiles:
    """The packaged rules and example config; FileNotFoundError naming every place looked in if neither has them."""
    packaged = resources.files("ops_watch").joinpath(PACKAGED_DIR)
    looked: list[str] = []
    # pip installs wheels unzipped, so the package's resources are plain files; a zipped import has no Path.
    if isinstance(packaged, Path):
        found = _complete(packaged)
        if found is not None:
            return found
        looked.append(str(packaged))
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        found = _complete(checkout)
        if found is not None:
            return found
        looked.append(str(checkout))
    raise FileNotFoundError(
        f"the default {RULES_DIR}/ and {EXAMPLE_CONFIG} are not installed (looked in: {', '.join(looked) or 'nowhere'}); "
        "reinstall ops-watch from its wheel"
    )
