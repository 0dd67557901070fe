"""Pydantic models of the checklist language (the product's public API: keep these names).

The models describe one checklist file as written. Cross-references (hosts, probes, vars in
templates) are checked by :mod:`annotui.checklist.references`; positions are added by the loader.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from annotui.checklist import syntax

Identifier = Annotated[
    str,
    Field(pattern=syntax.IDENTIFIER, description="A name: letters, digits, _ and -"),
]

MAX_TIMEOUT = 7 * 24 * 3600.0
"""Seconds: the longest a step may be given (7 days)."""
MAX_CALL_TIMEOUT = 3600.0
"""Seconds: the longest one supervisord call may take."""
MAX_EVERY = 24 * 3600.0
"""Seconds: the longest time between two polls of a probe."""
MAX_HOLD = 1000
MAX_RETRIES = 1000
"""Attempts a check may be given beyond its first."""
"""Consecutive polls a gate may require."""


def _whole(value: Any) -> Any:
    """2.0 is the whole number 2, as in JSON Schema (which cannot tell 2.0 from 2)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole)]
"""An integer; a field's bounds go before the validator in its Annotated, or the JSON Schema
loses them."""


def _url(value: str, info: ValidationInfo) -> str:
    problem = None if syntax.templated(value) else syntax.url_problem(value)
    if problem:
        raise ValueError(f"{info.field_name!r} is {problem}")
    return value


def _ssh(value: str, info: ValidationInfo) -> str:
    problem = None if syntax.templated(value) else syntax.ssh_problem(value)
    if problem:
        raise ValueError(f"{info.field_name!r} is {problem}")
    return value


Url = Annotated[str, AfterValidator(_url)]
"""An http(s) URL; with a placeholder, checked once rendered."""
SshTarget = Annotated[str, AfterValidator(_ssh)]
Command = Annotated[str, Field(pattern=r"[^ \t\r\n]")]
"""A shell command: not empty or blank."""
ForEachValue = Annotated[str, Field(pattern=syntax.FOR_EACH_VALUE)]
ListRef = Annotated[
    str,
    Field(
        pattern=syntax.LIST_REF,
        description='"{{ apps }}": one copy per value of that list var (list = true)',
    ),
]
ForEach = dict[Identifier, list[ForEachValue] | ListRef]
"""`{ node = ["db1", "db2"] }`, or `{ app = "{{ apps }}" }` over a list var's values."""

ConfirmMode = Literal["yes", "typed", "none"]

UserName = Annotated[
    str,
    Field(
        pattern=syntax.UNIX_USER,
        description="Run as this user, through `sudo -n -u USER` (never asks for a password)",
    ),
]
ShellName = Annotated[
    str,
    Field(
        pattern=syntax.SHELL,
        description="The shell that runs the command: a path or a name in PATH (default /bin/sh)",
    ),
]
LOGIN_DESCRIPTION = "With `user`: a login environment (the user's profile, HOME as the cwd)"


