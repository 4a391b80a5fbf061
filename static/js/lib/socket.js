/** The WebSocket session at /ws (docs/protocol.md): controls out, frames and text in, close codes, ping, and the
flow control: every frame is acknowledged as it is read, so the server sends the next one (never a backlog). */

import { FrameDecoder, frameNumber } from "./frames.js";

const PING_MS = 60_000; // keep-alive while the page is visible (the server closes idle sessions)
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 8_000;

/** Close codes with a meaning of their own: refused (1008), full (1013), idle (4000, an application code). */
const KINDS = { 1008: "refused", 1013: "full", 4000: "idle" };

/** The reason shown for those when the server gave none. */
const DEFAULT_REASONS = {
  refused: "The server refused this connection.",
  full: "The explorer is full. Try again in a minute.",
  idle: "Closed after a long time without activity.",
};

/** What a close code means for the page: "full", "idle", "refused" (never retried by itself) or "lost". */
export function closeKind(code) {
  return KINDS[code] || "lost";
}

/** The server's close reason, or the default text of its kind ("" for a lost connection). */
export function closeReason(code, reason) {
  return reason || DEFAULT_REASONS[closeKind(code)] || "";
}

/** The wait before reconnect attempt n (0, 1, ...): doubling from 0.5 s, at most 8 s. */
export function backoff(attempt) {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
}

/** ws:// or wss:// for /ws on the page's own host, naming the browser (`?browser=ID`) when given. */
export function socketUrl(loc, browser = null) {
  const query = browser ? `?browser=${encodeURIComponent(browser)}` : "";
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws${query}`;
}

const BROWSER_KEY = "lse-browser"; // localStorage: this browser's random id (explorer/early.js reads it too)
const BROWSER_ID = /^[A-Za-z0-9_-]{8,64}$/; // what the server takes (docs/protocol.md)

/** A new random browser id: 22 letters and digits. */
export function newBrowserId(random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(random(22), (b) => letters[b % letters.length]).join("");
}

/** This browser's id, one answer per browser in a lesson: kept in localStorage (a fresh one per page where the
browser keeps nothing); the one early.js made when it ran first. */
export function browserId() {
  if (typeof window !== "undefined" && window.__lseBrowser) return window.__lseBrowser;
  let id = null;
  try {
    id = localStorage.getItem(BROWSER_KEY);
  } catch {
    id = null; // storage refused (a private window's setting): an id for this page only
  }
  if (!id || !BROWSER_ID.test(id)) {
    id = newBrowserId();
    try {
      localStorage.setItem(BROWSER_KEY, id);
    } catch {
      // kept for this page only
    }
  }
  if (typeof window !== "undefined") window.__lseBrowser = id;
  return id;
}

/** One session over /ws. handlers: onHello(msg), onFrame(frame, ArrayBuffer) with the frame decoded in stream order
(lib/frames.js), onText(msg), onConnection(state,
reason, event) with state "connecting", "open", then on a close its kind ("full", "idle", "refused"), or for
a lost connection "reconnecting" (options.reconnect: retried with backoff) or "lost".
options.adoptEarly: the first connect() takes over the socket early.js opened while the page loaded. */
export class Session {
  constructor(handlers, { reconnect = false, adoptEarly = false } = {}) {
    this.handlers = handlers;
    this.reconnect = reconnect;
    this.adoptEarly = adoptEarly;
    this.ws = null;
    this.helloSeen = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.url = socketUrl(location, browserId());
    setInterval(() => {
      if (document.visibilityState === "visible") this.send({ type: "ping" });
    }, PING_MS);
  }

  /** Open the socket (again); a pending retry is cancelled. */
  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.handlers.onConnection("connecting", "", null);
    const early = this.adoptEarly && window.__earlySocket && window.__earlySocket.url === this.url ? window.__earlySocket : null;
    window.__earlySocket = null;
    if (early) early.stop();
    if (this.ws) {
      const old = this.ws; // a socket still connecting: replaced (its events are ignored from now on)
      this.ws = null;
      old.close();
    }
    const ws = early ? early.ws : new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.decoder = new FrameDecoder(); // a new socket, a new stream
    this.helloSeen = false;
    ws.addEventListener("message", (event) => this.receive(ws, event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event));
    if (!early) return;
    for (const data of early.buffer) {
      if (this.ws !== ws) return; // a replayed message closed or replaced the socket
      this.receive(ws, data);
    }
    if (early.closeEvent && this.ws === ws) this.closed(ws, early.closeEvent);
  }

  /** True when controls can be sent now. */
  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Open, and the server's hello has arrived. */
  get ready() {
    return this.open && this.helloSeen;
  }

  /** Send one control message; false (dropped) while disconnected. */
  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    if (typeof data !== "string") {
      this.send({ type: "ack", frame: frameNumber(data) }); // read: the server may send the next frame
      this.handlers.onFrame(this.decoder.decode(data), data);
      return;
    }
    const msg = JSON.parse(data);
    if (msg.type === "hello") {
      this.attempt = 0;
      this.helloSeen = true;
      this.handlers.onConnection("open", "", null);
      this.handlers.onHello(msg);
    } else {
      this.handlers.onText(msg);
    }
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    const kind = closeKind(event.code);
    if (kind !== "lost") {
      this.handlers.onConnection(kind, closeReason(event.code, event.reason), event);
    } else if (this.reconnect) {
      const delay = backoff(this.attempt);
      this.attempt += 1;
      this.handlers.onConnection("reconnecting", event.reason || "", event);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    } else {
      this.handlers.onConnection("lost", event.reason || "", event);
    }
  }
}
