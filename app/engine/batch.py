"""Many sessions as one bank: a batched training step and batched snapshots (docs/architecture.md, compute loop).

Tiny models are overhead-bound: a bank of 80 models costs a few times what a bank of 2 costs. So the
server steps every playing session of a worker whose models have the same shape as one bank, each
session's models as consecutive rows of one (R, P) tensor, and each row with its own data, minibatch,
ε, learning rate, weight decay and optimizer step count. The rows are gathered from the sessions
before and written back after, so a session owns its state between ticks and a group can change
from one tick to the next. A session alone is a group of one, through this same code: its numbers
do not depend on who else is in its group (up to the rounding of batched matrix products).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import measure as M
from .bank import _views, backward_rows, forward_rows, optimizer_step_rows
from .config import K, finite
from .geometry import project_bank
from .loss import loss_floor, optimal_logit_gap
from .session import DIVERGED_LOSS

# Sessions per forward pass over the decision-region grid: (2·8, 48·48, 32) intermediates stay in the cache; one
# pass over 75 sessions' grids (45 MB of hidden activations) was measured 3.7 times slower than passes of 8.
REGION_CHUNK = 8

if TYPE_CHECKING:
    from .session import Snapshot, TrainingSession


def train_key(s: TrainingSession) -> Hashable:
    """Sessions with equal keys can be stepped as one bank: same device, model shape, data size and batch."""
    c, bank = s.config, s.bank
    batch = s.data.y_train.size if s._full_batch else c.batch_size
    return ("train", s.device.type, tuple(bank.shapes[0][1:]), tuple(bank.shapes[2][1:]), tuple(bank.shapes[4][1:]),
            bank.m, s.data.y_train.size, batch, c.optimizer)


def snapshot_key(s: TrainingSession) -> Hashable:
    """Sessions with equal keys can be snapshotted as one bank: same shapes, point counts and display size."""
    bank = s.bank
    return ("snapshot", s.device.type, tuple(bank.shapes[0][1:]), tuple(bank.shapes[2][1:]),
            tuple(bank.shapes[4][1:]), bank.m, s.data.y_train.size, s.data.y_val.size, s.display_idx.size)


def _rows(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The sessions' (M, ...) tensors as one (R, ...) tensor; a group of one uses the session's own."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


def _per_row(xs: torch.Tensor, models: int) -> torch.Tensor:
    """(S, B, ...) per session → (S·M, B, ...) per row: each session's models see the session's inputs."""
    s = xs.shape[0]
    return xs.unsqueeze(1).expand(s, models, *xs.shape[1:]).reshape(s * models, *xs.shape[1:])


# ---- training ------------------------------------------------------------------------------------
@torch.no_grad()
def step_sessions(sessions: Sequence[TrainingSession], n: int) -> list[int]:
    """Take n optimizer steps for every session (all with one `train_key`) as one bank; steps taken each.

    Per session this is exactly TrainingSession's rule: each step's loss is checked at the current
    weights first; a session whose loss is not finite (or over DIVERGED_LOSS) rolls back alone to its
    last good weights, with a fresh optimizer, and takes no more steps. The others go on.
    """
    done = [0] * len(sessions)
    live = [i for i, s in enumerate(sessions) if not s.diverged]
    if n <= 0 or not live:
        return done
    group = [sessions[i] for i in live]
    first, size = group[0], len(group)
    if size > 1:
        key = train_key(first)
        assert all(train_key(s) == key for s in group), "only sessions of one train_key are stepped together"
    models, device = first.bank.m, first.device
    flat = _rows([s.bank.flat.detach() for s in group])  # (R, P)
    grad = first.bank.flat.grad if size == 1 else torch.empty_like(flat)
    assert grad is not None
    mom = _rows([s.opt.m for s in group])
    var = _rows([s.opt.v for s in group if s.opt.v is not None]) if first.opt.v is not None else None
    good = _rows([s._good for s in group])
    params = _views(flat, first.bank.shapes)
    eps = _rows([s._eps_t for s in group])
    per_session = torch.tensor([[s.lr, s.opt.weight_decay, s.opt.t] for s in group], dtype=torch.float64)
    per_row = per_session.repeat_interleave(models, dim=0).to(device)  # (R, 3)
    lr = per_row[:, :1].to(flat.dtype)
    wd = per_row[:, 1:2].to(flat.dtype) if bool((per_session[:, 1] != 0).any()) else None
    t = per_row[:, 2:3].clone()
    xs = torch.stack([s.x_train for s in group]) if size > 1 else first.x_train.unsqueeze(0)  # (S, N, D)
    ys = torch.stack([s.y_train for s in group]) if size > 1 else first.y_train.unsqueeze(0)  # (S, N)
    sessions_ix = torch.arange(size, device=device).unsqueeze(1)
    full = (_per_row(xs, models), _per_row(ys, models)) if first._full_batch else None
    running = [True] * size
    taken = [0] * size
    stopped_at: list[int | None] = [None] * size
    last: list[torch.Tensor | None] = [None] * size
    for _ in range(n):
        if full is not None:
            x_rows, y_rows = full
        else:
            for j, s in enumerate(group):
                if running[j]:
                    last[j] = s._next_batch()
            idx = torch.stack([i for i in last if i is not None]) if size > 1 else last[0]
            assert idx is not None
            idx = idx.view(size, -1)
            x_rows, y_rows = _per_row(xs[sessions_ix, idx], models), _per_row(ys[sessions_ix, idx], models)
        losses = backward_rows(params, grad, x_rows, y_rows, eps)  # at the current weights
        ok = (losses < DIVERGED_LOSS).view(size, models).all(dim=1).tolist()  # NaN fails this test too
        newly = [j for j in range(size) if running[j] and not ok[j]]
        for j in newly:
            running[j], stopped_at[j] = False, group[j].step_count
            lr[j * models : (j + 1) * models] = 0.0  # its rows are restored after the tick
        if not any(running):
            break
        if all(running):
            good.copy_(flat)  # these weights have a finite loss: keep them
            t.add_(1.0)
        else:
            mask = torch.tensor(running, device=device).repeat_interleave(models).unsqueeze(1)
            good.copy_(torch.where(mask, flat, good))
            t.add_(mask.to(t.dtype))  # stopped rows do not count this step
        optimizer_step_rows(first.opt.name, flat, grad, mom, var, t, lr, wd)
        for j, s in enumerate(group):
            if running[j]:
                s._good_step = s.step_count
                s.step_count += 1
                taken[j] += 1
    for j, s in enumerate(group):
        if size > 1:
            rows = slice(j * models, (j + 1) * models)
            s.bank.flat.detach().copy_(flat[rows])
            s.opt.m.copy_(mom[rows])
            if var is not None and s.opt.v is not None:
                s.opt.v.copy_(var[rows])
            s._good.copy_(good[rows])
        s.opt.t += taken[j]
        if stopped_at[j] is not None:
            s._diverge()  # back to the last weights with a finite loss (good), with a fresh optimizer
            taken[j] -= (stopped_at[j] or 0) - s.step_count  # the step that made these weights is undone
        done[live[j]] = taken[j]
    return done


# ---- snapshots -----------------------------------------------------------------------------------
def _forward(group: list[TrainingSession], inputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate activations (R, X, d) and logits, classes first (R, K, X), of every model of `group`,
    each on its own session's inputs (X points each)."""
    flat = _rows([s.bank.flat.detach() for s in group])
    xs = torch.stack(inputs) if len(inputs) > 1 else inputs[0].unsqueeze(0)
    _, acts, logits = forward_rows(_views(flat, group[0].bank.shapes), _per_row(xs, group[0].bank.m),
                                   classes_first=True)
    return acts, logits


