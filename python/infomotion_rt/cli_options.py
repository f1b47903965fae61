"""Option machinery shared by the command modules (``cli.py``, ``evaluate/commands.py``): advanced options that
``--help`` leaves out and ``--help-all`` lists, ``--config FILE`` (TOML defaults), the data-reading options
``--folds``/``--view``, and the one-line notice of an option that moved."""

from __future__ import annotations

import click

from infomotion_rt.errors import require


# --- advanced options: out of --help, listed by --help-all, settable in --config FILE (TOML) ---------------

class AdvancedOption(click.Option):
    """A research knob or a rarely needed output: hidden from ``--help``, listed by ``--help-all``."""

    advanced = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, hidden=True, **kwargs)


def advanced_option(*decls, **attrs):
    return click.option(*decls, cls=AdvancedOption, **attrs)


class StageCommand(click.Command):
    """``--help`` lists what a user needs; ``--help-all`` adds the advanced options under their own heading."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        if not ctx.meta.get("help_all"):
            return
        rows = []
        for param in self.get_params(ctx):
            if getattr(param, "advanced", False):
                param.hidden = False
                rows.append(param.get_help_record(ctx))
                param.hidden = True
        with formatter.section("Advanced options (research knobs, rare outputs; also keys of --config FILE)"):
            formatter.write_dl([r for r in rows if r])


def _help_all(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        ctx.meta["help_all"] = True
        click.echo(ctx.get_help())
        ctx.exit()


def _load_config(ctx: click.Context, _param, path: str | None) -> str | None:
    """--config FILE: a TOML file whose keys (option names without the dashes, e.g. ``k = 15``,
    ``metric = "pca"``, ``metric-dims = 8``) become this command's defaults; the command line still wins.
    Keys may sit at the top level or under a table named after the command (``[select]``)."""
    if not path or ctx.resilient_parsing:
        return path
    from infomotion_rt.errors import ConfigError, DataError

    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10
        tomllib = require("tomli", what="--config", hint="pip install tomli (Python 3.10 has no tomllib)")
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the config file ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from exc
    table = table.get(ctx.command.name, table)
    names = {}
    for param in ctx.command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and param.name not in ("config", "help_all"):
                names[opt[2:]] = param.name
    unknown = sorted(k for k in table if k.replace("_", "-") not in names)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} for {ctx.command.name}; valid: "
                          f"{', '.join(sorted(names))}")
    ctx.default_map = {**(ctx.default_map or {}), **{names[k.replace("_", "-")]: v for k, v in table.items()}}
    return path


def help_all_and_config(f):
    """The ``--help-all`` and ``--config FILE`` options of a StageCommand."""
    f = click.option("--config", type=click.Path(dir_okay=False), is_eager=True, expose_value=False,
                     callback=_load_config,
                     help="TOML file of option defaults, e.g. the advanced options that --help-all lists.")(f)
    return click.option("--help-all", is_flag=True, expose_value=False, is_eager=True, callback=_help_all,
                        help="Show every option, the advanced ones too, and exit.")(f)


def renamed(command: click.Command, old_name: str) -> click.Command:
    """A hidden command under ``old_name`` that runs ``command`` after one line naming its new name."""
    def run(**kwargs):
        click.echo(f"note: `infomotion-rt {old_name}` is now `infomotion-rt {command.name}`; the old name goes in "
                   "the next release", err=True)
        return command.callback(**kwargs)
    return click.Command(old_name, params=command.params, callback=run, hidden=True,
                         help=f"Old name of {command.name}.")


def moved(new: str):
    """Callback of an option that moved: it still works for this release, with one line naming its new place."""
    def note(ctx: click.Context, param: click.Parameter, value):
        if value is not None and not ctx.resilient_parsing:
            click.echo(f"note: {param.opts[0]} is now {new}; the old name goes in the next release", err=True)
        return value
    return note


def _configure_pediatric(ctx: click.Context, param: click.Parameter, value):
    if value is not None and not ctx.resilient_parsing:
        from infomotion_rt.data.pediatric import configure

        configure(**{param.name: value})


def moved_to_commands(example: str):
    """Callback of the group's --folds/--view (and their environment variables): the pre-0.2 place."""
    def note(ctx: click.Context, param: click.Parameter, value):
        if value is not None and not ctx.resilient_parsing:
            click.echo(f"note: {param.opts[0]} before the command (or {param.envvar}) has moved: give it to the command "
                       f"that reads the data, e.g. infomotion-rt info DIR {example}; the old place goes in the next "
                       "release", err=True)
        return value
    return note


def pediatric_options(f=None, *, advanced: bool = False):
    """``--folds`` and ``--view``: how an EchoNet-Pediatric source is read, for a command that reads data."""
    if f is None:
        return lambda g: pediatric_options(g, advanced=advanced)
    option = advanced_option if advanced else click.option
    f = option("--view", type=click.Choice(["A4C", "PSAX"], case_sensitive=False), expose_value=False,
                     callback=_configure_pediatric,
                     help="EchoNet-Pediatric: the view read from a root holding A4C/ and PSAX/ (default A4C).")(f)
    return option("--folds", metavar="SPEC", expose_value=False, callback=_configure_pediatric,
                        help="EchoNet-Pediatric: folds to splits (default TRAIN:0-7,VAL:8,TEST:9; ours).")(f)

