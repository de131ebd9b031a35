"""The ``imcspice`` command line: one sub-command per pipeline step.

    imcspice recipes                      what can be measured
    imcspice sweep RECIPE --set ...       ngspice sweep -> FILE.raw.h5
    imcspice show FILE.h5                 provenance, axes, status counts
    imcspice fit / validate / plot        behavioral models (models issue)
    imcspice evaluate / demo              accelerator evaluation (accelerators issue)

Each handler imports its stage lazily so ``imcspice --help`` is instant and the
model/accelerator commands work where ngspice is absent.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .errors import ImcspiceError, UsageError

EPILOG_SWEEP = """\
values for --set NAME=...:
  0.9 | 1.5u | 10k          one value (SPICE suffixes t g meg k m u n p f)
  0.1,0.2,0.5               a list
  0:1.8:19                  START:STOP:N, linear
  log:1e-6:1e-3:7           log:START:STOP:N, logarithmic
  file.npy                  for file parameters (crossbar-array)

examples:
  imcspice sweep nfet-iv --set w_um=0.5,1,2 --corner tt,ff,ss --temp 27,85 --out iv.raw.h5
  imcspice sweep nfet-iv --set w_um=1 --mc 50 --seed 7 --out mc.raw.h5
"""


def _cmd_recipes(args) -> int:
    from .characterize.recipes import all_recipes
    for r in all_recipes():
        print(f"{r.name}: {r.summary}")
        for p in r.params:
            rng = ""
            if p.choices:
                rng = f" one of {{{', '.join(p.choices)}}}"
            elif p.min is not None:
                rng = f" in [{p.min:g}, {p.max:g}]"
            struct = " (topology)" if p.structural else ""
            print(f"    {p.name:<14} default {p.default!s:<8} {p.unit:<4}{rng}{struct}  {p.doc}")
        outs = ", ".join(f"{o.name} [{o.unit}]" for o in r.outputs)
        print(f"    outputs: {outs}")
    return 0


def _cmd_sweep(args) -> int:
    from .characterize.runner import run_sweep, spec_from_cli
    if args.spec:
        from .characterize.sweep import load_spec_file
        if args.recipe or args.set:
            raise UsageError("give either --spec FILE or RECIPE with --set, not both")
        spec = load_spec_file(args.spec)
    elif not args.recipe:
        raise UsageError("name a recipe (see `imcspice recipes`) or give --spec FILE.json")
    else:
        spec = spec_from_cli(args.recipe, args.set, args.corner, args.temp, args.mc, args.seed)
    out = args.out or f"{spec.recipe}.raw.h5"
    if not args.resume:
        from .characterize.artifacts import guard_output
        from .characterize.rawfile import SCHEMA
        guard_output(out, SCHEMA, args.force)
    print(f"{spec.recipe}: {spec.n_points} points "
          f"({' x '.join(f'{a.name}[{len(a.values)}]' for a in spec.outer_axes)}) -> {out}",
          file=sys.stderr)
    pool = None
    if args.scheduler:
        from .characterize.dask_pool import DaskPool
        from .characterize.runner import suggested_timeout
        pool = DaskPool(args.scheduler, timeout_s=args.timeout or suggested_timeout(spec),
                        workers=args.workers).__enter__()
    try:
        raw = run_sweep(spec, out, workers=args.workers, resume=args.resume,
                        timeout_s=args.timeout, use_cache=not args.no_cache,
                        progress=not args.quiet, pool=pool, retry_failed=args.retry_failed)
    finally:
        if pool is not None:
            pool.__exit__(None, None, None)
    counts = raw.status_counts()
    print(json.dumps({"out": out, "points": int(raw.status.size), "status": counts}))
    if raw.status.size and not counts.get("ok", 0):
        print(f"imcspice sweep: error: no point succeeded ({counts}); see `imcspice show "
              f"{out}` for the messages", file=sys.stderr)
        return 1
    return 0 if counts.get("pending", 0) == 0 else 1


def _cmd_show(args) -> int:
    from .characterize.show import show
    print(show(args.file))
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="imcspice",
        description="SPICE characterization of analog in-memory-computing circuits, compact "
                    "behavioral models, and transformer-accelerator evaluation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="pipeline: recipes -> sweep -> fit -> validate/plot -> evaluate; "
               "`imcspice demo --out DIR` runs it all on small defaults.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("recipes", help="list recipes with parameters, units and defaults")
    p.set_defaults(func=_cmd_recipes)

    p = sub.add_parser("sweep", help="run an ngspice sweep of a recipe into FILE.raw.h5",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=EPILOG_SWEEP)
    p.add_argument("recipe", nargs="?", help="recipe name (see `imcspice recipes`)")
    p.add_argument("--spec", default=None, metavar="FILE.json",
                   help="the whole sweep as JSON: {\"recipe\": ..., \"axes\": {NAME: [values]}, "
                        "\"corners\": [...], \"temps_c\": [...], \"mc\": N, \"seed\": S}")
    p.add_argument("--set", action="append", metavar="NAME=VALUES",
                   help="sweep or fix a recipe parameter (repeatable)")
    p.add_argument("--corner", default="tt", help="process corners, comma list (tt,ff,ss,sf,fs)")
    p.add_argument("--temp", default="27", help="temperatures in degC, comma list")
    p.add_argument("--mc", type=int, default=0, help="Monte-Carlo mismatch samples per point")
    p.add_argument("--seed", type=int, default=1, help="Monte-Carlo seed (reproducible)")
    p.add_argument("--workers", type=count_arg, default=0,
                   help="local worker processes (default 0: one per core)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address tcp://HOST:PORT, or 'local' for a LocalCluster")
    p.add_argument("--timeout", type=seconds_arg, default=None,
                   help="seconds allowed per point (default: the recipe's own estimate, 60 s "
                        "for most; larger for long ACAM rows)")
    p.add_argument("--out", default=None, help="output FILE.raw.h5 (default RECIPE.raw.h5)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted sweep in --out (same spec)")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume, also re-run points recorded as failed")
    p.add_argument("--no-cache", action="store_true", help="ignore the point cache")
    p.add_argument("--force", action="store_true",
                   help="overwrite --out even if it is not an imcspice sweep file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("show", help="provenance, axes and status counts of a .h5 file")
    p.add_argument("file", help="*.raw.h5 sweep or *.model.h5 model file")
    p.set_defaults(func=_cmd_show)

    for register in _extensions():
        register(sub)
    return ap


def seconds_arg(text: str) -> float:
    """argparse type: a finite number of seconds > 0 (nan, inf, 0 and negatives are
    refused rather than silently disabling or defaulting the limit)."""
    return positive_float_arg(text, "a finite number of seconds > 0")


def rate_arg(text: str) -> float:
    """argparse type: a finite number >= 0 (a learning rate: 0 freezes that group; a
    budget: 0 is none); nan, inf and negatives are refused before any work."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number >= 0")
    return v


