"""``imcspice fit / validate / plot / models``: the behavioral-model sub-commands.

    imcspice fit RAW.raw.h5 [--kind K] --out M.model.h5 [--seed N]
    imcspice validate M.model.h5 [--against RAW.raw.h5]     (last line: JSON)
    imcspice plot FILE.h5 --out FIG.png [--raw RAW.raw.h5]
    imcspice models kinds                                   model kinds and their recipes
    imcspice models build-defaults --out models/data        shipped default models

Picked up by ``imcspice.cli`` through :func:`register`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import jsonio
from ..cli import count_arg


def _dump(obj) -> str:
    return jsonio.dumps(obj, sort_keys=True)


def _cmd_fit(args) -> int:
    from ..models.base import SCHEMA
    from .artifacts import guard_output
    from .fit import FitError, fit_file
    guard_output(args.out, SCHEMA, args.force)
    try:
        model = fit_file(args.raw, args.out, args.kind, seed=args.seed)
    except FitError as e:
        print(f"imcspice fit: error: {e}", file=sys.stderr)
        return 2
    he = model.heldout_error
    for name, e in he.get("outputs", {}).items():
        print(f"{name:<14} held-out max {e['max_abs']:.4g} {e.get('unit', '')} "
              f"({e['max_pct_fs']:.3g}% FS), rms {e['rms_pct_fs']:.3g}% FS, "
              f"{e['n_heldout']} held-out / {e['n_train']} training points", file=sys.stderr)
    print(_dump({"out": str(args.out), "kind": model.kind, "outputs": model.outputs,
                 "max_heldout_pct_fs": he.get("max_pct_fs"),
                 "source_raw_sha256": model.source_raw_sha256}))
    return 0


def _cmd_validate(args) -> int:
    from ..models.base import ModelFileError
    from ..models.store import load
    try:
        model = load(args.model)
    except ModelFileError as e:
        print(f"imcspice validate: error: {e}", file=sys.stderr)
        return 2
    if args.against:
        from .fit import FitError, errors_against
        try:
            res = errors_against(model, args.against)
        except FitError as e:
            print(f"imcspice validate: error: {e}", file=sys.stderr)
            return 2
        for name, e in res["outputs"].items():
            print(f"{name:<14} vs {Path(args.against).name}: max {e['max_abs']:.4g} "
                  f"{e.get('unit', '')} ({e['max_pct_fs']:.3g}% FS), rms {e['rms_pct_fs']:.3g}% "
                  f"FS over {e['n_points']} points ({e['n_outside_valid_range']} outside the "
                  "valid range, not compared)")
        res = {"model": str(args.model), "kind": model.kind, "mode": "against", **res}
    else:
        he = model.heldout_error
        for name, e in he.get("outputs", {}).items():
            print(f"{name:<14} held-out max {e['max_abs']:.4g} {e.get('unit', '')} "
                  f"({e['max_pct_fs']:.3g}% FS), rms {e['rms_pct_fs']:.3g}% FS "
                  f"({e['n_heldout']} points)")
        res = {"model": str(args.model), "kind": model.kind, "mode": "heldout", **he}
    print(_dump(res))
    return 0


def _cmd_plot(args) -> int:
    from .fit_plot import plot_file
    out = plot_file(args.file, args.out, raw=args.raw)   # input errors: imcspice.cli.main
    print(_dump({"out": str(out)}))
    return 0


def _cmd_models(args) -> int:
    if args.action == "kinds":
        from .fit import FITTERS
        for k in FITTERS.names():
            f = FITTERS[k]
            print(f"{k:<20} from {', '.join(sorted(f.recipes)) or '-'}  "
                  f"({f.fit.__module__}.{f.fit.__name__})")
        return 0
    if args.action == "build-defaults":
        from .defaults import build_defaults
        res = build_defaults(args.out, workers=args.workers, only=args.only,
                             progress=not args.quiet)
        print(_dump(res))
        return 0 if all(v.get("ok") for v in res["models"].values()) else 1
    raise AssertionError(args.action)


def register(sub) -> None:
    p = sub.add_parser("fit", help="fit a raw sweep into a behavioral model FILE.model.h5")
    p.add_argument("raw", help="raw sweep file (*.raw.h5)")
    p.add_argument("--kind", default=None,
                   help="model kind (default: from the raw file's recipe; `imcspice models "
                        "kinds` lists them)")
    p.add_argument("--out", required=True, help="output model file (*.model.h5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--force", action="store_true",
                   help="overwrite --out even if it is not an imcspice model file")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("validate", help="held-out error of a model, or its error against a "
                                        "raw sweep (JSON on the last line)")
    p.add_argument("model", help="model file (*.model.h5)")
    p.add_argument("--against", default=None, metavar="RAW",
                   help="compare with every point of this raw sweep file")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("plot", help="transfer curves of a raw sweep, or SPICE points vs a "
                                    "model with residuals, as PNG")
    p.add_argument("file", help="*.raw.h5 or *.model.h5")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--raw", default=None,
                   help="for a model: the raw sweep to plot against (default: the model's "
                        "source file, if it sits next to the model with the recorded hash)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("models", help="model kinds; build the shipped default models")
    msub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = msub.add_parser("kinds", help="list model kinds and the recipes they fit")
    q.set_defaults(func=_cmd_models)
    q = msub.add_parser("build-defaults",
                        help="run the small default sweeps of every family and fit them "
                             "into OUT/*.model.h5")
    q.add_argument("--out", default="models/data", help="output directory (default models/data)")
    q.add_argument("--workers", type=count_arg, default=0,
                   help="local worker processes (0: one per core)")
    q.add_argument("--only", action="append", default=None, metavar="NAME",
                   help="build only this default model (repeatable)")
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=_cmd_models)
