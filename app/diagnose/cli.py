"""`python -m app diagnose FILE [--classes A,B,C] [--eps E] [--points-per-class 100] [--html OUT.html] [--json]`:
the paper's diagnostics for a network the user trained, from the file docs/diagnose.md says how to save.

Prints a short table, or the report as one JSON object (--json); --html writes the offline HTML report. A bad
file or setting is one line on stderr and exit status 2 (app/__main__.py prints DiagnoseError like a bad flag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .reader import DEFAULT_MAX_MB, TooLarge, max_bytes, mb
from .report import DEFAULT_POINTS, check_settings


def add_diagnose_parser(sub: Any) -> None:
    p = sub.add_parser("diagnose", help="the paper's diagnostics for a network you trained (an .npz or .safetensors)")
    p.add_argument("file", help="features, labels, weight and bias of the last layer (docs/diagnose.md)")
    p.add_argument("--classes", help="the plane's three classes, indices or names: A,B,C (default: the three the "
                                     "network confuses most)")
    p.add_argument("--eps", type=float, help="the ε the network was trained with: the gap's theory ln(1 + K(1 − ε)/ε)")
    p.add_argument("--points-per-class", type=int, default=DEFAULT_POINTS,
                   help=f"points of each class in the plane, sampled with --seed (default {DEFAULT_POINTS})")
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    p.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB,
                   help=f"refuse files (and the arrays they declare) over this many MB (default {DEFAULT_MAX_MB:g})")
    p.add_argument("--html", metavar="OUT.html", help="write the self-contained offline HTML report")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")


def run_diagnose(args: argparse.Namespace) -> int:
    """Read, diagnose, print (and write the HTML report); DiagnoseError and OSError go to the caller."""
    from .html import render_html
    from .reader import read_dump
    from .report import build_report, report_json

    check_settings(args.eps, args.points_per_class, args.seed)
    cap = max_bytes(args.max_mb)
    path = Path(args.file)
    size = path.stat().st_size
    if size > cap:  # before reading a byte of it
        raise TooLarge(f"The file is {mb(size)}, over the {mb(cap)} cap.")
    report = build_report(read_dump(path.read_bytes(), args.max_mb), args.classes, args.eps, args.points_per_class,
                          args.seed)
    if args.html:
        Path(args.html).write_text(render_html(report), encoding="utf-8")
    print(report_json(report) if args.json else summary(report))
    if args.html and not args.json:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def summary(report: dict[str, Any]) -> str:
    """The report's main numbers as a few lines of text."""
    names = report["class_names"]

    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:.4g}"

    gap, share = report["gap"], report["similar_share"]
    theory = "" if gap["theory"] is None else f" (theory {num(gap['theory'])} at ε = {report['eps']:g})"
    rows = [
        ("classes", f"K = {report['k']}, d = {report['d']}; {report['n_train']} training, {report['n_val']} validation "
                    f"points ({report['format']})"),
        ("plane", ", ".join(f"{names[c]} ({c})" for c in report["classes"]) + f" ({report['classes_chosen']})"),
        (f"accuracy ({report['evaluated_on']})", f"{report['accuracy']:.4f} (training {report['train_accuracy']:.4f})"),
        ("NLL", f"{num(report['nll'])} → {num(report['nll_after_temperature'])} at T = {num(report['temperature'])}"),
        ("ECE (15 bins)", f"{num(report['ece'])} → {num(report['ece_after_temperature'])} after temperature scaling"),
        ("logit gap", f"{num(gap['mean'])} ± {num(gap['std'])}{theory}"),
        ("wrong-template spread", f"{num(report['spread'])} (0 = equidistant)"),
        ("similar-class share", f"{num(share['share'])} for {names[share['pair'][0]]} / {names[share['pair'][1]]} "
                                f"(even: {num(share['even'])})"),
    ]
    width = max(len(what) for what, _ in rows)
    return "\n".join(f"{what.ljust(width)}  {value}" for what, value in rows)
