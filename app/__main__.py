"""Command line: `python -m app serve | run | sweep | distill | diagnose`.

run   trains the twin (ε = 0 and ε) and prints a table, or one JSON object with --json.
sweep trains one model per ε as one vectorized bank; --json, --out-csv FILE, --html FILE.
distill trains two teachers (ε = 0 and ε), then one student each on its teacher's softened probabilities;
      --json, --out-csv FILE, --html FILE.
diagnose reads a trained network's file and prints the paper's diagnostics (app/diagnose/cli.py); --json, --html.
run, sweep and distill train on your own CSV file with --csv FILE [--label COL] [--classes A,B,C] (app/csvcli.py).
serve serves the live explorer (uvicorn; workers = CPU count in production).
Bad flags give one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import csvcli
from .diagnose.cli import add_diagnose_parser, run_diagnose
from .diagnose.reader import DiagnoseError
from .engine.config import MAX_SWEEP_MODELS, RunConfig
from .engine.csvread import CsvError
from .protocol.messages import ControlError, merge_config
from .server.supervisor import ServeError, serve

REPORT_KEYS = (
    "eps", "steps", "train_loss", "val_loss", "train_acc", "val_acc", "ece", "logit_gap", "val_logit_gap",
    "dist_correct", "dist_incorrect", "incorrect_spread", "loss_floor", "optimal_logit_gap",
)


class UsageError(Exception):
    """A bad flag or value: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _add_run_flags(p: argparse.ArgumentParser, steps: bool = True) -> None:
    p.add_argument("--dataset", help="blobs, digits, digits-similar, wine or iris (default blobs)")
    if steps:
        p.add_argument("--steps", type=int, default=3000, help="optimizer steps (default 3000)")
    p.add_argument("--seed", type=int, help="seeds data, initial weights and batches (default 0)")
    p.add_argument("--lr", type=float, help="learning rate (default 0.01)")
    p.add_argument("--optimizer", help="adam (default) or sgd")
    p.add_argument("--weight-decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--batch-size", type=int, help="minibatch size (default 128)")
    p.add_argument("--hidden", type=int, help="hidden width (default 32)")
    p.add_argument("--penultimate", type=int, help="penultimate dimension d (default 8)")
    p.add_argument("--points", type=int, help="training points for blobs (default 600)")
    p.add_argument("--device", help="auto (default), cpu or cuda")
    p.add_argument("--similarity", type=float, help="blobs: 0 far apart … 1 classes 0 and 1 overlap")
    p.add_argument("--label-noise", type=float, help="fraction of training labels flipped, 0 to 0.5")
    p.add_argument("--ordered", action="store_true", default=None, help="unshuffled: class 0, then 1, then 2")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    csvcli.add_flags(p)


def build_parser() -> Parser:
    parser = Parser(prog="python -m app", description="Label Smoothing Explorer")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve = sub.add_parser("serve", help="serve the live explorer")
    serve.add_argument("--host", help="default 127.0.0.1 (HOST)")
    serve.add_argument("--port", type=int, help="default 8000 (PORT)")
    serve.add_argument("--workers", type=int, help="uvicorn worker processes; 0 = one per CPU (WORKERS)")
    serve.add_argument("--device", help="auto, cpu or cuda (DEVICE)")
    serve.add_argument("--no-batch", action="store_true",
                       help="train every session alone instead of as one bank per shape (BATCH_SESSIONS=0)")
    run = sub.add_parser("run", help="train the twin (ε = 0 and ε) and report")
    _add_run_flags(run)
    run.add_argument("--eps", type=float, help="the smoothed run's ε, 0 to 1 (default 0.1)")
    sweep = sub.add_parser("sweep", help="train one model per ε as one bank and report")
    _add_run_flags(sweep)
    sweep.add_argument("--eps", default="0:0.5:0.05", help="START:STOP:STEP or a comma list (default 0:0.5:0.05)")
    sweep.add_argument("--out-csv", metavar="FILE", help="write the results as CSV")
    sweep.add_argument("--html", metavar="FILE", help="write a standalone Plotly report")
    _add_distill_parser(sub)
    add_diagnose_parser(sub)
    return parser


def _add_distill_parser(sub: Any) -> None:
    p = sub.add_parser("distill", help="distil two teachers (ε = 0 and ε) into two students and report")
    _add_run_flags(p, steps=False)
    p.add_argument("--eps", type=float, help="the smoothed teacher's ε, 0 to 1 (default 0.1)")
    p.add_argument("--temperature", type=float, help="softening temperature T (default 1)")
    p.add_argument("--alpha", type=float, help="weight of the hard labels' loss, 0 (default: pure distillation) to 1")
    p.add_argument("--teacher-steps", type=int, help="the teachers' steps (default 3000)")
    p.add_argument("--student-steps", type=int, help="the students' steps, after the teachers' (default 3000)")
    p.add_argument("--student-hidden", type=int, help="the students' hidden width (default 8)")
    p.add_argument("--student-penultimate", type=int, help="the students' penultimate dimension (default 4)")
    p.add_argument("--out-csv", metavar="FILE", help="write the four runs as CSV")
    p.add_argument("--html", metavar="FILE", help="write a standalone Plotly report (the runs over training)")