def _finite_by_session(logits: torch.Tensor, sessions: int) -> list[bool]:
    return [bool(v) for v in torch.isfinite(logits.reshape(sessions, -1)).all(dim=1).tolist()]


@torch.no_grad()
def snapshot_sessions(sessions: Sequence[TrainingSession], regions: Sequence[bool], metrics: Sequence[bool]
                      ) -> list[Snapshot]:
    """Snapshots of several sessions (all with one `snapshot_key`) in one batched pass.

    Session i measures every metric if metrics[i] (or if it never has), else it reuses its last
    metrics and only moves its display subsample; regions[i] adds its decision regions (2-D data).
    """
    group = list(sessions)
    if len(group) > 1:
        key = snapshot_key(group[0])
        assert all(snapshot_key(s) == key for s in group), "only sessions of one snapshot_key are snapshotted together"
    measure = [bool(m) or s._measured is None for s, m in zip(group, metrics, strict=True)]
    while True:
        meas = [s for s, m in zip(group, measure, strict=True) if m]
        rest = [s for s, m in zip(group, measure, strict=True) if not m]
        if rest:
            acts_r, logits_r = _forward(rest, [s._x_display for s in rest])
            bad = [s for s, ok in zip(rest, _finite_by_session(logits_r, len(rest)), strict=True) if not ok]
            if bad:  # not finite on the display points: measure these fully (which finds the divergence)
                measure = [m or s in bad for s, m in zip(group, measure, strict=True)]
                continue
        if meas:
            acts_m, logits_m = _forward(meas, [s._x_all for s in meas])
            bad = [s for s, ok in zip(meas, _finite_by_session(logits_m, len(meas)), strict=True) if not ok]
            if bad:
                for s in bad:
                    s._diverge()
                continue
        break
    order = meas + rest
    parts_a, parts_z = [], []
    if meas:
        display = _measure(meas, acts_m, logits_m)
        parts_a.append(display[0])
        parts_z.append(display[1])
    if rest:
        parts_a.append(acts_r)
        parts_z.append(logits_r)
    acts_s, logits_s = torch.cat(parts_a), torch.cat(parts_z)  # (R, S, d), (R, K, S) in `order`
    params = _views(_rows([s.bank.flat.detach() for s in order]), order[0].bank.shapes)
    w, b = params[4], params[5]
    bases = [s._basis for s in order]
    previous = has_previous = None
    if any(q is not None for q in bases):
        shape = next(q for q in bases if q is not None).shape
        previous = torch.cat([q if q is not None and q.shape == shape else torch.zeros(shape, device=w.device)
                              for q in bases])
        has_previous = torch.tensor([q is not None and q.shape == shape for q in bases],
                                    device=w.device).repeat_interleave(order[0].bank.m)
    points, templates, basis = project_bank(acts_s, w, b, previous, has_previous)
    probs = torch.softmax(logits_s, dim=1).mT  # (R, S, K)
    m = order[0].bank.m
    for j, s in enumerate(order):
        s._basis = basis[j * m : (j + 1) * m]
    want_regions = {id(s) for s, r in zip(group, regions, strict=True) if r and s._grid is not None}
    regioned = [s for s in order if id(s) in want_regions]
    grid_np: tuple[np.ndarray, np.ndarray] | None = None
    if regioned:
        grids = [s._grid for s in regioned if s._grid is not None]
        z = torch.cat([_forward(regioned[i : i + REGION_CHUNK], grids[i : i + REGION_CHUNK])[1]  # (R, K, G·G)
                       for i in range(0, len(regioned), REGION_CHUNK)])
        z_max, z_arg = z.max(dim=1)
        conf = 1.0 / (z - z_max.unsqueeze(1)).exp_().sum(dim=1)  # the max probability
        grid_np = (_cpu(conf), _cpu(z_arg.to(torch.uint8)))
    inspected = {id(s): inspect_point(s, acts_s[j * m : (j + 1) * m], logits_s[j * m : (j + 1) * m],
                                      w[j * m : (j + 1) * m], b[j * m : (j + 1) * m])
                 for j, s in enumerate(order) if s.inspect_index is not None}
    points_np, templates_np, probs_np = _cpu(points), _cpu(templates), _cpu(probs)
    top, pred = probs.max(dim=-1)  # (R, S): what the planes show of each point, for the whole group at once
    xy = torch.cat([points, templates], dim=1)  # (R, S + 3, 2)
    shown_np = (_cpu(pred.to(torch.uint8)), _cpu((top * 255.0).round_().to(torch.uint8)),
                _cpu((xy.amax(dim=1) - xy.amin(dim=1)).amax(dim=1)))
    snaps = {}
    for j, s in enumerate(order):
        rows = slice(j * m, (j + 1) * m)
        grid = None
        if grid_np is not None and s in regioned:
            r = regioned.index(s)
            grid = (grid_np[0][r * m : (r + 1) * m], grid_np[1][r * m : (r + 1) * m])
        snaps[id(s)] = s._make_snapshot(points_np[rows], templates_np[rows], probs_np[rows], grid,
                                        tuple(a[rows] for a in shown_np))
        snaps[id(s)].inspect = inspected.get(id(s))
    return [snaps[id(s)] for s in group]


