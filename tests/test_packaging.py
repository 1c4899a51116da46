"""The environment files agree, and the package installs the `tierbook` command."""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path

import yaml

from helpers import paths


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    expected = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    listed = dict(_split(d) for d in conda if _split(d)[0] not in {"python", "pip"})
    assert listed.keys() == expected.keys()  # the versions: tests/test_attack_packaging.py (pinned as tested)
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section, "environment.yml must install the kit itself (pip: -e .)"
    assert any(d.startswith("python>=3.11") for d in conda)


def test_tierbook_command_is_installed():
    assert shutil.which("tierbook", path=str(Path(sys.executable).parent)), "pip install -e . should add `tierbook`"


def test_ci_runs_the_readme_test_command():
    ci = (paths.PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in ci and "make test" in readme and "make demo" in readme