def parse_eps_list(spec: str) -> list[float]:
    """'0:0.5:0.05' (inclusive, never past STOP) or '0, 0.1, 0.3' → sorted distinct ε values, validated.

    The sweep page parses with the same rule (static/js/lib/); tests/cases/eps_lists.json holds both to it.
    """
    src = spec.strip()
    if not src:
        raise UsageError("--eps: no ε values given; e.g. 0:0.5:0.05 or 0,0.1,0.2")
    if ":" in src:
        parts = [p.strip() for p in src.split(":")]
        numbers = [_number(p) for p in parts]
        if len(parts) != 3 or None in numbers:
            raise UsageError(f"--eps: a range is START:STOP:STEP, three numbers, e.g. 0:0.5:0.05; got {spec!r}")
        start, stop, step = (float(n) for n in numbers if n is not None)
        if step <= 0:
            raise UsageError("--eps: the step of START:STOP:STEP must be above 0")
        if stop < start:
            raise UsageError(f"--eps: no ε values from {start:g} to {stop:g}: STOP must not be below START")
        count = (stop - start) / step + 1e-9
        if not count < MAX_SWEEP_MODELS:  # also catches an overflow to inf
            raise UsageError(f"--eps: that range gives over {MAX_SWEEP_MODELS} ε values, at most {MAX_SWEEP_MODELS}")
        values = [round(start + i * step, 10) for i in range(int(count) + 1)]
    else:
        parts = [p for p in re.split(r"[\s,;]+", src) if p]
        bad = next((p for p in parts if _number(p) is None), None)
        if bad is not None:
            raise UsageError(f"--eps: {bad!r} is not a number")
        values = [float(p) for p in parts]
    out = sorted(set(values))
    if not out:
        raise UsageError(f"--eps: no ε values in {spec!r}; e.g. 0:0.5:0.05 or 0,0.1,0.2")
    outside = next((v for v in out if not 0.0 <= v <= 1.0), None)
    if outside is not None:
        raise UsageError(f"--eps: every ε must be between 0 and 1, got {outside:g}")
    if len(out) > MAX_SWEEP_MODELS:
        raise UsageError(f"--eps: at most {MAX_SWEEP_MODELS} ε values in one sweep, got {len(out)}")
    return out


def _number(text: str) -> float | None:
    """A finite number written in decimal, or None (no 'nan', 'inf', or Python's '1_0')."""
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def config_from_args(args: argparse.Namespace, eps: float | None) -> RunConfig:
    fields = ("dataset", "seed", "lr", "optimizer", "weight_decay", "batch_size", "hidden", "penultimate",
              "points", "device", "similarity", "label_noise", "ordered")
    changes: dict[str, Any] = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    changes.update(csvcli.dataset_changes(args))
    if eps is not None:
        changes["eps"] = eps
    try:
        return merge_config(RunConfig(), changes)
    except ControlError as err:
        raise UsageError(str(err).replace("bad run settings: ", "")) from None


def train(config: RunConfig, steps: int, sweep_eps: list[float] | None, quiet: bool,
          table: csvcli.CsvData | None = None) -> dict[str, Any]:
    import torch
    from tqdm import tqdm

    from .engine.session import TrainingSession

    torch.set_num_threads(1)
    if steps < 0:
        raise UsageError(f"--steps must be 0 or more, got {steps}")
    try:
        session = TrainingSession(config, sweep_eps, table)
    except ValueError as err:  # ControlError is a ValueError: the same words as the server's
        raise UsageError(str(err)) from None
    with tqdm(total=steps, desc="training", unit="step", file=sys.stderr, disable=quiet, mininterval=0.2) as bar:
        done = 0
        while done < steps and not session.diverged:
            n = session.step(min(100, steps - done))
            done += n
            bar.update(n)
    runs = session.run_metrics()
    if session.diverged:
        print(f"warning: {session.diverged}", file=sys.stderr)
    cfg = config.as_dict()
    cfg.update(steps=steps, device=str(session.device))
    if sweep_eps is not None:
        cfg["eps"] = sweep_eps
    return {"config": cfg, **csvcli.report(table),
            "runs": {name: {k: m.get(k) for k in REPORT_KEYS} for name, m in runs.items()}}