def decay_arg(text: str) -> float:
    """argparse type: a decay factor in [0, 1) (0: off)."""
    v = rate_arg(text)
    if v >= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a decay in [0, 1)")
    return v


def count_arg(text: str, lo: int = 0) -> int:
    """argparse type: an integer >= ``lo``."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < lo:
        raise argparse.ArgumentTypeError(f"{text!r}: must be >= {lo}")
    return v


def positive_float_arg(text: str, what: str = "a finite number > 0") -> float:
    """argparse type: a finite number > 0 (a physical size: s, ohm, A, Hz, F)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give {what}")
    return v


def new_file_arg(text: str) -> Path:
    """argparse type: a file path that does not exist yet (a result never overwrites one)."""
    path = Path(text)
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} exists; give a new path (nothing is "
                                         "overwritten)")
    return path


def positive_arg(text: str) -> int:
    """argparse type: an integer >= 1."""
    return count_arg(text, 1)


def _extensions():
    """Sub-commands of later pipeline stages (fit/validate/plot, evaluate/demo), each
    registered by its stage's own ``cli`` module when that module is installed."""
    import importlib
    import importlib.util
    regs = []
    for mod in ("imcspice.characterize.cli_models", "imcspice.accelerators.cli"):
        if importlib.util.find_spec(mod) is not None:
            regs.append(importlib.import_module(mod).register)
    return regs


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the input is wrong": reported in one line, exit code 2.

    Only imcspice's own :class:`ImcspiceError` (raised where an input is checked) and the
    OSErrors of a path the user named that is missing, unreadable or of the wrong type
    (their message names the path). Anything else -- a ``KeyError`` or ``ValueError`` from
    inside the code, an ``OSError`` such as a full disk -- is a bug or an environment fault
    and keeps its traceback."""
    return (ImcspiceError, FileNotFoundError, PermissionError, IsADirectoryError,
            NotADirectoryError, FileExistsError)


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal
    import threading
    old = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a scheduler's kill, `timeout`) ends a command the way Ctrl-C does:
        # the points finished so far are written and no temporary file is left
        old = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"imcspice {args.command}: interrupted; completed points are saved "
              "(re-run with --resume)", file=sys.stderr)
        return 130
    except _user_errors() as e:
        print(f"imcspice {args.command}: error: {e}", file=sys.stderr)
        return 2
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":
    sys.exit(main())
