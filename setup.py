"""Build step: the wheel carries the repository's default rules and example config as package data.

All metadata is in pyproject.toml. `rules/` and `config.example.toml` stay at the top of the repository
(tests, docs and the demo use those paths); building copies them into the package as ops_watch/defaults/,
where ops_watch.core.packaged finds them in an installed wheel (`config init` writes them out). A sdist
carries them through MANIFEST.in, so a wheel built from the sdist has them too. A build without them fails
rather than ship a wheel that cannot write a config.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DEFAULTS = (("rules", "rules"), ("config.example.toml", "config.example.toml"))


class BuildPyWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        # An editable install runs from the checkout, where ops_watch.core.packaged reads the files in place.
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "ops_watch" / "defaults"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for source, name in DEFAULTS:
            path = HERE / source
            if path.is_dir():
                shutil.copytree(
                    path, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
                )
            elif path.is_file():
                shutil.copy2(path, target / name)
            else:
                raise FileNotFoundError(f"{path}: missing from the source tree; the wheel must carry it")


setup(cmdclass={"build_py": BuildPyWithDefaults})
