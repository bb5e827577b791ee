// The signaling WebSocket (docs/protocol.md): one JSON object per text frame,
// `join` first, `ping` every 5 s so the server does not time the session out.

const PING_INTERVAL_MS = 5000;
// The server answers every ping: this long without a word from it means the link is
// down (a socket over a dead link stays "open" for minutes). The page then resumes
// on a new socket, which takes the place over even if the old one comes back.
const SILENCE_MS = 9000;

export class Signaling {
  /**
   * @param {string} url ws:// or wss:// address of /ws
   * @param {{onMessage: (msg: object) => void, onClose: (info: {code: number, reason: string, opened: boolean}) => void}} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.pingTimer = null;
    this.watchdog = null;
    this.opened = false;
    this.lastHeard = 0;
  }

  /** Opens the socket; resolves once it is open, rejects if it never opens. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.opened = true;
        this.lastHeard = Date.now();
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
        this.watchdog = setInterval(() => {
          if (this.ws !== ws || Date.now() - this.lastHeard < SILENCE_MS) return;
          // Reported as a close of a working session: the page resumes.
          this.close();
          this.handlers.onClose({ code: 4000, reason: "silent", opened: true });
        }, 1000);
        resolve();
      };
      ws.onmessage = (ev) => {
        // Frames still queued on a socket we closed belong to a session that is over.
        if (this.ws !== ws || typeof ev.data !== "string") return;
        this.lastHeard = Date.now();
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          console.warn("signaling: dropped a frame that is not JSON");
          return;
        }
        if (msg && typeof msg.type === "string") this.handlers.onMessage(msg);
      };
      ws.onclose = (ev) => {
        this.stopPing();
        if (!this.opened) {
          // Reported once, through the rejection; not as a close of a working session.
          this.ws = null;
          reject(new Error(`websocket closed before opening (${ev.code})`));
          return;
        }
        // A close we caused ourselves (close()) detached the socket and is not reported.
        if (this.ws === ws) {
          this.ws = null;
          this.handlers.onClose({ code: ev.code, reason: ev.reason, opened: this.opened });
        }
      };
    });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  /** The server says how often it wants a ping (joined.limits.ping_interval_ms). */
  setPingInterval(ms) {
    if (!Number.isFinite(ms) || ms < 1000 || this.pingTimer === null) return;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: "ping" }), ms);
  }

  stopPing() {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.pingTimer = null;
    this.watchdog = null;
  }

  /** Closes without reporting the close to the handlers (we asked for it). */
  close() {
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "bye");
  }
}

/** ws(s)://host/ws for the page's own origin. */
export function wsUrlForPage(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}
