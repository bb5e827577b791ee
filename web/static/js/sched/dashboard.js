// A hall's dashboard: upcoming meetings with join buttons and .ics, and live urgent
// alerts over server-sent events (banner + beep within a second of the secretary's click).
import { api, applyTexts, fmtTime, me, t, el } from "./common.js";
import { documentsPanel } from "./documents.js";
import { tasksSection } from "../minutes/tasks.js";

const TEXTS = {
  vi: { app: "Điểm cầu", logout: "Đăng xuất", ack: "Đã nhận", acked: "Đã xác nhận", join: "Vào họp", upcoming: "Cuộc họp sắp tới",
        when: "Thời gian", subject: "Nội dung", none: "Chưa có cuộc họp nào.", urgent: "HỌP KHẨN", ics: "Lịch (.ics)", docs: "Tài liệu", archive: "Hồ sơ cuộc họp" },
  en: { app: "Meeting hall", logout: "Sign out", ack: "Acknowledge", acked: "Acknowledged", join: "Join", upcoming: "Upcoming meetings",
        when: "When", subject: "Subject", none: "No meetings yet.", urgent: "URGENT MEETING", ics: "Calendar (.ics)", docs: "Documents", archive: "Meeting files" },
};
applyTexts(TEXTS);

const user = await me();
const unit = user.unit;
api("GET", `/units/${unit}`).then((u) => (document.getElementById("unit").textContent = u.name)).catch(() => {});
document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

async function join(meeting) {
  const r = await api("GET", `/meetings/${meeting}/join/${unit}`);
  location.href = r.url;
}

async function ack(meeting) {
  await api("POST", `/meetings/${meeting}/ack/${unit}`);
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

async function refresh() {
  const list = await api("GET", `/units/${unit}/upcoming`);
  const body = document.getElementById("list");
  body.replaceChildren(...list.map((m) => el("tr", {},
    el("td", {}, fmtTime(m.starts_at)),
    el("td", {}, m.urgent ? el("strong", {}, `${t(TEXTS, "urgent")}: `) : "", m.title, docsToggle(m.meeting)),
    el("td", {},
      el("button", { class: "primary", type: "button", onclick: () => join(m.meeting) }, t(TEXTS, "join")), " ",
      el("a", { href: `/api/meetings/${m.meeting}/ics?unit=${unit}`, download: "" }, t(TEXTS, "ics"))))));
  document.getElementById("empty").hidden = list.length > 0;
}

// WebAudio needs no file; browsers may keep it silent until the first click on the page.
function beep() {
  try {
    const ctx = new AudioContext();
    for (let i = 0; i < 3; i++) {
      const osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.4);
      osc.stop(ctx.currentTime + i * 0.4 + 0.25);
    }
  } catch { /* no audio device: the banner is enough */ }
}

function showAlert(ev) {
  document.getElementById("alert-text").textContent = `${t(TEXTS, "urgent")}: ${ev.title} — ${fmtTime(ev.starts_at)}`;
  const ackBtn = document.getElementById("alert-ack");
  ackBtn.disabled = false;
  ackBtn.textContent = t(TEXTS, "ack");
  ackBtn.onclick = async () => {
    await ack(ev.meeting);
    ackBtn.textContent = t(TEXTS, "acked");
    ackBtn.disabled = true;
  };
  document.getElementById("alert-join").onclick = () => join(ev.meeting);
  document.getElementById("alert").hidden = false;
  beep();
}

const events = new EventSource(`/api/units/${unit}/events`);
events.addEventListener("meeting", (m) => {
  const ev = JSON.parse(m.data);
  if (ev.urgent && ev.kind === "created") showAlert(ev);
  refresh();
});
events.addEventListener("resync", refresh);
// Tests and operators can see whether alerts will arrive.
events.onopen = () => (document.body.dataset.live = "true");
events.onerror = () => (document.body.dataset.live = "false");
await refresh();
