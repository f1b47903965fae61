"""The ``infomotion-rt`` command line. Thin: parse options, call the stage, print where results went.

Every stage raises ``InfoMotionError`` subclasses for bad input; ``main`` turns them into one line on
stderr and a non-zero exit, so no user ever sees a traceback for a bad file.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import InfoMotionError


def _version_message() -> str:
    from .graph import core_build_info

    try:
        info = core_build_info()
        native = f"native core {info['version']} ({info['compiler']})"
    except InfoMotionError as exc:
        native = f"native core unavailable: {exc}"
    return f"infomotion-rt {__version__}\n{native}"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_message())
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version of the package and of its native core, then exit.")
def cli() -> None:
    """Motion-based dataset distillation of echocardiography videos.

    Pick the few videos per ejection-fraction class that a model learns most from,
    offline, on CPU by default.
    """


def main() -> None:
    try:
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InfoMotionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
