"""The `menwei` command: `menwei demo`, `menwei hub …` and `menwei node …`."""
import os

import click

from hub.cli import hub_cli
from node.cli import node_cli

from menwei.demo.cli import demo
from menwei.store.file_modes import UMASK


@click.group()
@click.version_option(package_name="menwei")
def main():
    """Menwei (门卫): gate, delivery and roster software for a compound under lockdown."""
    os.umask(UMASK)  # databases, backups and tokens: readable by this account only (menwei.file_modes)


main.add_command(hub_cli)
main.add_command(node_cli)
main.add_command(demo)

if __name__ == "__main__":
    main()
