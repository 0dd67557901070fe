"""Pydantic models of the checklist language (the product's public API: keep these names).

The models describe one checklist file as written. Cross-references (hosts, probes, vars in
templates) are checked by :mod:`annotui.checklist.references`; positions are added by the loader.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", description="A name: letters, digits, _ and -"),
]

ConfirmMode = Literal["yes", "typed", "none"]


class Strict(BaseModel):
    """Base: unknown keys are errors, a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Lock(Strict):
    """A run-wide lock on a target: an atomic `mkdir` on the host, released at the end."""

    host: str = Field("local", description="Host that holds the lock directory")
    path: str = Field(description="Lock directory path (templated, shell-quoted)")


class Notify(Strict):
    """A webhook told about stage ends and failures (JSON POST)."""

    url: str
    on: list[Literal["stage_end", "failure", "session_end"]] = ["stage_end", "failure"]


class ChecklistMeta(Strict):
    id: Identifier
    title: str
    version: str = ""
    description: str = ""
    lock: Lock | None = None
    notify: list[Notify] = []


class Var(Strict):
    """An operator input, validated before anything runs."""

    prompt: str = ""
    description: str = ""
    pattern: str | None = Field(None, description="Regular expression the value must match fully")
    choices: list[str] | None = None
    default: str | None = None
    example: str | None = None
    secret: bool = Field(False, description="Never echoed, never logged, redacted from output")
    from_env: str | None = Field(None, description="Environment variable that supplies the value")


class Host(Strict):
    """Where commands run. `ssh` is a ~/.ssh/config Host alias or user@host:port; 'local' = here."""

    ssh: str = Field(description="Host alias, user@host:port, or 'local' (templated)")
    description: str = ""


class Supervisor(Strict):
    """A supervisord XML-RPC endpoint (the server behind the web UI on :9000)."""

    url: str
    username: str | None = None
    password: str | None = None
    via: str | None = Field(None, description="Reach the endpoint through this host's SSH link")
    timeout: float = 10.0


class Probe(Strict):
    """A read-only command whose output is parsed as an integer, polled every N seconds."""

    host: str = "local"
    run: str
    cwd: str | None = None
    every: float = Field(5.0, gt=0)
    title: str = ""


class Expect(Strict):
    """Expectations of a `check` step; all given ones must hold."""

    exit: int | None = 0
    stdout_matches: str | None = None
    equals: str | None = None
    mode_at_least: str | None = Field(None, pattern=r"^[0-7]{3,4}$")
    symlink_to: str | None = None


class StepBase(Strict):
    id: Identifier
    title: str = ""
    description: str = ""
    instructions: str = Field("", description="Markdown shown on the step screen")
    critical: bool = Field(False, description="A critical step can never be skipped")
    confirm: ConfirmMode = "yes"
    confirm_word: str | None = Field(
        None, description="Word to type for confirm='typed' (default: environment value, else host)"
    )


class ManualStep(StepBase):
    kind: Literal["manual"]
    evidence: str | None = Field(None, description="Prompt for evidence the operator must type")


class CommandStep(StepBase):
    kind: Literal["command"]
    run: str
    host: str = "local"
    cwd: str | None = None
    changes: bool = Field(True, description="Mutating: simulated in rehearsal")
    timeout: float | None = Field(None, gt=0)
    pty: bool = False
    expect: Expect | None = None


class CheckStep(StepBase):
    kind: Literal["check"]
    run: str
    host: str = "local"
    cwd: str | None = None
    expect: Expect = Expect()
    timeout: float | None = Field(None, gt=0)


class GateStep(StepBase):
    kind: Literal["gate"]
    probe: str
    until: str = Field(pattern=r"^\s*(==|!=|<=|>=|<|>)\s*-?\d+\s*$")
    hold: int = Field(1, ge=1)
    timeout: float | None = Field(None, gt=0)


class SupervisorStep(StepBase):
    kind: Literal["supervisor"]
    supervisor: str
    action: Literal["stop", "start", "restart"]
    process: str = Field(description="Process name, or group:* for a whole group")
    timeout: float = Field(60.0, gt=0)


class AnnounceStep(StepBase):
    kind: Literal["announce"]
    text: str = Field(description="Markdown message rendered from vars")


Step = Annotated[
    ManualStep | CommandStep | CheckStep | GateStep | SupervisorStep | AnnounceStep,
    Field(discriminator="kind"),
]

STEP_KINDS: dict[str, type[StepBase]] = {
    "manual": ManualStep,
    "command": CommandStep,
    "check": CheckStep,
    "gate": GateStep,
    "supervisor": SupervisorStep,
    "announce": AnnounceStep,
}
"""Step model by its `kind`."""


class Stage(Strict):
    id: Identifier
    title: str = ""
    description: str = ""
    for_each: dict[str, list[str]] | None = None
    steps: list[Step] = Field(min_length=1)

    @field_validator("for_each")
    @classmethod
    def _one_var(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is not None and len(v) != 1:
            raise ValueError("for_each names exactly one var, e.g. { environment = [...] }")
        if v is not None and not next(iter(v.values())):
            raise ValueError("for_each needs at least one value")
        return v


class Checklist(Strict):
    checklist: ChecklistMeta
    vars: dict[str, Var] = {}
    hosts: dict[str, Host] = {}
    supervisors: dict[str, Supervisor] = {}
    probes: dict[str, Probe] = {}
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _local_host_reserved(self) -> Checklist:
        if "local" in self.hosts and self.hosts["local"].ssh != "local":
            raise ValueError("host 'local' is built in and always runs here")
        return self
