"""Sweep reports: CSV and a standalone HTML page built with the plotly Python package (works offline)."""

from __future__ import annotations

import csv
from typing import Any

from .engine.loss import optimal_logit_gap


def write_csv(path: str, runs: list[dict[str, Any]]) -> None:
    keys = list(runs[0])
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for run in runs:
            writer.writerow({k: "" if run[k] is None else run[k] for k in keys})


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