class Strict(BaseModel):
    """Base: unknown keys are errors, a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Lock(Strict):
    """A run-wide lock on a target: an atomic `mkdir` on the host, released at the end."""

    host: str = Field("local", description="Host that holds the lock directory")
    path: str = Field(description="Lock directory path (templated, shell-quoted)")


def _notify_url(value: str, info: ValidationInfo) -> str:
    problem = None if syntax.templated(value) else syntax.notify_url_problem(value)
    if problem:
        raise ValueError(f"{info.field_name!r} is {problem}")
    return value


NotifyUrl = Annotated[str, AfterValidator(_notify_url)]
"""An Apprise URL (a plain http(s) URL is a JSON webhook), or empty (no notification)."""

NotifyOn = Literal["stage_end", "failure", "waiting", "session_end"]


class Notify(Strict):
    """A `[[notify]]` table: where Apprise sends what happened (the URL holds tokens: a secret)."""

    url: NotifyUrl = Field(
        description="Any Apprise URL (slack://, mailto://, ntfy://, json://, ...); a plain "
        "https:// URL is a JSON webhook; templated; empty: no notification"
    )
    on: list[NotifyOn] = Field(["stage_end", "failure"], min_length=1)
    waiting_after: float = Field(
        600.0,
        gt=0,
        le=MAX_TIMEOUT,
        description="Seconds a step waits for the operator before `waiting` fires",
    )
    title: str | None = Field(None, description="Title template (vars and the notify fields)")
    body: str | None = Field(None, description="Body template (vars and the notify fields)")


class ChecklistMeta(Strict):
    id: Identifier
    title: str
    version: str = ""
    description: str = ""
    lock: Lock | None = None
    shell: ShellName | None = None
    allowed_signers: str | None = Field(
        None,
        description="OpenSSH allowed_signers file of the approvers of `approval` steps, "
        "relative to the checklist (annotui run --allowed-signers overrides it)",
    )


Strings = list[str]
"""(An alias: `Var` has a field named `list`, which hides the builtin in its class body.)"""


class Var(Strict):
    """An operator input, validated before anything runs."""

    prompt: str = ""
    description: str = ""
    pattern: str | None = Field(None, description="Regular expression the value must match fully")
    choices: Strings | None = Field(None, min_length=1)
    default: str | None = None
    example: str | None = None
    secret: bool = Field(False, description="Never echoed, never logged, redacted from output")
    from_env: str | None = Field(
        None, pattern=syntax.ENV_NAME, description="Environment variable that supplies the value"
    )
    list: bool = Field(
        False,
        description="The value is a list: --var NAME=a,b (\\, for a comma inside a value, "
        "\\\\ for a backslash), a TOML array in --vars-file; `pattern` and `choices` apply to "
        'each value; for_each = { x = "{{ NAME }}" } loops over it. Never secret',
    )

    @model_validator(mode="after")
    def _list_not_secret(self) -> Var:
        if self.list and self.secret:
            raise ValueError(
                "a list var cannot be secret: its values name the steps and stages that loop "
                "over it (stage/step[value]) in the audit log"
            )
        return self


class Host(Strict):
    """Where commands run. `ssh` is a ~/.ssh/config Host alias or user@host:port; 'local' = here."""

    ssh: SshTarget = Field(description="Host alias, user@host:port, or 'local' (templated)")
    description: str = ""
    user: UserName | None = None
    login: bool = Field(False, description=LOGIN_DESCRIPTION)
    shell: ShellName | None = None


class Supervisor(Strict):
    """A supervisord XML-RPC endpoint (the server behind the web UI on :9000)."""

    url: Url
    username: str | None = None
    password: str | None = None
    via: str | None = Field(None, description="Reach the endpoint through this host's SSH link")
    timeout: float = Field(10.0, gt=0, le=MAX_CALL_TIMEOUT, description="Seconds per call")


class Probe(Strict):
    """A read-only command whose output is parsed as an integer, polled every N seconds."""

    host: str = "local"
    run: Command
    cwd: str | None = None
    every: float = Field(5.0, ge=0.1, le=MAX_EVERY, description="Seconds between polls")
    title: str = ""
    user: UserName | None = None
    login: bool | None = Field(None, description=LOGIN_DESCRIPTION)


class Expect(Strict):
    """Expectations of a `check` step; all given ones must hold."""

    exit: Annotated[int, Field(ge=0, le=255), BeforeValidator(_whole)] | None = 0
    stdout_matches: str | None = None
    equals: str | None = None
    mode_at_least: str | None = Field(default=None, pattern=r"^[0-7]{3,4}$")
    symlink_to: str | None = None


def one_var(v: dict[str, list[str] | str] | None) -> dict[str, list[str] | str] | None:
    """A `for_each`: exactly one var, at least one value, each value once (a list var's values
    are checked when the vars are resolved)."""
    if v is None:
        return v
    if len(v) != 1:
        raise ValueError("for_each names exactly one var, e.g. { environment = [...] }")
    values = next(iter(v.values()))
    if isinstance(values, str):
        return v
    if not values:
        raise ValueError("for_each needs at least one value")
    twice = syntax.repeated(values)
    if twice is not None:
        shown = repr(twice) if twice.isascii() else f"{twice!r} (written {twice!a})"
        raise ValueError(
            f"for_each value {shown} is listed twice: each names one stage or step (values are "
            "compared as they read, in Unicode NFC)"
        )
    return v


class Capture(Strict):
    """`capture = { name = "x", regex = '...' }`: the first group of the regex's first match."""

    name: Identifier = Field(description="The name later steps use: {{ x }} and in `when`")
    regex: str = Field(
        description="Python regular expression searched in stdout (multi-line); it needs a group"
    )


CAPTURE_DESCRIPTION = (
    "Keep the output as a value for later steps: a name (the stripped stdout) or "
    "{ name, regex } (the regex's first group)"
)
SECRET_CAPTURE_DESCRIPTION = "The captured value is a secret: masked in output, log and screens"