def _measure(group: list[TrainingSession], acts: torch.Tensor, logits: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Every metric of every model of `group` from one forward pass over each session's training and
    validation points (logits classes first); stores them in each session's `_measured` and returns the
    display subsample's activations and logits (R, S, d), (R, K, S) from the same pass.
    """
    first = group[0]
    m, n, size = first.bank.m, first.data.y_train.size, len(group)
    params = _views(_rows([s.bank.flat.detach() for s in group]), first.bank.shapes)
    eps = _rows([s._eps_t for s in group])
    bank = M.measure_bank(acts, logits.mT, params[4], params[5], eps, M.Labels.cat([s._labels for s in group]))
    twins = [j for j, s in enumerate(group) if not s.is_sweep]
    calibrated: dict[int, tuple[M.Reliability, float, float]] = {}
    if twins:  # temperature scaling of each twin's baseline (paper §3), fitted at this very step
        z = logits[[j * m for j in twins], :, n:].to(torch.float64).mT  # (T, V, K), a view of (T, K, V)
        y = torch.stack([group[j].y_val for j in twins])
        temps = M.fit_temperature_rows(z, y)
        scaled = z / temps.view(-1, 1, 1)
        rel = M.reliability_rows(scaled, y)
        nll = M.nll_rows(scaled, y).tolist()
        calibrated = {j: (rel[i], nll[i], float(temps[i])) for i, j in enumerate(twins)}
    for j, s in enumerate(group):
        noisy = bool(s.data.flipped.any())
        measured = []
        for i, eps_i in enumerate(s.eps_values):
            row = j * m + i
            values: dict[str, float | None] = {"eps": eps_i, "steps": s.step_count}
            values.update({name: column[row] for name, column in bank.scalars.items()
                           if name != "train_acc_clean" or noisy})
            values["loss_floor"] = loss_floor(eps_i, K)
            values["optimal_logit_gap"] = finite(optimal_logit_gap(eps_i, K))
            entry: dict[str, Any] = {"reliability": bank.reliability[row], "class_distances": bank.class_distances[row]}
            if i == 0 and j in calibrated:
                rel_ts, nll_ts, temperature = calibrated[j]
                entry["reliability_ts"] = rel_ts
                values["temperature"] = temperature
                values["temperature_at_bound"] = float(not M.T_MIN * 1.01 < temperature < M.T_MAX / 1.01)
                values["ece_ts"], values["val_nll_ts"] = rel_ts.ece, nll_ts
            entry["metrics"] = {key: finite(val) for key, val in values.items()}
            measured.append(entry)
        s._measured = measured
    idx = torch.stack([s._display_t for s in group]) if size > 1 else first._display_t.unsqueeze(0)  # (S, D)
    d, k = acts.shape[-1], logits.shape[1]
    a = acts.view(size, m, -1, d).gather(2, idx.view(size, 1, -1, 1).expand(size, m, -1, d))
    z_s = logits.view(size, m, k, -1).gather(3, idx.view(size, 1, 1, -1).expand(size, m, k, -1))
    return a.view(size * m, -1, d), z_s.view(size * m, k, -1)


def inspect_point(s: TrainingSession, acts: torch.Tensor, logits: torch.Tensor, w: torch.Tensor, b: torch.Tensor
                  ) -> dict[str, Any]:
    """One display point's numbers for every run, from the frame's own forward pass: acts (M, S, d),
    logits (M, K, S), templates w (M, K, d) and b (M, K).

    With x̃ = [x, 1] (the penultimate activation, bias-augmented) and w̃_k = [w_k, b_k]:
    z_k = w̃_k · x̃ = ½ (‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²) (blog §4), so the page shows the three terms.
    """
    i = s.inspect_index
    assert i is not None
    point = int(s.display_idx[i])
    label = int(s.data.y_train[point])
    x_aug = torch.cat([acts[:, i], torch.ones_like(acts[:, i, :1])], dim=-1).double()  # (M, d + 1)
    w_aug = torch.cat([w, b.unsqueeze(-1)], dim=-1).double()  # (M, K, d + 1)
    z = logits[:, :, i].double()  # (M, K)
    log_p = torch.log_softmax(z, dim=-1)
    k = z.shape[-1]
    eps = torch.tensor(s.eps_values, dtype=torch.float64, device=z.device).unsqueeze(-1)  # (M, 1)
    target = (1.0 - eps) * torch.nn.functional.one_hot(torch.tensor(label), k).to(z) + eps / k
    numbers = {
        "logits": z, "probs": log_p.exp(), "target": target, "loss": -(target * log_p).sum(-1),
        "distances": (x_aug.unsqueeze(1) - w_aug).norm(dim=-1), "template_sq_norms": (w_aug**2).sum(-1),
        "activation_sq_norm": (x_aug**2).sum(-1),
    }
    table = {key: value.cpu().tolist() for key, value in numbers.items()}
    runs = {name: {key: table[key][m] for key in table} for m, name in enumerate(s.names)}
    info = {"index": i, "label": label, "true_label": int(s.data.y_true[point]),
            "flipped": bool(s.data.flipped[point]), "x": [float(v) for v in s.data.x_train[point]], "runs": runs}
    row = s.source_row(point)
    if row is not None:  # a CSV file's point: its row as the file has it
        info["row"] = row
    return info


def _cpu(t: torch.Tensor) -> np.ndarray:
    return t.to("cpu").numpy()
