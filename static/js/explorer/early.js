/* Opens the explorer's WebSocket as soon as the page starts, before Plotly.js and the page's modules have
   loaded: the server builds the session and sends its first frame meanwhile. A classic script (no
   imports), loaded async from <head>; lib/socket.js (Session, adoptEarly) adopts the socket and replays what arrived. */
(function () {
  "use strict";
  // the projector view (?present=1): its layout from the first paint on (main.js sets the same class)
  if (/[?&]present=(1|true|yes|on)(&|$)/i.test(location.search)) document.documentElement.classList.add("present");
  // main.js may have run first (both load async): its Session then opened the socket and left null here
  if (!("WebSocket" in window) || window.__earlySocket !== undefined) return;
  // this browser's id (lib/socket.js browserId: the same key, the same rule), so the page adopts this socket
  var id = null;
  try { id = localStorage.getItem("lse-browser"); } catch (e) { id = null; }
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    var letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    var bytes = crypto.getRandomValues(new Uint8Array(22));
    id = "";
    for (var i = 0; i < bytes.length; i++) id += letters[bytes[i] % letters.length];
    try { localStorage.setItem("lse-browser", id); } catch (e) { /* kept for this page only */ }
  }
  window.__lseBrowser = id;
  var url = (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws?browser=" + id;
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
