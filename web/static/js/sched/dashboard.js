// A hall's dashboard: upcoming meetings with join buttons and .ics, and urgent calls.
// Every call the unit has not acknowledged shows its banner whenever the page loads
// (asked of the server, not only pushed to a page open at that second), with a chime, a
// desktop notification and a flashing title (alerts.js) until someone of the unit
// acknowledges; an acknowledgement on another screen of the unit arrives over the
// events stream and turns this one's banner to "Đã xác nhận lúc HH:MM".
import { api, applyTexts, fmtTime, me, t, el } from "./common.js";
import { documentsPanel } from "./documents.js";
import { alertText, createAlerts, hm } from "./alerts.js";
import { tasksSection } from "../minutes/tasks.js";

const TEXTS = {
  vi: { app: "Điểm cầu", logout: "Đăng xuất", join: "Vào họp", upcoming: "Cuộc họp sắp tới",
        when: "Thời gian", subject: "Nội dung", none: "Chưa có cuộc họp nào.", urgent: "HỌP KHẨN", ics: "Lịch (.ics)", docs: "Tài liệu", archive: "Hồ sơ cuộc họp",
        notifyWhy: "Cho phép máy tính hiện thông báo khi có họp khẩn, kể cả khi đang mở cửa sổ khác.", notifyOn: "Bật thông báo",
        waiting: "Chưa xác nhận", opensAt: "Mở lúc {when}", opensNote: "Cuộc họp «{title}» mở lúc {when}. Nút «Vào họp» dùng được từ giờ đó.",
        joinFailed: "Không vào được cuộc họp «{title}»: {why}" },
  en: { app: "Meeting hall", logout: "Sign out", join: "Join", upcoming: "Upcoming meetings",
        when: "When", subject: "Subject", none: "No meetings yet.", urgent: "URGENT MEETING", ics: "Calendar (.ics)", docs: "Documents", archive: "Meeting files",
        notifyWhy: "Let this computer show a notification when an urgent meeting is called, even while another window is in front.", notifyOn: "Turn on notifications",
        waiting: "Not acknowledged", opensAt: "Opens at {when}", opensNote: "The meeting “{title}” opens at {when}. “Join” works from then on.",
        joinFailed: "Cannot join the meeting “{title}”: {why}" },
};
applyTexts(TEXTS);

const user = await me();
const unit = user.unit;
api("GET", `/units/${unit}`).then((u) => (document.getElementById("unit").textContent = u.name)).catch(() => {});
document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

