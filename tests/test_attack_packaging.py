"""The environment that was tested is the one installed: constraints.txt pins every dependency.

`make demo` / `make test` install with -c constraints.txt; environment.yml pins the same versions;
the pins satisfy pyproject.toml's ranges; the project metadata uses the current license form.
"""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from helpers import paths

ROOT = paths.PROJECT_ROOT


def _name(text: str) -> str:
    return re.split(r"[<>=!~;\[\s]", text.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return {_name(line): line.split("==", 1)[1].strip() for line in lines if "==" in line and not line.startswith("#")}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_dependency_is_pinned_within_its_range():
    pins = _pins()
    missing = [r.name for r in _requirements() if _name(r.name) not in pins]
    assert not missing, f"run `make lock`: {missing} have no tested version in constraints.txt"
    outside = [f"{r.name}=={pins[_name(r.name)]} (wants {r.specifier})" for r in _requirements()
               if not r.specifier.contains(pins[_name(r.name)], prereleases=True)]
    assert not outside, outside
    assert "tierbook" not in pins, "the kit itself is installed from the checkout, not pinned"


def test_environment_yml_pins_the_same_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins = _pins()
    conda = [d for d in env["dependencies"] if isinstance(d, str) and _name(d) not in ("python", "pip")]
    wrong = [d for d in conda if d.replace(" ", "") != f"{_name(d)}=={pins.get(_name(d))}"]
    assert not wrong, f"run `make lock` (scripts/lock.py rewrites the pins): {wrong}"


def test_make_installs_from_the_constraints_and_lock_reruns_the_suite():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-c $(CONSTRAINTS)" in makefile and "CONSTRAINTS := constraints.txt" in makefile
    lock = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    assert "pytest" in lock and lock.index("pytest") < lock.index("scripts/lock.py"), "pins only after the suite passed"


def test_license_uses_the_spdx_form_setuptools_no_longer_warns_about():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(pyproject["project"]["license"], str)
    assert any(r.startswith("setuptools>=77") for r in pyproject["build-system"]["requires"])
