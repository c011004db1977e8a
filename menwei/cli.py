"""The `menwei` command: `menwei demo`, `menwei hub …` and `menwei node …`."""
import click

from hub.cli import hub_cli
from node.cli import node_cli

from menwei.demo.cli import demo


@click.group()
@click.version_option(package_name="menwei")
def main():
    """Menwei (门卫): gate, delivery and roster software for a compound under lockdown."""


main.add_command(hub_cli)
main.add_command(node_cli)
main.add_command(demo)

if __name__ == "__main__":
    main()
