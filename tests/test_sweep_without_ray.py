"""`ddpg-robot sweep` without Ray: one line naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_missing_ray_says_which_extra_to_install(tmp_path: Path) -> None:
    """Runs whether or not Ray is installed: a subprocess hides it."""
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from ddpg_robot.cli.app import main\n"
        f"sys.argv = ['ddpg-robot', 'sweep', 'InvertedPendulum-v4', '--out', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert 'pip install "ddpg-robot[sweep]"' in result.stderr
