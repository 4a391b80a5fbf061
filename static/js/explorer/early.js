/* Opens the explorer's WebSocket as soon as the page starts, before Plotly.js and the page's modules have
   loaded: the server builds the session and sends its first frame meanwhile. A classic script (no
   imports), loaded async from <head>; lib/socket.js (Session, adoptEarly) adopts the socket and replays what arrived. */
(function () {
  "use strict";
  // the projector view (?present=1): its layout from the first paint on (main.js sets the same class)
  if (/[?&]present=(1|true|yes|on)(&|$)/i.test(location.search)) document.documentElement.classList.add("present");
  // main.js may have run first (both load async): its Session then opened the socket and left null here
  if (!("WebSocket" in window) || window.__earlySocket !== undefined) return;
  var url = (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws";
  var early = { url: url, buffer: [], closeEvent: null };
  try {
    early.ws = new WebSocket(url);
  } catch (e) {
    return;
  }
  early.ws.binaryType = "arraybuffer";
  early.onMessage = function (event) { early.buffer.push(event.data); };
  early.onClose = function (event) { early.closeEvent = { code: event.code, reason: event.reason }; };
  early.ws.addEventListener("message", early.onMessage);
  early.ws.addEventListener("close", early.onClose);
  early.stop = function () {
    early.ws.removeEventListener("message", early.onMessage);
    early.ws.removeEventListener("close", early.onClose);
  };
  window.__earlySocket = early;
})();
