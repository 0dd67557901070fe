from engine_cli import run_cli  # noqa: F401 - the fixture, for the tests beside this file