WHEN_HELP = (
    "A condition over vars and captured values (==, !=, in, not in, and, or, not, parentheses, "
    "strings, integers, names); 'in' and 'not in' test membership in a list var "
    '(\'app in canaries\', \'"web" not in apps\') or in ["a", "b"], or a substring of a '
    "captured value; a list var can only follow in / not in"
)


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
    when: str | None = Field(
        None,
        description=WHEN_HELP + "; when false the step is skipped and recorded as skipped by "
        "condition",
    )
    for_each: ForEach | None = Field(
        None,
        description='{ node = ["db1", "db2"] } or { node = "{{ nodes }}" } (a list var): the '
        'step once per value, keyed stage/step[value]; host = "{{ node }}" runs each on that host',
    )

    @field_validator("for_each")
    @classmethod
    def _one_var(cls, v: dict[str, list[str] | str] | None) -> dict[str, list[str] | str] | None:
        return one_var(v)


class ManualStep(StepBase):
    kind: Literal["manual"]
    evidence: str | None = Field(None, description="Prompt for evidence the operator must type")


class CommandStep(StepBase):
    kind: Literal["command"]
    run: Command
    host: str = "local"
    cwd: str | None = None
    changes: bool = Field(True, description="Mutating: simulated in rehearsal")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT)
    pty: bool = False
    expect: Expect | None = None
    user: UserName | None = None
    login: bool | None = Field(None, description=LOGIN_DESCRIPTION)
    shell: ShellName | None = None
    capture: Identifier | Capture | None = Field(None, description=CAPTURE_DESCRIPTION)
    secret: bool = Field(False, description=SECRET_CAPTURE_DESCRIPTION)


class CheckStep(StepBase):
    kind: Literal["check"]
    run: Command
    host: str = "local"
    cwd: str | None = None
    expect: Expect = Expect()
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT)
    user: UserName | None = None
    login: bool | None = Field(None, description=LOGIN_DESCRIPTION)
    shell: ShellName | None = None
    capture: Identifier | Capture | None = Field(None, description=CAPTURE_DESCRIPTION)
    secret: bool = Field(False, description=SECRET_CAPTURE_DESCRIPTION)
    retries: Annotated[int, Field(ge=0, le=MAX_RETRIES), BeforeValidator(_whole)] = Field(
        0, description="Run it again up to this many times until it holds (each attempt recorded)"
    )
    delay: float = Field(5.0, ge=0, le=MAX_EVERY, description="Seconds between two attempts")


class GateStep(StepBase):
    kind: Literal["gate"]
    probe: str
    until: str = Field(pattern=r"^[ \t]*(==|!=|<=|>=|<|>)[ \t]*-?[0-9]{1,18}[ \t]*$")
    hold: WholeNumber = Field(1, ge=1, le=MAX_HOLD)
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT)


class SupervisorStep(StepBase):
    kind: Literal["supervisor"]
    supervisor: str
    action: Literal["stop", "start", "restart", "signal"]
    process: str = Field(
        pattern=syntax.PROCESS, description="Process name, or group:* for a whole group"
    )
    timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT)
    signal: str | None = Field(
        None,
        pattern=r"^[A-Z][A-Z0-9]*$",
        description='With action = "signal": the signal to send, e.g. "HUP" (supervisord '
        "signalProcess); the process must keep running",
    )

    @model_validator(mode="after")
    def _signal_with_action(self) -> SupervisorStep:
        if self.action == "signal" and self.signal is None:
            raise ValueError('action = "signal" needs signal = "HUP" (or another signal name)')
        if self.action != "signal" and self.signal is not None:
            raise ValueError(f'signal is only for action = "signal", not {self.action!r}')
        return self


class AnnounceStep(StepBase):
    kind: Literal["announce"]
    text: str = Field(description="Markdown message rendered from vars")


class ApprovalStep(StepBase):
    kind: Literal["approval"]
    approvers: list[Annotated[str, Field(pattern=r"^[^\s,\"']+$")]] = Field(
        min_length=1,
        description="Principals of the allowed signers file who may approve (the run's own "
        "signer never counts)",
    )
    min: WholeNumber = Field(1, ge=1, le=MAX_HOLD, description="Approvals needed")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT)

    @model_validator(mode="after")
    def _enough_approvers(self) -> ApprovalStep:
        if self.min > len(set(self.approvers)):
            raise ValueError(f"min = {self.min} needs at least {self.min} different approvers")
        return self


