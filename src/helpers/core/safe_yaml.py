"""Reading the team's YAML files (company.yml, criteria.yml) so that no file can run code or blow up.

Serves step 1 (settings) and step 4 (criteria). `yaml.safe_load` already refuses `!!python` tags,
but it expands aliases into shared references: nine nested aliases of nine items ("billion laughs")
make a 450-byte file whose value has 9^9 leaves, and the first `str()` of it exhausts memory.
A hand-written settings file never needs anchors, aliases or tags, so all three are refused here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent

from helpers.core.errors import DataProblem, problem

# Far above any real company.yml / criteria.yml (a few hundred nodes), far below a memory problem.
MAX_NODES = 100_000
MAX_DEPTH = 50
# Explicit tags that only name a plain type (`!!str 0123`); every other tag (`!!python/...`) is refused.
_PLAIN_TAGS = {"!"} | {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and explicit tags, and caps nodes and nesting."""

    def __init__(self, stream):
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        if isinstance(event, (ScalarEvent, SequenceStartEvent, MappingStartEvent)):
            if event.anchor is not None:
                raise yaml.composer.ComposerError(None, None, "anchors (&name) are not allowed", event.start_mark)
            # `implicit` is True for plain scalars and untagged collections; `!` / `!!type` tags are refused
            implicit = event.implicit[0] if isinstance(event, ScalarEvent) else event.implicit
            if event.tag is not None and not implicit and event.tag not in _PLAIN_TAGS:
                raise yaml.composer.ComposerError(None, None, f"tags ({event.tag}) are not allowed",
                                                  event.start_mark)
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def loads(text: str) -> Any:
    """Parse YAML text with the strict loader; raises yaml.YAMLError for anchors, aliases, tags.

    >>> loads("a: 1\\nb: [x, y]")
    {'a': 1, 'b': ['x', 'y']}
    >>> try:
    ...     loads("a: &x [1]\\nb: *x")
    ... except yaml.YAMLError as exc:
    ...     print(exc.problem)
    anchors (&name) are not allowed
    """
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader


def load_file(path: Path, *, code: str, max_bytes: int, root: Path | None = None, shown: str | None = None) -> Any:
    """Read one YAML file of the company folder; every failure is a DataProblem of catalogue `code`.

    Args:
        path: the file (absent files are the caller's business).
        code: problem code whose message takes a `detail` (`bad_config`, `criteria_file_invalid`).
        max_bytes: refuse larger files before parsing.
        root: when given, a file that leads outside this folder (a symlink) is refused.
        shown: the name to print (default: the file name).

    Returns the parsed value (None for an empty file).
    """
    from helpers.paths import outside_folder_reason

    name = shown or path.name
    if root is not None:
        reason = outside_folder_reason(path, root)
        if reason:
            raise DataProblem(problem(code, file=name, detail=reason))
    if path.stat().st_size > max_bytes:
        raise DataProblem(problem(code, file=name, detail=f"the file is larger than {max_bytes // 1_000_000 or 1} MB"
                                  if max_bytes >= 1_000_000 else f"the file is larger than {max_bytes} bytes"))
    try:
        return loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataProblem(problem(code, file=name, detail="not UTF-8 text; save it as UTF-8")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataProblem(problem(code, file=name, row=(mark.line + 1) if mark else None,
                                  detail=f"not valid YAML: {what}")) from None
