"""The command table: every entry imports, and commands load only when they run."""

from __future__ import annotations

import subprocess
import sys

from watchkeeper.cli.main import COMMANDS, _load


def test_every_command_in_the_table_loads_under_its_name() -> None:
    for name in COMMANDS:
        assert _load(name).name == name


def test_the_version_command_does_not_import_the_rest_of_the_system() -> None:
    code = (
        "import sys; from watchkeeper.cli.main import main\n"
        "try:\n    main(['version'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('watchkeeper.runtime.app', 'watchkeeper.readiness', "
        "'watchkeeper.alerting.manager', 'sqlalchemy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "watchkeeper 0.1.0" in out.stdout
    assert "HEAVY []" in out.stdout
