"""``xbench cache``: show and clear xbench's cache folder (encoded splits, converted models,
checkpoints of unfinished trainings)."""

from __future__ import annotations

import click

from benchmark.cli.group import cli


@cli.group("cache", invoke_without_command=True)
@click.pass_context
def cache_group(ctx):
    """Show what xbench's cache folder holds ($XBENCH_CACHE_DIR, else ~/.cache/xbench).

    Encoded test splits (tokenised once, read by every later run, seed and model that shares
    the tokenizer), converted offline models and checkpoints of unfinished trainings. With no
    subcommand: the same as `xbench cache show`.
    """
    if ctx.invoked_subcommand is None:
        from benchmark.commands.cache import cache_table

        click.echo(cache_table())


@cache_group.command("show")
def cache_show():
    """List the cache's parts with sizes, and every encoded split: language, split, window, size."""
    from benchmark.commands.cache import cache_table

    click.echo(cache_table())


@cache_group.command("clear")
@click.option("--what", "parts", type=click.Choice(["encoded", "models", "checkpoints", "all"]), multiple=True,
              default=("encoded",), show_default=True,
              help="What to remove (repeatable): encoded splits (rebuilt when next needed), converted models "
                   "(converted again when next needed), checkpoints (unfinished trainings start over), or all.")
@click.option("--yes", is_flag=True, help="Really remove it; without it, say what would be removed and stop.")
def cache_clear(parts, yes):
    """Remove parts of the cache. Do not clear models or checkpoints while a run is using them."""
    from benchmark.commands.cache import PARTS, clear_cache

    chosen = tuple(PARTS) if "all" in parts else tuple(dict.fromkeys(parts))
    click.echo(clear_cache(chosen, yes))
