"""Events are frozen records: what the audit log writes is what every other sink saw."""

from __future__ import annotations

import pytest

from annotui import events as ev


def test_fields_in_declaration_order_with_defaults() -> None:
    done = ev.StepFinished("s/a", "ok", 0, duration=1.5)
    assert done.to_fields() == {
        "step_key": "s/a",
        "outcome": "ok",
        "exit_code": 0,
        "duration": 1.5,
        "expectation": None,
        "message": None,
    }
    assert repr(done).startswith("StepFinished(step_key='s/a', outcome='ok'")


def test_frozen_and_replaced_not_changed() -> None:
    done = ev.StepFinished("s/a", "failed")
    with pytest.raises(AttributeError):
        done.outcome = "ok"  # type: ignore[misc]
    again = done.replace(outcome="unverified", message="why")
    assert (done.outcome, again.outcome, again.message) == ("failed", "unverified", "why")
    assert again == ev.StepFinished("s/a", "unverified", message="why") and again != done
    assert not hasattr(done, "__dict__")  # slotted: no stray attributes


def test_list_defaults_are_not_shared() -> None:
    a = ev.SessionResumed("op", None, "h", "live")
    b = ev.SessionResumed("op", None, "h", "live")
    a.unknown_steps.append("s/x")
    assert b.unknown_steps == []


def test_wrong_construction_is_a_type_error() -> None:
    """stdlib dataclasses word these errors; each names the field."""
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'outcome'"):
        ev.StepFinished("s/a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'outcom'"):
        ev.StepFinished("s/a", outcom="ok")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'step_key'"):
        ev.StepFinished("s/a", "ok", step_key="s/b")
    with pytest.raises(TypeError, match="takes from 3 to 7 positional arguments"):
        ev.StepFinished("s/a", "ok", 0, 1.0, None, None, "extra")  # type: ignore[call-arg]


def test_class_patterns_match() -> None:
    match ev.StepOutput("s/a", "stdout", "one\ntwo"):
        case ev.StepOutput(key, "stdout", text):
            assert key == "s/a" and text.split("\n") == ["one", "two"]
        case _:
            pytest.fail("no match")
