"""Per-step time of the model bank: one model, the twin bank, two separate models, an 11-model ε sweep.

    python -m bench.step [--device cpu|cuda] [--json] [--repeat N]

Everything is measured in the same run, interleaved round-robin (every repeat times every case once),
with torch.set_num_threads(1) as the server runs, so the ratios are fair even on a busy machine; each
figure is the median over the repeats of the mean step time of a chunk of steps, after a warm-up.
Also measures the server's per-frame costs: TrainingSession.step (with batch indexing),
TrainingSession.snapshot() and LiveSession.tick(True) (speed steps + snapshot + encode).
Targets (issue 6): twin ≤ 1.2 × single, 11-model bank ≤ 3 × single.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch

from app.engine.bank import ModelBank, make_optimizer, resolve_device, train_step
from app.engine.data import make_dataset
from app.engine.session import TrainingSession
from app.protocol.messages import Play, RunConfig
from app.server.live import LiveSession

from .common import emit, load_note, loadavg, median, ratio, rnd

SWEEP11 = [round(0.05 * i, 2) for i in range(11)]  # 0, 0.05, …, 0.5
EPS = 0.1  # the smoothed run's default ε


def _sync(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def _bank_case(m_eps: list[list[float]], x: torch.Tensor, y: torch.Tensor, batch: int | None, cfg: RunConfig,
               device: torch.device, seed: int = 0) -> Callable[[], None]:
    """A closure taking one step of each bank in turn (one bank: the bank case; two m=1 banks: 'separate').

    Minibatches are drawn as the session draws them: a shuffled permutation, indexed per step.
    """
    banks, opts, epss = [], [], []
    for eps in m_eps:
        bank = ModelBank(len(eps), x.shape[1], cfg.hidden, cfg.penultimate, 3, seed=seed, device=device)
        banks.append(bank)
        opts.append(make_optimizer(bank, cfg.optimizer, cfg.lr, weight_decay=cfg.weight_decay))
        epss.append(torch.tensor(eps, device=device))
    n = y.numel()
    gen = torch.Generator().manual_seed(seed + 1)
    order = torch.randperm(n, generator=gen).to(device)
    state = {"cursor": 0}

    def step() -> None:
        if batch is None:
            xb, yb = x, y
        else:
            c = state["cursor"]
            if c + batch > n:
                c = 0
            idx = order[c : c + batch]
            state["cursor"] = c + batch
            xb, yb = x[idx], y[idx]
        for bank, opt, eps in zip(banks, opts, epss, strict=True):
            train_step(bank, opt, xb, yb, eps)

    return step


def _time_chunk(fn: Callable[[], Any], n: int, sync: Callable[[], None]) -> float:
    """Mean milliseconds per call over n calls."""
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t0) * 1e3 / n


def measure(device_name: str = "cpu", repeat: int = 15, chunk: int = 40, warmup: int = 30) -> dict[str, Any]:
    torch.set_num_threads(1)
    device = resolve_device(device_name)
    sync = _sync(device)
    load_before = loadavg()
    cfg = RunConfig(device=device_name)
    data = make_dataset(cfg.dataset, points=cfg.points, similarity=cfg.similarity, label_noise=cfg.label_noise,
                        seed=cfg.seed)
    x = torch.as_tensor(data.x_train, device=device)
    y = torch.as_tensor(data.y_train, device=device)
    b = cfg.batch_size
    cases: dict[str, Callable[[], None]] = {}
    for suffix, batch in (("", b), ("_full", None)):
        cases["single" + suffix] = _bank_case([[EPS]], x, y, batch, cfg, device)
        cases["twin" + suffix] = _bank_case([[0.0, EPS]], x, y, batch, cfg, device)
        cases["separate" + suffix] = _bank_case([[0.0], [EPS]], x, y, batch, cfg, device)
        cases["sweep11" + suffix] = _bank_case([SWEEP11], x, y, batch, cfg, device)

    # the server's per-frame costs, default config (twin, batch 128, 600 points, 300 displayed)
    session = TrainingSession(cfg)
    session.step(200)  # past the very first steps, as a playing session would be
    live = LiveSession(cfg)
    live.apply(Play(type="play"))
    live.session.step(200)
    ticks_per_chunk = 30  # a multiple of 3 (regions on every 3rd frame) and of 10 (temperature refits)
    extra: dict[str, tuple[Callable[[], Any], int]] = {
        "session_step": (lambda: session.step(1), chunk),
        "snapshot": (lambda: session.snapshot(), 10),
        "snapshot_regions": (lambda: session.snapshot(regions=True), 10),
        "tick": (lambda: live.tick(True), ticks_per_chunk),
    }

    for fn in cases.values():  # warm-up: allocator, autograd graph caches, optimizer state
        for _ in range(warmup):
            fn()
    for fn, _ in extra.values():
        for _ in range(5):
            fn()
    sync()

    samples: dict[str, list[float]] = {k: [] for k in [*cases, *extra]}
    pair_ratios: dict[str, list[float]] = {k: [] for k in cases if not k.startswith("single")}
    for _ in range(repeat):
        this: dict[str, float] = {}
        for name, fn in cases.items():
            this[name] = _time_chunk(fn, chunk, sync)
            samples[name].append(this[name])
        for name, (fn, n) in extra.items():
            samples[name].append(_time_chunk(fn, n, sync))
        for k in pair_ratios:
            pair_ratios[k].append(this[k] / this["single_full" if k.endswith("_full") else "single"])

    med = {k: median(v) for k, v in samples.items()}
    tick_ms = med["tick"]
    result: dict[str, Any] = {
        "benchmark": "step",
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "repeat": repeat,
        "chunk": chunk,
        "batch_size": b,
        "points": cfg.points,
        "sweep_eps": SWEEP11,
        **{f"{k}_ms": rnd(v, 4) for k, v in med.items() if k in cases},
        # ratios: the median over repeats of (case / single) timed back to back in the same repeat,
        # which cancels most of the drift of a shared machine; the ratio of the medians is kept beside it
        "twin_ratio": rnd(median(pair_ratios["twin"])),
        "separate_ratio": rnd(median(pair_ratios["separate"])),
        "sweep11_ratio": rnd(median(pair_ratios["sweep11"])),
        "twin_full_ratio": rnd(median(pair_ratios["twin_full"])),
        "separate_full_ratio": rnd(median(pair_ratios["separate_full"])),
        "sweep11_full_ratio": rnd(median(pair_ratios["sweep11_full"])),
        "twin_ratio_of_medians": ratio(med["twin"], med["single"]),
        "sweep11_ratio_of_medians": ratio(med["sweep11"], med["single"]),
        "session_step_ms": rnd(med["session_step"], 4),
        "snapshot_ms": rnd(med["snapshot"]),
        "snapshot_regions_ms": rnd(med["snapshot_regions"]),
        "tick_ms": rnd(tick_ms),
        "tick_speed": live.speed,
        # what one core could serve at 30 frames/s if ticks were the only cost (no socket, no event loop)
        "ticks_per_core_s": rnd(1000.0 / tick_ms, 1) if tick_ms else None,
        "sessions_per_core_at_30fps": rnd(1000.0 / (30.0 * tick_ms), 1) if tick_ms else None,
        "spread_ms": {k: [rnd(min(v), 4), rnd(max(v), 4)] for k, v in samples.items()},
        "loadavg_before": load_before,
        "loadavg": loadavg(),
    }
    result["targets"] = {
        "twin_le_1.2x_single": result["twin_ratio"] is not None and result["twin_ratio"] <= 1.2,
        "sweep11_le_3x_single": result["sweep11_ratio"] is not None and result["sweep11_ratio"] <= 3.0,
    }
    return result


def summary(r: dict[str, Any]) -> str:
    lines = [f"bench.step on {r['device']} (torch {r['torch']}, {r['threads']} thread), median of {r['repeat']} "
             f"repeats × {r['chunk']} steps; {load_note(r['loadavg'])}",
             f"{'case':<10} {'batch ' + str(r['batch_size']):>12} {'full batch':>12}"]
    for k in ("single", "twin", "separate", "sweep11"):
        lines.append(f"{k:<10} {r[k + '_ms']:>9.3f} ms {r[k + '_full_ms']:>9.3f} ms")
    lines += [
        f"twin / single    = {r['twin_ratio']:.2f}  (target ≤ 1.2; full batch {r['twin_full_ratio']:.2f})",
        f"sweep11 / single = {r['sweep11_ratio']:.2f}  (target ≤ 3; full batch {r['sweep11_full_ratio']:.2f})",
        f"separate / single = {r['separate_ratio']:.2f}",
        f"TrainingSession.step {r['session_step_ms']:.3f} ms, snapshot {r['snapshot_ms']:.2f} ms "
        f"(with regions {r['snapshot_regions_ms']:.2f} ms), LiveSession.tick(True) {r['tick_ms']:.2f} ms "
        f"(speed {r['tick_speed']}): {r['sessions_per_core_at_30fps']} sessions per core at 30 fps",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.step", description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--repeat", type=int, default=15, help="repeats per case (default 15)")
    p.add_argument("--chunk", type=int, default=40, help="steps per timed chunk (default 40)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        result = measure(args.device, repeat=max(1, args.repeat), chunk=max(1, args.chunk))
    except ValueError as err:
        p.exit(2, f"python -m bench.step: error: {err}\n")
    emit(result, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
