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
@click.option("--port", default=5000, show_default=True, help="Port printed in the demo URLs.")
@with_appcontext
def seed(customers: int, months: int, if_empty: bool, port: int):
    """Create a water utility and a multi-energy utility with customers, offers and readings."""
    from flask import current_app

    from demo.seed import seed_demo

    host = f"{current_app.config['PLATFORM_DOMAIN']}:{port}"
    seed_demo(customers=customers, months=months, if_empty=if_empty, echo=click.echo, host=host)
