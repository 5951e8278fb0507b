"""The ``segbench`` command.

Each command group lives in its own ``_cli_*`` module; this one holds the global
options and turns expected errors (bad input, missing files) into a one-line message
and a non-zero exit. ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys

import click

from benchmarks._version import __version__

__all__ = ["cli", "main"]

# Errors users cause with their input; anything else is a bug and keeps its traceback.
_USER_ERRORS = (ValueError, TypeError, IndexError, FileNotFoundError, NotADirectoryError,
                PermissionError, KeyError)

_state = {"debug": False}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="segbench")
@click.option("--threads", type=int, default=None, metavar="N",
              help="Threads per process for every library (BLAS, OpenCV, Numba, torch); "
                   "fix it for fair timings.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Device for deep models.")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, threads: int | None, device: str, debug: bool) -> None:
    """segbench: classical and deep image segmentation, scored on the same masks.

    \b
    Examples:
      segbench run                         # synthetic demo -> runs/<time>/report.html
      segbench datasets list               # which datasets are found where
      segbench segment slic photo.jpg --param n_segments=200 --overlay o.png
      segbench train --model fcn8s_resnet18 --dataset synthetic --minutes 5 --out runs/syn
      segbench evaluate bsds --gt-dir GT --ucm-dir UCM --out results/
    """
    from benchmarks._runtime import check_device, set_threads

    _state["debug"] = debug
    ctx.ensure_object(dict)
    if threads is not None:
        set_threads(threads)
    ctx.obj["threads"] = threads
    ctx.obj["device"] = check_device(device)


def _register() -> None:
    from benchmarks._cli_datasets import datasets
    from benchmarks._cli_deep import predict, train
    from benchmarks._cli_run import report, run
    from benchmarks._cli_segment import segment

    cli.add_command(run)
    cli.add_command(report)
    cli.add_command(segment)
    cli.add_command(train)
    cli.add_command(predict)
    cli.add_command(datasets)
    try:
        from benchmarks._cli_evaluate import evaluate
    except ImportError:  # metrics CLI not installed in this build
        pass
    else:
        cli.add_command(evaluate)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``segbench`` console script; returns the exit code."""
    try:
        code = cli.main(args=argv, prog_name="segbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("segbench: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except _USER_ERRORS as exc:
        if _state["debug"]:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        click.echo(f"segbench: error: {message}", err=True)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