def _table(rows: dict[str, dict[str, Any]], keys: Sequence[str] = REPORT_KEYS) -> str:
    names = list(rows)
    width = max(12, *(len(n) for n in names))
    out = ["".ljust(20) + "".join(n.rjust(width + 2) for n in names)]
    for k in keys:
        cells = []
        for n in names:
            v = rows[n].get(k)
            cells.append(("—" if v is None else f"{v:.4g}").rjust(width + 2))
        out.append(k.ljust(20) + "".join(cells))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "serve":
            return serve(args)
        if args.command == "run":
            result = train(config_from_args(args, args.eps), args.steps, None, args.quiet, csvcli.load(args))
            if args.json:
                print(json.dumps(result))
            else:
                print(_table(result["runs"]))
            return 0
        if args.command == "distill":
            return distill(args)
        if args.command == "diagnose":
            return run_diagnose(args)
        sweep_eps = parse_eps_list(args.eps)
        if args.html and importlib.util.find_spec("plotly") is None:  # the server's image leaves plotly out
            raise UsageError("--html needs the plotly package: pip install 'label-smoothing-explorer[report]'")
        result = train(config_from_args(args, None), args.steps, sweep_eps, args.quiet, csvcli.load(args))
        runs = list(result["runs"].values())
        from .report import write_csv, write_html

        if args.out_csv:
            write_csv(args.out_csv, runs)
        if args.html:
            write_html(args.html, result["config"], runs)
        if args.json:
            print(json.dumps({**result, "runs": runs}))
        else:
            print(_table(result["runs"]))
        return 0
    except (UsageError, ServeError, DiagnoseError, CsvError) as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"{err.strerror or err} ({getattr(err, 'filename', '')})")
    except KeyboardInterrupt:
        return 130


TEACHER_KEYS = ("eps", "steps", "train_loss", "train_acc", "val_acc", "val_nll", "ece", "mean_confidence",
                "logit_gap", "similar_share", "similar_share_per_point")
STUDENT_KEYS = ("teacher_eps", "steps", "train_loss", "hard_train_loss", "train_acc", "val_acc", "val_nll", "ece",
                "mean_confidence", "agreement", "similar_share", "similar_share_per_point")
DISTILL_FLAGS = ("temperature", "alpha", "teacher_steps", "student_steps", "student_hidden", "student_penultimate")


def distill(args: argparse.Namespace) -> int:
    """`distill`: teachers, then students; one JSON object {temperature, alpha, teachers, students} with --json."""
    from .engine.config import ConfigError
    from .engine.distill import DistillSettings

    config = config_from_args(args, args.eps)
    changes: dict[str, Any] = {}
    for name in DISTILL_FLAGS:
        value = getattr(args, name)
        if value is not None:
            try:
                DistillSettings(**{name: value})
            except ConfigError as err:
                raise UsageError(f"--{name.replace('_', '-')}: {err}") from None
            changes[name] = value
    settings = DistillSettings(**changes)
    if args.html and importlib.util.find_spec("plotly") is None:
        raise UsageError("--html needs the plotly package: pip install 'label-smoothing-explorer[report]'")
    result, history = train_distill(config, settings, args.quiet, record=bool(args.html), table=csvcli.load(args))
    from .report import write_distill_csv, write_distill_html

    if args.out_csv:
        write_distill_csv(args.out_csv, result)
    if args.html:
        write_distill_html(args.html, config.as_dict(), result, history)
    if args.json:
        print(json.dumps(result))
    else:
        rows = {f"{role[:-1]}/{twin}": run for role in ("teachers", "students") for twin, run in result[role].items()}
        print(f"T = {settings.temperature:g}, α = {settings.alpha:g}")
        print(_table(rows, list(dict.fromkeys([*TEACHER_KEYS, *STUDENT_KEYS]))))
    return 0


def train_distill(config: RunConfig, settings: Any, quiet: bool, record: bool = False,
                  table: csvcli.CsvData | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the lab to its end: the report and, with `record`, the four runs' metrics about every 1 % of the way."""
    import torch
    from tqdm import tqdm

    from .engine.distill import DistillSession

    torch.set_num_threads(1)
    try:
        lab = DistillSession(config, settings, table)
    except ValueError as err:
        raise UsageError(str(err)) from None
    total = settings.teacher_steps + settings.student_steps
    chunk = max(1, min(100, total // 100)) if record else 100
    history: list[dict[str, Any]] = []
    with tqdm(total=total, desc="distilling", unit="step", file=sys.stderr, disable=quiet, mininterval=0.2) as bar:
        while lab.step_count < total and not lab.diverged:
            bar.update(max(0, lab.step(min(chunk, total - lab.step_count))))
            if record:
                snap = lab.snapshot()
                history.append({"step": snap.step, "phase": snap.phase, "student_step": snap.student_step,
                                "runs": {r.name: r.metrics for r in snap.frame.runs}})
    if lab.diverged:
        print(f"warning: {lab.diverged}", file=sys.stderr)
    runs = lab.run_metrics()

    def pick(name: str, keys: Sequence[str]) -> dict[str, Any]:
        return {k: runs[name].get(k) for k in keys}

    result = {
        "temperature": settings.temperature, "alpha": settings.alpha, **csvcli.report(table),
        "teachers": {twin: pick(f"teacher/{twin}", TEACHER_KEYS) for twin in ("baseline", "smoothed")},
        "students": {twin: pick(f"student/{twin}", STUDENT_KEYS) for twin in ("baseline", "smoothed")},
    }
    return result, history


def _fail(message: str) -> int:
    """One line on stderr, whatever the user typed (control characters are shown escaped), exit status 2."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    print(f"python -m app: error: {shown}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
