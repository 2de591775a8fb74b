"""`flask demo seed`: create the two demo utilities."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("demo", help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("seed")
@click.option("--customers", default=300, show_default=True, help="Customers per utility.")
@click.option("--months", default=24, show_default=True, help="Months of reading history.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo utilities already exist.")
@with_appcontext
def seed(customers: int, months: int, if_empty: bool):
    """Create a water utility and a multi-energy utility with customers, offers and readings."""
    from demo.seed import seed_demo

    seed_demo(customers=customers, months=months, if_empty=if_empty, echo=click.echo)
