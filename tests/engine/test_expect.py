from typing import Any

from annotui.checklist import models
from annotui.checklist.tables import Table, from_model
from annotui.engine.expect import evaluate, mode_satisfies


def Expect(**fields: Any) -> Table:
    """An `expect` table as the loader gives it to the engine."""
    return from_model(models.Expect(**fields))


def test_mode_bits_compared_bit_by_bit():
    assert mode_satisfies(0o775, 0o774)
    assert mode_satisfies(0o777, 0o774)
    assert mode_satisfies(0o774, 0o774)
    assert not mode_satisfies(0o770, 0o774)
    assert not mode_satisfies(0o764, 0o774)


def test_mode_at_least_reports_expected_and_got():
    ok, msg = evaluate(Expect(mode_at_least="774"), 0, "770\n")
    assert not ok
    assert msg == "expected mode at least 774, got 770"
    assert evaluate(Expect(mode_at_least="774"), 0, "775\n777\n")[0]
    ok, msg = evaluate(Expect(mode_at_least="774"), 0, "775\n700\n")
    assert not ok and "got 700" in msg
    assert not evaluate(Expect(mode_at_least="774"), 0, "")[0]
    assert not evaluate(Expect(mode_at_least="774"), 0, "rwx")[0]


def test_exit_equals_matches_symlink():
    assert evaluate(Expect(), 0, "")[0]
    ok, msg = evaluate(Expect(), 3, "")
    assert not ok and msg == "expected exit 0, got 3"
    assert evaluate(Expect(exit=3), 3, "")[0]
    assert evaluate(Expect(equals="v1"), 0, "  v1\n")[0]
    ok, msg = evaluate(Expect(equals="v1"), 0, "v2\n")
    assert not ok and msg == "expected 'v1', got 'v2'"
    assert evaluate(Expect(stdout_matches=r"^anno-targets v2\.5"), 0, "x\nanno-targets v2.5.0\n")[0]
    assert not evaluate(Expect(stdout_matches=r"v2\.5"), 0, "v2.4")[0]
    target = "../archive/releases/anno-targets_v2.5.0.sif"
    assert evaluate(Expect(symlink_to=target), 0, target + "\n")[0]
    assert evaluate(Expect(symlink_to="anno-targets_v2.5.0.sif"), 0, target)[0]
    ok, msg = evaluate(Expect(symlink_to=target), 0, "../archive/releases/anno-targets_v2.4.0.sif")
    assert not ok and msg.startswith("expected a symlink to")