ExtraVar = Annotated[str, Field(description="Templated; a secret reaches ansible in memory")]


class AnsibleStep(StepBase):
    kind: Literal["ansible"]
    playbook: str = Field(
        pattern=r"[^ \t\r\n]", description="Playbook path, relative to the checklist"
    )
    inventory: str | list[str] = Field(
        description="Inventory path (relative to the checklist), or a list of hosts"
    )
    limit: str | None = Field(None, description="ansible-playbook --limit")
    tags: str | None = Field(None, description="ansible-playbook --tags")
    extra_vars: dict[Identifier, ExtraVar | int | float | bool] = {}
    host: str = Field(
        "local",
        description="Where ansible runs: `local` (this machine, the default), or a declared "
        "[hosts] entry: annotui reaches it over its SSH link and ansible-runner's worker runs "
        "ansible-playbook there (ansible-runner and ansible-core installed on it); the "
        "inventory's hosts are reached from that host",
    )
    changes: bool = Field(True, description="Mutating: run with --check --diff in rehearsal")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT)


class HttpExpect(Strict):
    """Expectations of an `http` step; all given ones must hold."""

    status: Annotated[int, Field(ge=100, le=599), BeforeValidator(_whole)] = 200
    body_matches: str | None = Field(
        default=None,
        description="Python regular expression searched in the body (templated, escaped)",
    )


class HttpStep(StepBase):
    kind: Literal["http"]
    url: Url = Field(description="http(s) URL (templated)")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[Annotated[str, Field(pattern=syntax.HEADER_NAME)], str] = Field(
        {}, description="Request headers (templated; put tokens in secret vars)"
    )
    expect: HttpExpect = HttpExpect()
    via: str | None = Field(None, description="Reach the URL through this host's SSH link")
    timeout: float = Field(10.0, gt=0, le=MAX_CALL_TIMEOUT, description="Seconds per request")
    retries: Annotated[int, Field(ge=0, le=MAX_RETRIES), BeforeValidator(_whole)] = Field(
        0, description="Ask again up to this many times until it holds (each attempt recorded)"
    )
    delay: float = Field(5.0, ge=0, le=MAX_EVERY, description="Seconds between two attempts")
    changes: bool = Field(
        False, description="True when the request changes something: simulated in rehearsal"
    )


Step = Annotated[
    ManualStep
    | CommandStep
    | CheckStep
    | GateStep
    | SupervisorStep
    | AnnounceStep
    | AnsibleStep
    | ApprovalStep
    | HttpStep,
    Field(discriminator="kind"),
]

STEP_KINDS: dict[str, type[StepBase]] = {
    "manual": ManualStep,
    "command": CommandStep,
    "check": CheckStep,
    "gate": GateStep,
    "supervisor": SupervisorStep,
    "announce": AnnounceStep,
    "ansible": AnsibleStep,
    "approval": ApprovalStep,
    "http": HttpStep,
}
"""Step model by its `kind`."""


class Stage(Strict):
    id: Identifier
    title: str = ""
    description: str = ""
    for_each: ForEach | None = Field(
        None,
        description='{ environment = ["staging", "prod"] } or { app = "{{ apps }}" } (a list '
        "var): the stage once per value, keyed stage[value]",
    )
    when: str | None = Field(
        None,
        description=WHEN_HELP + "; when false its steps are skipped and recorded as skipped by "
        "condition",
    )
    steps: list[Step] = Field(min_length=1)
    rollback: list[Step] = Field(
        [],
        description="[[stages.rollback]]: steps the operator may run, in order, when a step of "
        "this stage fails; the run then stops (exit 1)",
    )

    @field_validator("for_each")
    @classmethod
    def _one_var(cls, v: dict[str, list[str] | str] | None) -> dict[str, list[str] | str] | None:
        return one_var(v)


class Checklist(Strict):
    checklist: ChecklistMeta
    vars: dict[Identifier, Var] = {}
    hosts: dict[Identifier, Host] = {}
    supervisors: dict[Identifier, Supervisor] = {}
    probes: dict[Identifier, Probe] = {}
    notify: list[Notify] = []
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _local_host_reserved(self) -> Checklist:
        if "local" in self.hosts and self.hosts["local"].ssh != "local":
            raise ValueError("host 'local' is built in and always runs here")
        return self
