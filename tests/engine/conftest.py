from engine_cli import run_cli, run_plain, work  # noqa: F401 - the fixtures, for the tests beside this file
