"""`when` conditions: the hand-written parser and evaluator (never `eval`)."""

from __future__ import annotations

import pytest

from annotui.checklist.condition import UNKNOWN, ConditionError, evaluate, names, parse, uses

VALUES = {"env": "prod", "n": "3", "empty": "", "apps": ["web", "api"], "u": UNKNOWN}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('env == "prod"', True),
        ("env == 'prod'", True),
        ('env != "prod"', False),
        ("n == 3", True),
        ("n != 4", True),
        ('n == "3"', True),
        ("env == 3", False),
        ('env in ["staging", "prod"]', True),
        ('env not in ["staging", "prod"]', False),
        ('"web" in apps', True),
        ('"db" not in apps', True),
        ('"ro" in env', True),
        ("env", True),
        ("empty", False),
        ("not empty", True),
        ('not (env == "prod" or n == 3)', False),
        ('env == "prod" and not n == 4', True),
        ('env == "x" or n == 3 and empty', False),
        ('(env == "x" or n == 3) and not empty', True),
        ('u == "x"', None),
        ('env == "x" and u == "y"', False),
        ('env == "prod" or u == "y"', True),
        ('env == "prod" and u == "y"', None),
        ('env == "it\\"s"', False),
    ],
)
def test_evaluate(text: str, expected: bool | None) -> None:
    assert evaluate(parse(text), VALUES) is expected


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("", 0, "empty condition"),
        ("env ==", 6, "expected a name"),
        ('env = "x"', 4, "compare with =="),
        ("(env", 4, "expected ')'"),
        ('env "x"', 4, "expected and, or"),
        ("'abc", 0, "unterminated string"),
        ("env in [n]", 8, "string or integer in the list"),
        ("__import__('os').system('id')", 16, "unexpected character '.'"),
        ("env.upper()", 3, "unexpected character '.'"),
        ("env not x", 8, "'in' after 'not'"),
        ("(" * 40 + "env" + ")" * 40, 32, "nested more than"),
        ("{{ env }} == 'x'", 0, "unexpected character '{'"),
        ('["a"] == env', 0, "a list [...] can only follow 'in' or 'not in'"),
        ('env != ["a"]', 7, "a list [...] can only follow 'in' or 'not in'"),
        ('not ["a"]', 4, "a list [...] can only follow"),
        ('["a"] in apps', 0, "a list [...] can only follow"),
        ('env in (["a"])', 8, "a list [...] can only follow"),
        # 30,000 `and`s nested the tree past Python's recursion limit (check said "internal error")
        ("n" + " and n" * 65, 2 + 6 * 64, "more than 64 operators"),
        ('n == "x" or ' * 32 + "n == 'y' or n", 12 * 32 + 2, "more than 64 operators"),
    ],
)
def test_syntax_errors_say_where(text: str, offset: int, words: str) -> None:
    with pytest.raises(ConditionError) as e:
        parse(text)
    assert e.value.offset == offset
    assert words in e.value.message


def test_sixty_four_operators_parse() -> None:
    assert evaluate(parse(" and ".join(["n == 3"] * 32)), VALUES) is True


def test_names_with_offsets() -> None:
    assert list(names(parse('env == "x" and (n in ["1"] or not apps)'))) == [
        ("env", 0),
        ("n", 16),
        ("apps", 34),
    ]


def test_uses_marks_the_right_side_of_in() -> None:
    """What check needs to tell a list var's place: right of in / not in, or anywhere else."""
    assert list(uses(parse('app in apps and "x" not in (apps) or apps == env and n in ["1"]'))) == [
        ("app", 0, False),
        ("apps", 7, True),
        ("apps", 28, True),
        ("apps", 37, False),
        ("env", 45, False),
        ("n", 53, False),
    ]


def test_membership_in_a_list_compares_whole_values() -> None:
    values = {"app": "we", "apps": ["web", "api"], "ports": ["80", "443"]}
    assert evaluate(parse("app in apps"), values) is False
    assert evaluate(parse("app not in apps"), values) is True
    assert evaluate(parse("443 in ports"), values) is True
    assert evaluate(parse('"web" in apps and "api" in apps'), values) is True
