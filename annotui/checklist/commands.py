"""`annotui check` and `annotui schema`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from annotui.checklist.diagnostics import ChecklistError, Diagnostic
from annotui.checklist.loader import load_checklist, resolve_checklist
from annotui.checklist.models import Checklist
from annotui.checklist.schema_rules import tighten

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def check_one(name: str) -> tuple[bool, str]:
    """(valid, report): 'FILE: ok (...)', or the FILE:LINE:COL lines of every problem."""
    try:
        loaded = load_checklist(resolve_checklist(name))
    except ChecklistError as exc:
        return False, "\n".join(map(str, exc.diagnostics))
    except Exception as exc:  # an internal bug: still one line, never a traceback
        bug = f"internal error while checking ({type(exc).__name__}: {exc}); please report it"
        return False, str(Diagnostic(name, 1, 1, bug))
    stages = loaded.model.stages
    steps = sum(len(stage.steps) for stage in stages)
    return True, f"{loaded.path}: ok ({len(stages)} stages, {steps} steps)"


def check(args: argparse.Namespace) -> int:
    """Validate every file; exit 0 when all are valid, 2 otherwise."""
    status = 0
    for name in args.files:
        ok, report = check_one(name)
        print(report, file=sys.stdout if ok else sys.stderr, flush=True)
        status = status if ok else 2
    return status


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the checklist format."""
    schema = tighten(Checklist.model_json_schema())
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "https://annotui.invalid/checklist.schema.json",
        **schema,
        "title": "annotui checklist",
        "description": (
            "A guided deployment checklist for annotui: [checklist], [vars.*], [hosts.*], "
            "[supervisors.*], [probes.*] and [[stages]] with [[stages.steps]]."
        ),
    }


def schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema on stdout."""
    print(json.dumps(json_schema(), indent=2))
    return 0