/** A text of TEXTS with its `{name}` placeholders filled. */
function tf(key, params) {
  return t(TEXTS, key).replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

// How long before its start a meeting's link admits (scheduler/src/join.rs JOIN_EARLY).
// Only the button's label comes from it; the ticket's own `not_before` decides.
const JOIN_EARLY_MS = 30 * 60 * 1000;
const CLOCK_SLACK_MS = 30 * 1000; // the server tolerates 30 s of clock difference on `nbf`

/** "08:30 08/12": 24-hour Hà Nội time, as the hall's clock on the wall shows it. */
function hmDm(ms) {
  const part = (o) => new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", ...o }).format(new Date(ms));
  return `${part({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" })} ${part({ day: "2-digit", month: "2-digit" })}`;
}

/** A note under the meeting's row (why the join did not happen), replacing any earlier one. */
function rowNote(meeting, text) {
  const row = document.querySelector(`tr[data-meeting="${CSS.escape(meeting)}"] td:last-child`);
  if (!row) return;
  row.querySelector(".join-note")?.remove();
  row.append(el("p", { class: "wait join-note", role: "status" }, text));
}

/**
 * "Vào họp": fetches a fresh link and opens the room, unless the meeting is not open
 * yet (then says when, rather than letting the room page refuse the link) or the API
 * refuses (cancelled, over: its reason, under the row).
 */
const titles = new Map(); // meeting -> title, for the notes of a join started from an alert
async function join(meeting, title = titles.get(meeting) ?? "") {
  let r;
  try {
    r = await api("GET", `/meetings/${meeting}/join/${unit}`);
  } catch (e) {
    rowNote(meeting, tf("joinFailed", { title, why: e.message }));
    return;
  }
  const opens = Date.parse(r.ticket?.not_before ?? "");
  if (opens > Date.now() + CLOCK_SLACK_MS) {
    rowNote(meeting, tf("opensNote", { title, when: hmDm(opens) }));
    return;
  }
  location.href = r.url;
}

/** The join button: "Vào họp", or "Mở lúc HH:MM dd/mm" while the meeting's room is not open. */
function joinButton(m) {
  const opens = Date.parse(m.starts_at) - JOIN_EARLY_MS;
  const early = opens > Date.now();
  return el("button", { class: early ? "join-early" : "primary", type: "button", "data-opens": early ? "true" : "false",
    onclick: () => join(m.meeting, m.title) }, early ? tf("opensAt", { when: hmDm(opens) }) : t(TEXTS, "join"));
}

// Relabels the buttons when the next meeting opens (a dashboard stays open all day).
let openTimer = null;
function scheduleOpening(list) {
  clearTimeout(openTimer);
  const next = Math.min(...list.map((m) => Date.parse(m.starts_at) - JOIN_EARLY_MS).filter((ms) => ms > Date.now()));
  // Beyond a day, a later refresh (events, reload) will come first; setTimeout caps at ~24.8 days anyway.
  if (Number.isFinite(next) && next - Date.now() < 86_400_000) {
    openTimer = setTimeout(() => refresh().catch(() => {}), next - Date.now() + 1000);
  }
}

/** Acknowledges for the unit; resolves to the stored time (the first one, if another screen was quicker). */
async function ack(meeting) {
  const r = await api("POST", `/meetings/${meeting}/ack/${unit}`);
  refresh().catch(() => {});
  return r.acknowledged_at;
}

const alerts = createAlerts({ root: document.getElementById("alerts"), onAck: ack, onJoin: join });
// Tests and operators can see what the alerts did (chimes, title flips, notifications).
window.bridgeAlerts = alerts;

// Desktop notifications: asked once, by a click (browsers refuse a prompt without one).
const notifyBar = document.getElementById("notify-bar");
if ("Notification" in window && Notification.permission === "default") {
  notifyBar.hidden = false;
  document.getElementById("notify-enable").onclick = async () => {
    await Notification.requestPermission().catch(() => {});
    notifyBar.hidden = true;
  };
}

/** The meeting's documents, fetched when the hall opens the list. */
function docsToggle(meeting) {
  const d = el("details", { class: "docs-toggle", "data-meeting": meeting }, el("summary", {}, t(TEXTS, "docs")));
  d.addEventListener("toggle", () => {
    if (d.open && !d.querySelector(".documents")) d.append(documentsPanel(meeting));
  });
  return d;
}

// The tasks meetings assigned to this unit (and, for its office, every unit's status).
document.querySelector("main").append(tasksSection(unit, ["secretary", "administrator"].includes(user.role)));

/** An urgent meeting's row says whether (and when) the unit acknowledged it. */
function ackCell(m) {
  if (!m.urgent || m.organizer === unit) return "";
  return m.acknowledged_at
    ? el("span", { class: "ok ack-state" }, alertText("ackedAt", { hm: hm(m.acknowledged_at) }))
    : el("span", { class: "wait ack-state" }, t(TEXTS, "waiting"));
}

async function refresh() {
  const list = await api("GET", `/units/${unit}/upcoming`);
  for (const m of list) titles.set(m.meeting, m.title);
  const body = document.getElementById("list");
  body.replaceChildren(...list.map((m) => el("tr", { "data-meeting": m.meeting },
    el("td", {}, fmtTime(m.starts_at)),
    el("td", {}, m.urgent ? el("strong", {}, `${t(TEXTS, "urgent")}: `) : "", m.title, " ", ackCell(m), docsToggle(m.meeting)),
    el("td", {},
      joinButton(m), " ",
      el("a", { href: `/api/meetings/${m.meeting}/ics?unit=${unit}`, download: "" }, t(TEXTS, "ics"))))));
  document.getElementById("empty").hidden = list.length > 0;
  scheduleOpening(list);
}

/** Banners for every call the unit has not acknowledged (new ones chime). */
async function syncPending() {
  for (const p of await api("GET", `/units/${unit}/pending-urgent`)) alerts.show(p);
}

const events = new EventSource(`/api/units/${unit}/events`);
events.addEventListener("meeting", (m) => {
  const ev = JSON.parse(m.data);
  if (ev.kind === "acknowledged") {
    // Another screen of this unit acknowledged (the organizer's page hears other units too).
    if (ev.unit === unit) {
      alerts.acked(ev.meeting, ev.acknowledged_at);
      refresh().catch(() => {});
    }
    return;
  }
  if (ev.kind === "cancelled") alerts.removed(ev.meeting);
  else if (ev.urgent) syncPending().catch(() => {});
  refresh().catch(() => {});
});
// After a lag or a dropped stream, what was missed is asked for again.
events.addEventListener("resync", () => { syncPending().catch(() => {}); refresh().catch(() => {}); });
let everOpen = false;
events.onopen = () => {
  document.body.dataset.live = "true";
  if (everOpen) { syncPending().catch(() => {}); refresh().catch(() => {}); }
  everOpen = true;
};
events.onerror = () => (document.body.dataset.live = "false");
await Promise.all([refresh(), syncPending()]);
document.body.dataset.alertsReady = "true";
