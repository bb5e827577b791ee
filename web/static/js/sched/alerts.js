// Urgent-call alerts on a hall's dashboard: one banner per call the unit has not
// acknowledged, a chime repeated until someone acknowledges, a desktop notification (if
// the hall allowed them) and, while the tab is hidden, a title that flashes every second
// so a PC busy with another window still shows that something is waiting.
//
// Nothing here talks to the server: the dashboard feeds it (`show`, `acked`, `removed`)
// from `/units/{code}/pending-urgent` and the events stream. Document, window, clock
// periods, sound and notification are parameters, so the same code runs in tests with a
// fake document (see tests/tests/urgent_browser.rs).
import { el, pad2, t, vnParts } from "./common.js";

export const ALERT_TEXTS = {
  vi: { urgent: "HỌP KHẨN", ack: "Xác nhận đã nhận", ackedAt: "Đã xác nhận lúc {hm}", join: "Vào họp",
        starts: "Bắt đầu {hm}", place: "Địa điểm: {place}", by: "Đơn vị triệu tập: {org}", flash: "⚠ HỌP KHẨN — {title}",
        notifyBody: "Bắt đầu {hm}{place}. Mở trang lịch họp để xác nhận.", ackFailed: "Chưa xác nhận được: {msg}" },
  en: { urgent: "URGENT MEETING", ack: "Acknowledge receipt", ackedAt: "Acknowledged at {hm}", join: "Join",
        starts: "Starts {hm}", place: "Place: {place}", by: "Called by: {org}", flash: "⚠ URGENT — {title}",
        notifyBody: "Starts {hm}{place}. Open the schedule page to acknowledge.", ackFailed: "Not acknowledged yet: {msg}" },
};

/** The alert text `key` in the page's language with `{name}` filled from `params`. */
export function alertText(key, params = {}) {
  return t(ALERT_TEXTS, key).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** "14:05": 24-hour Hà Nội time of an instant. */
export function hm(iso) {
  const p = vnParts(iso);
  return `${pad2(p.h)}:${pad2(p.min)}`;
}

/** A short rising chime through WebAudio (no file to fetch). */
function webAudioChime() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return false;
  webAudioChime.ctx ??= new Ctx();
  const ctx = webAudioChime.ctx;
  // Browsers keep a context silent until the page had a click: resume on the first one.
  if (ctx.state === "suspended") {
    ctx.resume().catch(() => {});
    if (!webAudioChime.waiting) {
      webAudioChime.waiting = true;
      window.addEventListener("pointerdown", () => ctx.resume().catch(() => {}), { once: true });
    }
  }
  [660, 880, 990].forEach((f, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    gain.gain.value = 0.25;
    osc.frequency.value = f;
    osc.connect(gain).connect(ctx.destination);
    osc.start(ctx.currentTime + i * 0.3);
    osc.stop(ctx.currentTime + i * 0.3 + 0.22);
  });
  return ctx.state === "running";
}

/** A desktop notification when the hall allowed them; returns it (or null). */
function desktopNotify(title, body, tag) {
  if (!("Notification" in window) || Notification.permission !== "granted") return null;
  try {
    const n = new Notification(title, { body, tag, requireInteraction: true });
    n.onclick = () => { window.focus(); n.close(); };
    return n;
  } catch {
    return null; // some platforms allow notifications only from a service worker
  }
}

/**
 * Mounts the alerts in `root`. `tr(key, params)` gives texts; `onAck(meeting)` resolves
 * to the acknowledgement time (ISO) or throws; `onJoin(meeting)` opens the room.
 */
