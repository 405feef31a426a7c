"""Test helpers shared by several test modules."""

from __future__ import annotations

import contextlib
import io
import sys


def run_main(args: list[str]) -> tuple[int, str, str]:
    """Run the `ddpg-robot` entry point in-process; return (exit code, stdout, stderr).

    In-process keeps the tests fast (no second torch import) and lets a test register
    its own Gymnasium envs; the code path is the console script's `main()`.
    """
    from ddpg_robot.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["ddpg-robot", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()
