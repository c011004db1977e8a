"""deploy/ stays in step with the code: every `menwei …` command line in it is one the CLI accepts."""
import json
import os
import re
import shlex

import click
import pytest

from menwei.cli import main

DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")
EXE = r"(?:/srv/menwei/\.venv/bin/menwei|C:\\Menwei\\venv\\Scripts\\menwei(?:\.exe)?|\"%MENWEI_EXE%\")"


def _command_lines():
    """Every menwei invocation in deploy/: (file, argument list without the program)."""
    found = []
    for name in sorted(os.listdir(DEPLOY)):
        with open(os.path.join(DEPLOY, name), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r'\["menwei", (.*?)\]', text):  # Dockerfile CMD, compose command lists
            found.append((name, json.loads(f"[{m.group(1)}]")))
        for m in re.finditer(EXE + r" ((?:hub|node) [^\n'`]*)", text):
            args = m.group(1).replace("$(date +%%Y%%m%%d-%%H%%M)", "X")
            found.append((name, shlex.split(args.replace("\\", "/"))))
    return found


def _parse(args):
    """Parse a command line down to its leaf command without running it (UsageError if it is wrong)."""
    cmd, name, parent = main, "menwei", None
    while True:
        ctx = cmd.make_context(name, list(args), parent=parent)
        if not isinstance(cmd, click.Group):
            return ctx
        rest = ctx._protected_args + ctx.args
        name, cmd, args = cmd.resolve_command(ctx, rest)
        parent = ctx


LINES = _command_lines()


def test_deploy_files_call_menwei_many_ways():
    assert len(LINES) >= 12 and {f for f, _ in LINES} >= {
        "Dockerfile", "docker-compose.yml", "menwei-hub.service", "menwei-node.service", "menwei-node-backup.service",
        "menwei-hub-compact.service", "menwei-hub-compact.timer", "menwei-node.bat", "windows.md"}


@pytest.mark.parametrize("where, args", LINES, ids=[f"{f}:{' '.join(a[:2])}" for f, a in LINES])
def test_every_command_line_in_deploy_parses(where, args):
    try:
        _parse(args)
    except click.BadParameter as e:
        if "does not exist" not in str(e):  # a backup file named in a guide need not exist here
            pytest.fail(f"{where}: `menwei {' '.join(args)}` is refused: {e}")
    except click.UsageError as e:
        pytest.fail(f"{where}: `menwei {' '.join(args)}` is refused: {e}")
