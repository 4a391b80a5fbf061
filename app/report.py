"""Sweep reports: CSV and a standalone HTML page built with the plotly Python package (works offline).

Every CSV cell goes through `cell`: a text that a spreadsheet would take for a formula gets a leading ' (OWASP,
CSV injection), as the pages' exports do (static/js/lib/download.js)."""

from __future__ import annotations

import csv
from typing import Any

from .engine.loss import optimal_logit_gap

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell: "" for None, numbers as they are, a formula-looking text prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: str, runs: list[dict[str, Any]]) -> None:
    keys = list(runs[0])
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[cell(k) for k in keys])
        writer.writeheader()
        for run in runs:
            writer.writerow({cell(k): cell(run[k]) for k in keys})


def write_html(path: str, config: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Validation accuracy, NLL, ECE and the train logit gap against ε, with the theory curve."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    eps = [r["eps"] for r in runs]
    fig = make_subplots(rows=2, cols=2, subplot_titles=(
        "validation accuracy", "validation loss (smoothed objective)", "ECE (validation, 15 bins)",
        "train logit gap vs theory ln(1 + K(1 − ε)/ε)"))
    fig.add_trace(go.Scatter(x=eps, y=[r["val_acc"] for r in runs], mode="lines+markers", name="val accuracy"), 1, 1)
    fig.add_trace(go.Scatter(x=eps, y=[r["val_loss"] for r in runs], mode="lines+markers", name="val loss"), 1, 2)
    fig.add_trace(go.Scatter(x=eps, y=[r["ece"] for r in runs], mode="lines+markers", name="ECE"), 2, 1)
    gaps = [r["logit_gap"] for r in runs]
    fig.add_trace(go.Scatter(x=eps, y=gaps, mode="lines+markers", name="train logit gap"), 2, 2)
    dense = [0.01 * i for i in range(1, 101) if 0.01 * i >= min(e for e in eps if e > 0)] if any(eps) else []
    fig.add_trace(go.Scatter(x=dense, y=[optimal_logit_gap(e, 3) for e in dense], mode="lines",
                             line={"dash": "dash"}, name="theory"), 2, 2)
    for r, c in ((1, 1), (1, 2), (2, 1), (2, 2)):
        fig.update_xaxes(title_text="ε", row=r, col=c)
    title = f"ε sweep: {config.get('dataset')}, {config.get('steps')} steps, seed {config.get('seed')}"
    fig.update_layout(title=title, height=760, template="plotly_white")
    fig.write_html(path, include_plotlyjs=True, full_html=True)


DISTILL_ROLES = (("teachers", "teacher"), ("students", "student"))
TWIN_WORDS = {"baseline": "one-hot (ε = 0)", "smoothed": "smoothed (ε)"}


def write_distill_csv(path: str, result: dict[str, Any]) -> None:
    """The distillation lab's four runs, one row each: role, twin, the teacher's ε, T, α, then the metrics."""
    rows = []
    for role, one in DISTILL_ROLES:
        for twin, run in result[role].items():
            eps = run.get("eps", run.get("teacher_eps"))
            rows.append({"role": one, "twin": twin, "teacher_eps": eps, "temperature": result["temperature"],
                         "alpha": result["alpha"], **{k: v for k, v in run.items() if k not in ("eps", "teacher_eps")}})
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[cell(k) for k in keys])
        writer.writeheader()
        for row in rows:
            writer.writerow({cell(k): cell(row.get(k)) for k in keys})


def write_distill_html(path: str, config: dict[str, Any], result: dict[str, Any],
                       history: list[dict[str, Any]]) -> None:
    """The lab over training: similar-class share, validation accuracy, NLL and ECE of teachers and students."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    charts = (("similar_share", "similar-class share at T (0.5: no information)"), ("val_acc", "validation accuracy"),
              ("val_nll", "validation NLL"), ("ece", "ECE (validation, 15 bins)"))
    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for _, title in charts])
    colors = {"baseline": "#4b4e6d", "smoothed": "#c2185b"}
    for i, (key, _) in enumerate(charts):
        row, col = divmod(i, 2)
        for _, one in DISTILL_ROLES:
            for twin, color in colors.items():
                name = f"{one}/{twin}"
                # teachers until the students start (then they are frozen), students from there on
                points = [(h["step"], h["runs"][name].get(key)) for h in history
                          if (h["student_step"] == 0 if one == "teacher" else h["phase"] != "teachers")]
                fig.add_trace(go.Scatter(
                    x=[p[0] for p in points], y=[p[1] for p in points], mode="lines", legendgroup=name,
                    name=f"{one} {TWIN_WORDS[twin]}", showlegend=i == 0,
                    line={"color": color, "dash": "solid" if one == "teacher" else "dot", "width": 2.4}),
                    row + 1, col + 1)
        fig.update_xaxes(title_text="step (teachers, then students)", row=row + 1, col=col + 1)
    teacher_steps = result["teachers"]["baseline"].get("steps")
    if teacher_steps:
        for i in range(4):
            fig.add_vline(x=teacher_steps, line={"color": "#9aa1ab", "dash": "dash", "width": 1}, row=i // 2 + 1,
                          col=i % 2 + 1)
    fig.add_hline(y=0.5, line={"color": "#9aa1ab", "dash": "dot", "width": 1}, row=1, col=1)
    title = (f"Distillation: {config.get('dataset')}, similarity {config.get('similarity')}, ε = {config.get('eps')}, "
             f"T = {result['temperature']:g}, α = {result['alpha']:g}, seed {config.get('seed')}")
    fig.update_layout(title=title, height=780, template="plotly_white")
    fig.write_html(path, include_plotlyjs=True, full_html=True)
