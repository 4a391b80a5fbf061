/** The status bar, the connection banner, the divergence alert and the dismissable error messages. */

import { $, setText } from "../lib/dom.js";

const CONNECTION_TEXT = {
  connecting: "connecting…",
  open: "connected",
  reconnecting: "reconnecting…",
  full: "explorer full",
  refused: "not allowed",
  idle: "closed (inactive)",
};

export class StatusBar {
  constructor() {
    this.step = $("status-step");
    this.eps = $("status-eps");
    this.steps = $("status-steps");
    this.fps = $("status-fps"); // frames drawn per second
    this.rx = $("status-rx"); // frames received per second
    this.device = $("status-device");
    this.conn = $("status-conn");
    this.banner = $("banner");
    this.bannerText = $("banner-text");
    this.retry = $("banner-retry");
    this.divergence = $("divergence");
    this.messages = $("messages");
  }

  /** The connection state in the status bar and, when it is not open, in the banner. */
  connection(state, reason, onRetry) {
    setText(this.conn, CONNECTION_TEXT[state] || state);
    this.conn.dataset.state = state;
    if (state === "open" || state === "connecting") {
      if (state === "open") this.banner.hidden = true;
      return;
    }
    const text = state === "reconnecting"
      ? `Connection lost${reason ? ` (${reason})` : ""}: reconnecting… your settings are kept in the address bar.`
      : reason;
    setText(this.bannerText, text);
    this.banner.dataset.state = state;
    this.retry.hidden = state !== "full" && state !== "idle";
    this.retry.onclick = onRetry;
    this.banner.hidden = false;
  }

  /** A divergence message shown prominently over the panels (null hides it). */
  diverged(message) {
    if (!message) {
      this.divergence.hidden = true;
      return;
    }
    setText(this.divergence, `⚠ ${message[0].toUpperCase()}${message.slice(1)}.`);
    this.divergence.hidden = false;
  }

  /** An error from the server or the page, dismissable; repeats of the same text are counted. */
  error(message) {
    for (const el of this.messages.querySelectorAll(".message")) {
      if (el.dataset.text === message) {
        const n = Number(el.dataset.count) + 1;
        el.dataset.count = String(n);
        el.querySelector(".count").textContent = ` (×${n})`;
        return;
      }
    }
    const el = document.createElement("div");
    el.className = "alert message";
    el.dataset.testid = "error-message";
    el.setAttribute("role", "alert");
    el.dataset.text = message;
    el.dataset.count = "1";
    const text = document.createElement("span");
    text.textContent = message;
    const count = document.createElement("span");
    count.className = "count";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.setAttribute("aria-label", "dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => el.remove());
    el.append(text, count, close);
    this.messages.append(el);
    while (this.messages.children.length > 4) this.messages.firstElementChild.remove();
  }

  /** A short confirmation that fades (e.g. "link copied"). */
  toast(message) {
    const el = document.createElement("div");
    el.className = "alert message toast";
    el.textContent = message;
    this.messages.append(el);
    setTimeout(() => el.remove(), 2_500);
  }
}
