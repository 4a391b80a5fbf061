"""What the browser benchmarks install in the explorer's page and read back (bench.browser, bench.slowlink).

Installed before any of the page's scripts run: every clearRect on a canvas is counted by the nearest
data-testid (the template planes' point layers clear once per draw, static/js/explorer/layer.js),
window.Plotly is wrapped as it is defined (every call counted and timed per chart), and WebSocket
messages are counted as they arrive; the painter worker's draws are counted in the worker once it runs.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .common import rnd

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}
PANEL = "panel-smoothed"
BASELINE = "panel-baseline"

INSTRUMENT = r"""
(() => {
  const B = window.__bench = {calls: [], draws: [], firstDraw: null, firstPaint: null, plotlyAt: null, wrapMode: null,
                              ws: [], wsText: 0, wsOpen: null, sockets: [], errors: []};
  const rafOrig = window.requestAnimationFrame.bind(window);
  const keyOf = (el) => {
    if (!el || !el.closest) return "?";
    const owner = el.closest("[data-testid]");
    return owner ? owner.getAttribute("data-testid") : (el.id || "?");
  };
  // canvas draws: every clearRect of a canvas in the document, by its chart
  const clearOrig = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    try {
      const c = this.canvas;
      if (c && c.isConnected) {
        const key = keyOf(c);
        const t = performance.now();
        B.draws.push([t, key]);
        if (B.firstDraw === null && key === "%PANEL%") {
          B.firstDraw = t;
          rafOrig(() => { B.firstPaint = performance.now(); });
        }
      }
    } catch (e) { B.errors.push(String(e)); }
    return clearOrig.apply(this, args);
  };
  const OrigWS = window.WebSocket;
  class BenchWS extends OrigWS {
    constructor(...args) {
      super(...args);
      B.sockets.push(this);
      this.addEventListener("open", () => { if (B.wsOpen === null) B.wsOpen = performance.now(); });
      this.addEventListener("message", (ev) => {
        if (typeof ev.data === "string") B.wsText++;
        else B.ws.push([performance.now(), ev.data.byteLength || ev.data.size || 0]);
      });
    }
  }
  window.WebSocket = BenchWS;
  const NAMES = ["newPlot", "react", "animate", "restyle", "relayout", "update", "extendTraces",
                 "prependTraces", "redraw", "addTraces", "deleteTraces", "purge"];
  const record = (name, gd, t0) => {
    const el = typeof gd === "string" ? document.getElementById(gd) : gd;
    B.calls.push([t0, name, keyOf(el), performance.now() - t0]);
  };
  const wrapFn = (orig, name) => function (gd, ...rest) {
    const t0 = performance.now();
    try { return orig.call(this, gd, ...rest); }
    finally { try { record(name, gd, t0); } catch (e) { B.errors.push(String(e)); } }
  };
  const wrap = (pl) => {
    if (!pl || typeof pl !== "object" && typeof pl !== "function") return pl;
    B.plotlyAt = performance.now();
    let ok = true;
    for (const name of NAMES) {
      if (typeof pl[name] !== "function") continue;
      const w = wrapFn(pl[name], name);
      try { pl[name] = w; } catch (e) { /* read-only */ }
      if (pl[name] !== w) ok = false;
    }
    if (ok) { B.wrapMode = "assign"; return pl; }
    B.wrapMode = "proxy";
    const cache = {};
    return new Proxy(pl, {get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof v === "function" && NAMES.includes(k)) return cache[k] || (cache[k] = wrapFn(v, k));
      return v;
    }});
  };
  let P;
  Object.defineProperty(window, "Plotly", {configurable: true, enumerable: true,
    get() { return P; }, set(v) { P = wrap(v); }});
  window.addEventListener("error", (ev) => B.errors.push(String(ev.message)));
})();
""".replace("%PANEL%", PANEL)

# The painter worker (static/js/explorer/painter-worker.js) draws on OffscreenCanvas: its clearRect calls are
# counted there, once the worker runs (it names each canvas by its panel, canvas.testid); times on the epoch clock.
WORKER_INSTRUMENT = r"""
(() => {
  if (self.__bench || typeof OffscreenCanvasRenderingContext2D === "undefined") return;
  const B = self.__bench = {draws: []};
  const orig = OffscreenCanvasRenderingContext2D.prototype.clearRect;
  OffscreenCanvasRenderingContext2D.prototype.clearRect = function (...args) {
    B.draws.push([performance.timeOrigin + performance.now(), (this.canvas && this.canvas.testid) || "?"]);
    return orig.apply(this, args);
  };
})()
"""

READ = """() => { const B = window.__bench;
  const nav = performance.getEntriesByType('navigation')[0];
  const text = (id) => { const el = document.querySelector(`[data-testid="${id}"]`);
                         return el ? el.textContent : null; };
  return {calls: B.calls, draws: B.draws, firstDraw: B.firstDraw, wsOpen: B.wsOpen, firstPaint: B.firstPaint,
          plotlyAt: B.plotlyAt, wrapMode: B.wrapMode, ws: B.ws, wsText: B.wsText, errors: B.errors,
          dcl: nav ? nav.domContentLoadedEventEnd : null, load: nav ? nav.loadEventEnd : null,
          statusFps: text('status-fps'), statusRx: text('status-rx'), timeOrigin: performance.timeOrigin,
          painter: (() => { const el = document.querySelector('[data-testid="%PANEL%"]');
                            return el && el.plane && el.plane.painter ? {kind: el.plane.painter.kind,
                                   firstDrawAt: el.plane.painter.firstDrawAt} : null; })(),
          hasPanel: !!document.querySelector('[data-testid="%PANEL%"]')}; }""".replace("%PANEL%", PANEL)


def read_number(text: str | None) -> float | None:
    """The first number in a read-out such as '60' or '000,123' (thousands separators dropped)."""
    if not text:
        return None
    digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in text.replace(",", "")).split()
    return float(digits[0]) if digits else None


def cdp_metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def busy_shares(m0: dict[str, float], m1: dict[str, float], span_s: float) -> dict[str, float | None]:
    """Main-thread shares of the window, in percent: all tasks, script, style + layout."""
    d = {k: m1.get(k, 0.0) - m0.get(k, 0.0) for k in ("TaskDuration", "ScriptDuration", "LayoutDuration",
                                                       "RecalcStyleDuration")}
    return {"main_thread_busy_percent": rnd(d["TaskDuration"] / span_s * 100, 1),
            "script_percent": rnd(d["ScriptDuration"] / span_s * 100, 1),
            "style_layout_percent": rnd((d["LayoutDuration"] + d["RecalcStyleDuration"]) / span_s * 100, 1)}


FIRST_PAINT = """() => { const B = window.__bench; if (!B) return null;
  if (B.firstPaint !== null) return B.firstPaint;  // painted on the main thread
  const el = document.querySelector('[data-testid="%PANEL%"]');  // painted in the worker: its report, on this clock
  const painter = el && el.plane && el.plane.painter;
  return painter && painter.kind === 'worker' ? painter.firstDrawAt : null; }
""".replace("%PANEL%", PANEL)


def wait_first_paint(page: Any, timeout_s: float = 15) -> float | None:
    """Wait for the first drawn frame of panel-smoothed; its time after navigation start (ms)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        first = page.evaluate(FIRST_PAINT)
        if first is not None:
            return float(first)
        page.wait_for_timeout(25)
    return None


def worker_draws(page: Any, instrument: bool = False) -> list[list[Any]]:
    """Instrument the page's workers (instrument=True), or collect their draws: [[epoch ms, panel], ...]."""
    out: list[list[Any]] = []
    for worker in page.workers:
        try:
            if instrument:
                worker.evaluate(WORKER_INSTRUMENT)
            else:
                out += worker.evaluate("self.__bench ? self.__bench.draws : []")
        except Exception:  # noqa: BLE001 - a worker that has gone
            continue
    return out


def instrumented_page(context: Any, errors: list[str]) -> tuple[Any, Any]:
    """A new page of `context` with the counters installed before its scripts run, its console errors and page
    errors collected in `errors`, the network watched and the cache off (every visit a first visit); (page, CDP)."""
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text[:200]) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    page.add_init_script(INSTRUMENT)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return page, cdp
