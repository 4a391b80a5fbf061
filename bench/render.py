"""The generated part of docs/performance.md (between its bench markers), from bench.all's results: the targets
and what was measured, table by table."""

from __future__ import annotations

from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _f(x: Any, nd: int = 1, unit: str = "") -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{nd}f}{unit}"
    return f"{x}{unit}"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def _by(measured: float | None, target: float, higher_is_better: bool) -> str:
    """How far from the target, as a factor, when missed."""
    if measured is None:
        return ""
    if higher_is_better:
        return "" if measured >= target else f" ({measured / target:.2f}× the target)" if target else ""
    return "" if measured <= target else f" ({measured / target:.1f}× the target)"


def target_rows(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    s = res.get("step", {})
    if "twin_ratio" in s:
        rows.append(("Twin step ≤ 1.2 × single step (batch 128)",
                     f"{s['twin_ratio']:.2f} × ({s['twin_ms']:.3f} vs {s['single_ms']:.3f} ms)",
                     s["twin_ratio"] <= 1.2))
        rows.append(("11-model bank ≤ 3 × single step (batch 128)",
                     f"{s['sweep11_ratio']:.2f} × ({s['sweep11_ms']:.3f} ms)", s["sweep11_ratio"] <= 3.0))
    f = res.get("frame", {})
    if "encode_ms" in f:
        be = f["build_encode_ms"]
        rows.append(("Frame build + encode ≤ 1 ms (2 × 1,500 points)",
                     f"{be:.2f} ms = build {f['snapshot_ms']:.2f} + encode {f['encode_ms']:.2f}{_by(be, 1.0, False)}; "
                     f"frames between measurements {f.get('points_only_encode_ms', float('nan')):.2f} ms",
                     be <= 1.0))
        rows.append(("Frame ≤ 40 KB", f"{f['bytes']:,} B", f["bytes"] <= 40_000))
        rows.append(("Encode ≥ 5 × faster than naive JSON", f"{f['encode_speedup']} × ({f['json_encode_ms']:.2f} ms)",
                     f["encode_speedup"] >= 5))
        rows.append(("Frame ≥ 4 × smaller than naive JSON", f"{f['size_ratio']} × ({f['json_bytes']:,} B)",
                     f["size_ratio"] >= 4))
    sweep = {r["sessions"]: r for r in res.get("load", {}).get("sweep", [])}
    if 40 in sweep:
        r = sweep[40]
        rows += [
            ("40 sessions: every client ≥ 20 fps", f"min {r['fps_min']:.1f}, median {r['fps_median']:.1f}"
             f"{_by(r['fps_min'], 20, True)}", r["fps_min"] >= 20),
            ("40 sessions: p95 frame gap ≤ 150 ms", f"{_f(r['gap_p95_ms'], 0)} ms{_by(r['gap_p95_ms'], 150, False)}",
             r["gap_p95_ms"] is not None and r["gap_p95_ms"] <= 150),
            ("40 sessions: ≥ 30 training steps/s per session", f"min {r['steps_per_s_min']:.0f}"
             f"{_by(r['steps_per_s_min'], 30, True)}", r["steps_per_s_min"] >= 30),
            ("40 sessions: control latency p95 ≤ 250 ms", f"{_f(r['latency_p95_ms'], 0)} ms"
             f"{_by(r['latency_p95_ms'], 250, False)}", r["latency_p95_ms"] is not None and r["latency_p95_ms"] <= 250),
            ("40 sessions: 0 errors", str(r["errors"]), r["errors"] == 0),
        ]
        gain, alone = r.get("batching_gain"), r.get("unbatched") or {}
        if gain is not None:
            rows.append(("40 sessions: batching_gain ≥ 3 (server CPU per frame, BATCH_SESSIONS=0 ÷ batched, issue 10)",
                         f"{gain:.2f} × ({_f(alone.get('server_cpu_ms_per_frame'), 2)} vs "
                         f"{_f(r.get('server_cpu_ms_per_frame'), 2)} ms){_by(gain, 3, True)}", gain >= 3))
    if 1 in sweep:
        r = sweep[1]
        rows.append(("1 session: control latency p95 ≤ 50 ms", f"{_f(r['latency_p95_ms'], 0)} ms",
                     r["latency_p95_ms"] is not None and r["latency_p95_ms"] <= 50))
        rows.append(("1 session: 30 frames/s", f"{_f(r['fps_min'])}", r["fps_min"] >= 29))
    over = [sweep[n] for n in sorted(sweep) if n > 40]
    if over:
        r = over[-1]
        even = r.get("fps_min_over_max")
        rows.append((f"Beyond capacity ({r['sessions']} sessions): rates fall evenly, no session starves",
                     f"fps min/median/max {r['fps_min']:.1f}/{r['fps_median']:.1f}/{r['fps_max']:.1f} "
                     f"(min/median {r['fairness']}, min/max {even}), errors {r['errors']}",
                     (r["fairness"] or 0) >= 0.5 and (even or 0) >= 0.5 and r["errors"] == 0))
    if 80 in sweep:
        r = sweep[80]
        rows.append(("80 sessions: rates fall evenly, fps min/median ≥ 0.9, 0 errors (issue 10)",
                     f"{_f(r['fairness'], 2)} (fps min {_f(r['fps_min'])}, median {_f(r['fps_median'])}), "
                     f"errors {r['errors']}", (r["fairness"] or 0) >= 0.9 and r["errors"] == 0))
    b = res.get("browser", {})
    if "fps" in b:
        ratio, anchor = b.get("fps_ratio_vs_anchor"), (b.get("anchor") or {}).get("redraws_per_s")
        rows.append(("Page: frames drawn/s ≥ TF Playground's redraws/s (stretch 1.5 ×), default display (issue 11)",
                     f"{b['fps']:.1f} vs {_f(anchor)}/s: {_f(ratio, 2)} ×" if ratio is not None
                     else f"{b['fps']:.1f}/s (no anchor measured)", None if ratio is None else ratio >= 1.0))
        capped = b.get("fps_cap_10") or {}
        if capped.get("drawn_per_received") is not None:
            rows.append(("Page at FPS_CAP=10: ≥ 2.5 frames drawn per frame received (issue 11)",
                         f"{capped['drawn_per_received']:.2f} × ({capped['fps']:.1f} drawn, "
                         f"{capped['frames_received_per_s']:.1f} received per s)", capped["drawn_per_received"] >= 2.5))
        busy = b.get("main_thread_busy_percent")
        rows.append(("Page: main thread ≤ 60 % busy while playing (issue 11)", f"{_f(busy)} %{_by(busy, 60, False)}",
                     None if busy is None else busy <= 60))
        rows += [
            ("Page: first frame drawn ≤ 1.5 s after navigation", f"first visit to a fresh server "
             f"{_f(b['first_frame_ms'], 0)} ms (socket open {_f(b.get('socket_open_ms'), 0)}, first frame received "
             f"{_f(b.get('first_ws_frame_ms'), 0)}); later visits "
             f"{', '.join(_f(x, 0) for x in b.get('first_frame_repeat_ms') or []) or '–'} ms",
             b["first_frame_ms"] is not None and b["first_frame_ms"] <= 1500),
            ("Page: ≤ 2 MB transferred", f"{b['page_bytes']:,} B", b["page_bytes"] <= 2_000_000),
        ]
    return rows


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    out = [BEGIN, "<!-- generated by `python -m bench.all` (make bench): edit the prose outside these markers -->", ""]
    out.append(f"Measured {m['date']} on {m['nproc']} × {m['cpu_model']}, Python {m['python']}, "
               f"commit {m['git_commit']}, with `{res['command']}`. Load average at the start "
               f"{m['loadavg']}, at the end {res.get('loadavg_end')}"
               + (" — **the machine was busy with other work: absolute times are pessimistic, compare "
                  "ratios measured in the same run**." if res.get("loaded") else "."))
    if res.get("note"):
        out += ["", res["note"]]
    out += ["", "### Targets", "", "| target | measured | met? |", "|---|---|---|"]
    out += [f"| {t} | {v} | {_met(ok)} |" for t, v, ok in target_rows(res) + network_targets(res)]
    for name in ("step", "step_cuda", "frame", "load", "browser"):
        if "error" in res.get(name, {}):
            out.append(f"\n`{name}` failed: {res[name]['error'][:300]}")

    s = res.get("step", {})
    if "single_ms" in s:
        out += ["", f"### Model bank step (`bench.step`, {s['device']}, torch {s['torch']}, {s['threads']} thread, "
                f"median of {s['repeat']} × {s['chunk']} steps)", "",
                "| models | ms/step, batch 128 | × single | ms/step, full batch (600) | × single |",
                "|---|---:|---:|---:|---:|"]
        for k, label in (("single", "one model (bank M = 1)"), ("twin", "twin bank (M = 2)"),
                         ("separate", "two separate models"), ("sweep11", "11-model ε sweep bank")):
            r1 = s.get(k + "_ratio", s[k + "_ms"] / s["single_ms"]) if k != "single" else 1.0
            r2 = s.get(k + "_full_ratio", s[k + "_full_ms"] / s["single_full_ms"]) if k != "single" else 1.0
            out.append(f"| {label} | {s[k + '_ms']:.3f} | {r1:.2f} | {s[k + '_full_ms']:.3f} | {r2:.2f} |")
        out += ["", "Ratios are the median over repeats of each case's time over the single model's, timed back "
                "to back in the same repeat."]
        out += ["", "Server per-frame costs, default twin (600 points, 300 displayed):", "",
                "| cost | ms |", "|---|---:|",
                f"| `TrainingSession.step(1)` (with batch indexing) | {s['session_step_ms']:.3f} |",
                f"| `TrainingSession.snapshot()` | {s['snapshot_ms']:.2f} |",
                f"| `TrainingSession.snapshot(regions=True)` (every 3rd frame) | {s['snapshot_regions_ms']:.2f} |",
                f"| `LiveSession.tick(True)`: {s['tick_speed']} steps + snapshot + encode, mean | {s['tick_ms']:.2f} |",
                "", f"One core runs {s['ticks_per_core_s']} ticks/s: {s['sessions_per_core_at_30fps']} sessions at "
                "30 fps per core if ticks were the only cost (no socket, deflate or event loop)."]
    sc = res.get("step_cuda", {})
    if "single_ms" in sc:
        out += ["", f"CUDA ({sc['device']}): single {sc['single_ms']:.3f} ms, twin {sc['twin_ms']:.3f} ms "
                f"({sc['twin_ratio']} ×), 11-model {sc['sweep11_ms']:.3f} ms ({sc['sweep11_ratio']} ×); tick "
                f"{sc['tick_ms']:.2f} ms."]
    f = res.get("frame", {})
    if "encode_ms" in f:
        out += ["", f"### One frame, {f['runs']} runs × {f['display_points']:,} points (`bench.frame`)", "",
                "| | ms | bytes |", "|---|---:|---:|",
                f"| build: `TrainingSession.snapshot()` (all metrics: every 3rd frame) | {f['snapshot_ms']:.3f} | |",
                f"| build, points only (`snapshot(metrics=False)`: the other 2 frames in 3) "
                f"| {f.get('snapshot_points_only_ms', float('nan')):.3f} | |",
                f"| points-only build + encode | {f.get('points_only_encode_ms', float('nan')):.3f} | |",
                f"| encode: `FrameEncoder.encode`, a frame in the middle of a stream (a run's first: "
                f"{f.get('first_frame_bytes', 0):,} B) | {f['encode_ms']:.3f} | {f['bytes']:,} |",
                f"| build + encode | {f['build_encode_ms']:.3f} | {f['bytes']:,} |",
                f"| naive JSON encode (same header, arrays as lists) | {f['json_encode_ms']:.3f} | "
                f"{f['json_bytes']:,} |",
                f"| build + naive JSON | {f['build_json_ms']:.3f} | {f['json_bytes']:,} |",
                "", f"Binary encode is {f['encode_speedup']} × faster and {f['size_ratio']} × smaller than the "
                f"naive JSON; with the build included, {f['build_encode_speedup']} × faster."]
        if "stream_bytes_mean" in f:
            parts = ", ".join(f"{k} {v:,.0f}" for k, v in f["stream_bytes_per_part"].items() if v)
            out += ["", f"The default run's stream (`bench.frame`: {f['stream_frames']:,} frames, "
                    f"{f['stream_seconds']:g} s at 30 frames/s, as `LiveSession.tick` builds them): mean "
                    f"**{f['stream_bytes_mean']:,.0f} B** a frame (p95 {f['stream_bytes_p95']:,.0f}, max "
                    f"{f['stream_bytes_max']:,}), against {f['stream_first_format_bytes_mean']:,.0f} B for the same "
                    f"frames in the first format ({f['stream_size_ratio']} ×); {f['stream_kbit_per_s_at_30fps']:,.0f}"
                    f" kbit/s at 30 frames/s. Bytes a frame by part: {parts}."]
    ld = res.get("load", {})
    if ld.get("sweep"):
        out += ["", f"### Concurrent sessions (`bench.load`, {ld['seconds']:g} s window after {ld['warmup']:g} s "
                "warm-up, server with workers = CPU count, clients in a separate process, every client playing)", "",
                "| sessions | fps min / median / max | min/median | gap p95 ms | steps/s min | "
                "latency p50 / p95 ms | errors | server CPU % | sessions per worker | box busy % | client CPU % "
                "| loadavg |",
                "|---:|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|"]
        for r in ld["sweep"]:
            split = "/".join(f"{x:.0f}" for x in r.get("server_cpu_by_process", [])[:2])
            out.append(
                f"| {r['sessions']} | {_f(r['fps_min'])} / {_f(r['fps_median'])} / {_f(r['fps_max'])} | "
                f"{_f(r['fairness'], 2)} | {_f(r['gap_p95_ms'], 0)} | {_f(r['steps_per_s_min'], 0)} | "
                f"{_f(r['latency_p50_ms'], 0)} / {_f(r['latency_p95_ms'], 0)} | {r['errors']} | "
                f"{_f(r.get('server_cpu_percent'), 0)} ({split}) | "
                f"{'/'.join(str(x) for x in r.get('sessions_by_worker') or []) or '–'} | "
                f"{_f(r.get('machine_cpu_busy_percent'), 0)} | {_f(r['client_cpu_percent'], 0)} | "
                f"{(r.get('loadavg_start') or ['–'])[0]} |")
        out += ["", "Server CPU is in percent of one core (200 = both cores of 2), split over the two busiest "
                "processes in brackets; box busy is the whole machine's use of all its CPUs, everything included."]
        if any("unbatched" in r for r in ld["sweep"]):
            out += ["", "The same load on the same machine, right after, with `BATCH_SESSIONS=0` (every session "
                    "alone through the same code, as before the compute loop batched them):", "",
                    "| sessions | batched: fps min / median, server ms per frame | BATCH_SESSIONS=0: fps min / "
                    "median, server ms per frame | batching_gain |", "|---:|---|---|---:|"]
            for r in ld["sweep"]:
                a = r.get("unbatched") or {}
                out.append(f"| {r['sessions']} | {_f(r['fps_min'])} / {_f(r['fps_median'])}, "
                           f"{_f(r.get('server_cpu_ms_per_frame'), 2)} | {_f(a.get('fps_min'))} / "
                           f"{_f(a.get('fps_median'))}, {_f(a.get('server_cpu_ms_per_frame'), 2)} | "
                           f"{_f(r.get('batching_gain'), 2)} |")
    b = res.get("browser", {})
    if "fps" in b:
        capped = b.get("fps_cap_10") or {}
        anchor = b.get("anchor") or {}
        out += ["", "### Page in headless Chromium (`bench.browser`, software rendering, default display 2 × 300 "
                f"points, {b.get('viewport', {}).get('width', 1440)} × {b.get('viewport', {}).get('height', 900)})", "",
                "| figure | default (30 fps) | FPS_CAP=10 |", "|---|---:|---:|",
                f"| frames drawn per second, smoothed panel (painter: {b.get('painter') or '–'}) | {b['fps']:.1f} | "
                f"{_f(capped.get('fps'))} |",
                f"| … baseline panel | {_f(b.get('fps_baseline_panel'))} | {_f(capped.get('fps_baseline_panel'))} |",
                f"| frames received per second | {b['frames_received_per_s']:.1f} | "
                f"{_f(capped.get('frames_received_per_s'))} |",
                f"| frames drawn per frame received | {_f(b.get('drawn_per_received'), 2)} | "
                f"{_f(capped.get('drawn_per_received'), 2)} |",
                f"| the status bar's drawn/s, received/s | {_f(b.get('status_fps'), 0)}, {_f(b.get('status_rx'), 0)} | "
                f"{_f(capped.get('status_fps'), 0)}, {_f(capped.get('status_rx'), 0)} |",
                f"| main thread busy while playing (script, style + layout) | {_f(b['main_thread_busy_percent'])} % "
                f"({_f(b.get('script_percent'))} %, {_f(b.get('style_layout_percent'))} %) | "
                f"{_f(capped.get('main_thread_busy_percent'))} % |",
                f"| TF Playground redraws per second, same browser (runs) | {_f(anchor.get('redraws_per_s'))} "
                f"({', '.join(_f(r.get('redraws_per_s')) for r in anchor.get('runs') or []) or '–'}) | |",
                f"| explorer / TF Playground | {_f(b.get('fps_ratio_vs_anchor'), 2)} | "
                f"{_f(capped.get('fps_ratio_vs_anchor'), 2)} |",
                f"| first frame drawn after navigation | {_f(b['first_frame_ms'], 0)} ms | |",
                f"| WebSocket open / first frame received | {_f(b.get('socket_open_ms'), 0)} / "
                f"{_f(b.get('first_ws_frame_ms'), 0)} ms | |",
                f"| first frame drawn, later first visits to the same server | "
                f"{', '.join(_f(x, 0) for x in b.get('first_frame_repeat_ms') or []) or '–'} ms | |",
                f"| Plotly defined / DOMContentLoaded | {_f(b['plotly_defined_ms'], 0)} / "
                f"{_f(b['dom_content_loaded_ms'], 0)} ms | |",
                f"| page bytes transferred ({b['page_requests']} requests) | {b['page_bytes']:,} | |"]
        costly = sorted((b.get("plotly_ms_per_s") or {}).items(), key=lambda kv: -(kv[1] or 0))[:4]
        if costly:
            out += ["", "Synchronous Plotly time per second of play, by chart: "
                    + ", ".join(f"{k} {v:.0f} ms" for k, v in costly) + "."]
        if b.get("page_errors"):
            out += ["", "Page errors seen: " + "; ".join(f"`{e[:120]}`" for e in b["page_errors"][:3])]
    out += network_section(res)
    out += ["", END]
    return "\n".join(out)


def network_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Every room of the network benchmarks: (rate or None, its bench.load result), in the table's order."""
    rows = []
    for key in ("network_100mbit", "network_50mbit", "network_cpu"):
        for r in res.get(key, {}).get("sweep", []):
            rows.append(r)
    return rows


def network_targets(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Issue 19's targets: 150 attendees sharing 50 Mbit/s; one page on 330 kbit/s; the stream's mean frame."""
    rows: list[tuple[str, str, bool | None]] = []
    room = next((r for r in res.get("network_50mbit", {}).get("sweep", []) if r["sessions"] == 150), None)
    if room:
        rows.append(("150 attendees sharing 50 Mbit/s: every one ≥ 10 frames/s, fairness ≥ 0.8, latency p95 ≤ 250 ms, "
                     "≥ 60 steps/s each, 0 errors (issue 19)",
                     f"fps min {_f(room['fps_min'])} (median {_f(room['fps_median'])}), fairness "
                     f"{_f(room['fairness'], 2)}, latency p95 {_f(room['latency_p95_ms'], 0)} ms, steps/s min "
                     f"{_f(room['steps_per_s_min'], 0)}, errors {room['errors']}",
                     all(room["targets"].values())))
    page = res.get("network_page", {})
    if "fps" in page:
        rows.append(("One page on 330 kbit/s: ≥ 8 frames received/s, drawn at the display's rate, a typed ε shown "
                     "within 500 ms, usable within 8 s (issue 19)",
                     f"received {_f(page['frames_received_per_s'])}/s, drawn {_f(page['fps'])}/s, ε shown after "
                     f"{_f(page['eps_latency_ms_median'], 0)} ms (median of {page['eps_probes']}), usable after "
                     f"{_f(page['usable_ms'], 0)} ms", all(page["targets"].values())))
    ls = res.get("lesson", {})
    if "next_to_last_attendee_ms_p95" in ls:
        rows.append((f"The host's next reaches all {ls['attendees']} attendees (playing), p95 ≤ 1 s (issue 20)",
                     f"last attendee after {_f(ls['next_to_last_attendee_ms_p50'], 0)} ms (p50), "
                     f"{_f(ls['next_to_last_attendee_ms_p95'], 0)} ms (p95), {ls['missed']} missed; the projector's "
                     f"GET /api/room {_f(ls['projector_poll_ms_p50'], 0)} / {_f(ls['projector_poll_ms_p95'], 0)} ms "
                     "(p50 / p95)", ls["targets"]["next_reaches_all_p95_le_1s"]))
    f = res.get("frame", {})
    if "stream_bytes_mean" in f:
        rows.append(("Mean frame over the first 60 s of the default run ≤ 4 KB (issue 19)",
                     f"{f['stream_bytes_mean']:,.0f} B ({f['stream_size_ratio']} × smaller than the first format)",
                     f["stream_bytes_mean"] <= 4096))
    return rows


def network_section(res: dict[str, Any]) -> list[str]:
    rows = network_rows(res)
    page = res.get("network_page", {})
    out: list[str] = []
    for key in ("network_100mbit", "network_50mbit", "network_cpu", "network_page"):
        if "error" in res.get(key, {}):
            out.append(f"\n`{key}` failed: {res[key]['error'][:300]}")
    if not rows and "fps" not in page:
        return out
    out += ["", "### The room's network (`bench.load --rate`, `bench.browser --rate`: server and clients in a network "
            "namespace whose loopback, MTU 1500, is held to the rate by `tc tbf`; both directions share it)", "",
            "| room | frames/s min / median | fairness | latency p50 / p95 ms | steps/s min | KB a frame | "
            "bytes/s per attendee, mean / max | room Mbit/s | server CPU % | errors |",
            "|---|---|---:|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['sessions']} attendees, {r.get('rate') or 'no limit (CPU)'} | {_f(r['fps_min'])} / "
                   f"{_f(r['fps_median'])} | {_f(r['fairness'], 2)} | {_f(r['latency_p50_ms'], 0)} / "
                   f"{_f(r['latency_p95_ms'], 0)} | {_f(r['steps_per_s_min'], 0)} | {_f(r.get('frame_kb_mean'), 2)} | "
                   f"{_f(r.get('bytes_per_s_mean'), 0)} / {_f(r.get('bytes_per_s_max'), 0)} | "
                   f"{_f(r.get('room_mbps'), 1)} | {_f(r.get('server_cpu_percent'), 0)} | {r['errors']} |")
    if "fps" in page:
        out += ["", f"One page on {page.get('rate')}: usable (socket open, first frame drawn) after "
                f"{_f(page['usable_ms'], 0)} ms, Plotly.js after {_f(page['plotly_ms'], 0)} ms; frames received "
                f"{_f(page['frames_received_per_s'])}/s ({_f(page['frame_kb_mean'], 2)} KB each), drawn "
                f"{_f(page['fps'])}/s; a typed ε shown in the status bar after "
                f"{', '.join(_f(x, 0) for x in page['eps_latency_ms'])} ms (median "
                f"{_f(page['eps_latency_ms_median'], 0)})."]
    return out
