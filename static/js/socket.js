/** The WebSocket connection: controls out, frames and text in, close codes, reconnect with backoff, ping. */

import { frameView } from "./frames.js";

const PING_MS = 60_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 8_000;
const CLOSE_POLICY = 1008;
const CLOSE_TRY_AGAIN = 1013;
const CLOSE_IDLE = 4000; // the server closed a session nobody used for IDLE_TIMEOUT: reconnect on request only

/** One explorer session over /ws; reconnects by itself unless the server refused it. */
export class ExplorerSocket {
  /** handlers: onHello(msg), onFrame(frame), onText(msg), onConnection(state, reason) */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    setInterval(() => {
      if (document.visibilityState === "visible") this.send({ type: "ping" });
    }, PING_MS);
  }

  /** Open the socket (again); a pending retry is cancelled. The first time, the socket that early.js
  opened while the page loaded is adopted, with the messages (or the close) it has seen so far. */
  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.handlers.onConnection("connecting", "");
    const early = window.__earlySocket && window.__earlySocket.url === this.url ? window.__earlySocket : null;
    window.__earlySocket = null;
    if (early) early.stop();
    const ws = early ? early.ws : new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("message", (event) => this.receive(event));
    ws.addEventListener("close", (event) => this.closed(ws, event));
    if (!early) return;
    for (const data of early.buffer) {
      if (this.ws !== ws) return; // a replayed message closed or replaced the socket
      this.receive({ data });
    }
    if (early.closeEvent && this.ws === ws) this.closed(ws, early.closeEvent);
  }

  /** True when controls can be sent now. */
  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send one control message (dropped while disconnected: the URL state is replayed on reconnect). */
  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  receive(event) {
    if (typeof event.data !== "string") {
      this.handlers.onFrame(frameView(event.data));
      return;
    }
    const msg = JSON.parse(event.data);
    if (msg.type === "hello") {
      this.attempt = 0;
      this.handlers.onConnection("open", "");
      this.handlers.onHello(msg);
    } else {
      this.handlers.onText(msg);
    }
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    if (event.code === CLOSE_TRY_AGAIN) {
      this.handlers.onConnection("full", event.reason || "The explorer is full. Try again in a minute.");
    } else if (event.code === CLOSE_IDLE) {
      this.handlers.onConnection("idle", event.reason || "Closed after a long time without activity.");
    } else if (event.code === CLOSE_POLICY) {
      this.handlers.onConnection("refused", event.reason || "The server refused this connection.");
    } else {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
      this.attempt += 1;
      this.handlers.onConnection("reconnecting", event.reason || "");
      this.retryTimer = setTimeout(() => this.connect(), delay);
    }
  }
}
