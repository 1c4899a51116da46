"""Write constraints.txt and the environment.yml pins from the environment the test suite just passed in.

`make lock` upgrades the .venv within pyproject.toml's ranges, runs the whole suite, and only then
calls this script, so the versions kept in git are always versions the suite passed with.
`make demo` and `make test` install with `-c constraints.txt`; conda users get the same pins.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
ENVIRONMENT = ROOT / "environment.yml"
HEADER = """\
# Versions the whole test suite passed with (pip freeze of .venv, the kit itself left out).
# Written by `make lock` after the suite passed; `make demo` / `make test` install with -c constraints.txt.
# Do not edit by hand: raise a range in pyproject.toml, then run `make lock`.
"""


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[\s]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def frozen() -> dict[str, str]:
    """{normalised name: version} of every installed distribution except the kit itself."""
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    pins = {}
    for line in out.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            if _name(name) != "tierbook":
                pins[_name(name)] = version.strip()
    return pins


def direct_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def pin_environment(text: str, pins: dict[str, str]) -> str:
    """environment.yml with each `- name...  # why` line pinned to `name==version`, comments kept."""
    def repin(match: re.Match) -> str:
        indent, spec, comment = match.group(1), match.group(2), match.group(3) or ""
        name = _name(spec)
        if name in ("python", "pip") or name not in pins:
            return match.group(0)
        line = f"{indent}- {name}=={pins[name]}"
        return f"{line:<38}{comment.strip() and ' ' + comment.strip()}".rstrip()
    return re.sub(r"(?m)^(\s*)- ([A-Za-z0-9_.\-]+[^#\n]*?)\s*(#.*)?$", repin, text)


def main() -> int:
    pins = frozen()
    missing = [name for name in direct_dependencies() if name not in pins]
    if missing:
        print(f"not installed, cannot lock: {', '.join(missing)} (run `make venv` first)", file=sys.stderr)
        return 1
    CONSTRAINTS.write_text(HEADER + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins)), encoding="utf-8")
    ENVIRONMENT.write_text(pin_environment(ENVIRONMENT.read_text(encoding="utf-8"), pins), encoding="utf-8")
    print(f"constraints.txt: {len(pins)} pins; environment.yml pinned to the same versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