export function createAlerts({ root, tr = alertText, onAck, onJoin, doc = document, chimeEveryMs = 10_000,
                               flashEveryMs = 1_000, chime = webAudioChime, notify = desktopNotify }) {
  const alerts = new Map(); // meeting id -> { ev, node, acked, notification }
  const state = { chimes: 0, titleFlips: 0, notified: [], ringing: false, flashing: false };
  let chimeTimer = null;
  let flashTimer = null;
  let baseTitle = doc.title;

  const pending = () => [...alerts.values()].filter((a) => !a.acked);

  function ring() {
    state.chimes += 1;
    try { chime(); } catch { /* no audio device: the banner and the title still show */ }
  }

  // The chime goes on every `chimeEveryMs` while any call waits, and stops with the last.
  function updateChime() {
    const want = pending().length > 0;
    if (want && !chimeTimer) chimeTimer = setInterval(ring, chimeEveryMs);
    if (!want && chimeTimer) { clearInterval(chimeTimer); chimeTimer = null; }
    state.ringing = !!chimeTimer;
  }

  // While the tab is hidden and a call waits, the title alternates every second between
  // the page's own and the call's; back to the page's own as soon as it is shown.
  function updateFlash() {
    const first = pending()[0];
    const want = doc.hidden && !!first;
    if (want && !flashTimer) {
      baseTitle = doc.title;
      flashTimer = setInterval(() => {
        const cur = pending()[0];
        if (!cur) return updateFlash();
        const alt = tr("flash", { title: cur.ev.title });
        doc.title = doc.title === alt ? baseTitle : alt;
        state.titleFlips += 1;
      }, flashEveryMs);
    }
    if (!want && flashTimer) {
      clearInterval(flashTimer);
      flashTimer = null;
      doc.title = baseTitle;
    }
    state.flashing = !!flashTimer;
  }
  doc.addEventListener("visibilitychange", updateFlash);

  function ackedText(at) {
    return tr("ackedAt", { hm: hm(at) });
  }

  function render(a) {
    const { ev } = a;
    const meta = [tr("starts", { hm: hm(ev.starts_at) })];
    if (ev.location) meta.push(tr("place", { place: ev.location }));
    if (ev.organizer_name) meta.push(tr("by", { org: ev.organizer_name }));
    const ackBtn = el("button", { type: "button", class: "alert-ack" }, a.acked ? ackedText(a.ackedAt) : tr("ack"));
    ackBtn.disabled = !!a.acked;
    const error = el("span", { class: "alert-error", role: "status" });
    ackBtn.onclick = async () => {
      ackBtn.disabled = true;
      error.textContent = "";
      try {
        markAcked(ev.meeting, await onAck(ev.meeting));
      } catch (e) {
        ackBtn.disabled = false;
        error.textContent = tr("ackFailed", { msg: e.message });
      }
    };
    const node = el("div", { class: `banner urgent-alert${a.acked ? " acked" : ""}`, role: "alert",
                             "data-meeting": ev.meeting, "data-state": a.acked ? "acked" : "pending" },
      el("div", { class: "alert-body" },
        el("strong", { class: "alert-text" }, `${tr("urgent")}: ${ev.title}`),
        el("span", { class: "alert-meta" }, meta.join(" · ")), error),
      el("div", { class: "alert-actions" }, ackBtn,
        el("button", { type: "button", class: "primary alert-join", onclick: () => onJoin(ev.meeting) }, tr("join"))));
    if (a.node) a.node.replaceWith(node);
    else root.append(node);
    a.node = node;
  }

  function markAcked(meeting, at) {
    const a = alerts.get(meeting);
    if (!a || a.acked) return;
    a.acked = true;
    a.ackedAt = at ?? new Date().toISOString();
    a.notification?.close?.();
    render(a);
    updateChime();
    updateFlash();
  }

  const api = {
    state,
    /** Shows (or refreshes the text of) the banner of a call not yet acknowledged. */
    show(ev) {
      const known = alerts.get(ev.meeting);
      if (known) {
        known.ev = ev;
        render(known);
        return;
      }
      const a = { ev, acked: false, node: null, notification: null };
      alerts.set(ev.meeting, a);
      render(a);
      state.shownAt ??= performance.timeOrigin + performance.now();
      const place = ev.location ? ` — ${ev.location}` : "";
      a.notification = notify(`${tr("urgent")}: ${ev.title}`, tr("notifyBody", { hm: hm(ev.starts_at), place }), `urgent-${ev.meeting}`);
      if (a.notification) state.notified.push(ev.meeting);
      ring();
      updateChime();
      updateFlash();
    },
    /** Someone of the unit acknowledged (here or on another screen) at `at` (ISO). */
    acked: markAcked,
    /** The call was cancelled: its banner goes. */
    removed(meeting) {
      const a = alerts.get(meeting);
      if (!a) return;
      a.notification?.close?.();
      a.node?.remove();
      alerts.delete(meeting);
      updateChime();
      updateFlash();
    },
    pending: () => pending().map((a) => a.ev.meeting),
  };
  return api;
}
