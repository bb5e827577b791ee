// Secretary: this week's meetings, the urgent button with a unit picker, and who has
// acknowledged the last urgent session (refreshed every two seconds).
import { api, applyTexts, fmtTime, me, t, el } from "./common.js";

const TEXTS = {
  vi: { app: "Lịch họp trực tuyến", logout: "Đăng xuất", urgentTitle: "Triệu tập họp khẩn", subject: "Nội dung", units: "Đơn vị tham dự",
        searchHint: "Tìm đơn vị theo tên (không cần dấu)…", urgent: "Họp khẩn", acks: "Xác nhận của các đơn vị", week: "Tuần này",
        when: "Thời gian", unit: "đơn vị", children: "tất cả đơn vị trực thuộc", ok: "Đã nhận", wait: "Chưa xác nhận",
        needTitle: "Nhập nội dung và chọn ít nhất một đơn vị.", remove: "Bỏ", join: "Vào phòng họp" },
  en: { app: "Online meeting schedule", logout: "Sign out", urgentTitle: "Call an urgent session", subject: "Subject", units: "Invited units",
        searchHint: "Search units by name (accents optional)…", urgent: "Urgent session", acks: "Acknowledgements", week: "This week",
        when: "When", unit: "unit", children: "all units under it", ok: "Acknowledged", wait: "Not yet",
        needTitle: "Enter a subject and pick at least one unit.", remove: "Remove", join: "Open the room" },
};
applyTexts(TEXTS);
document.getElementById("search").placeholder = t(TEXTS, "searchHint");

const user = await me();
document.getElementById("who").textContent = user.username;
document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

/** Picked selectors with their labels: a single unit or a whole branch. */
const picks = [];

function renderPicks() {
  document.getElementById("picks").replaceChildren(...picks.map((p, i) =>
    el("span", {}, p.label, " ", el("button", { type: "button", "aria-label": t(TEXTS, "remove"),
      onclick: () => { picks.splice(i, 1); renderPicks(); } }, "×"))));
}

let searchSeq = 0;
document.getElementById("search").addEventListener("input", async (ev) => {
  const q = ev.target.value.trim();
  const seq = ++searchSeq;
  const results = q.length < 2 ? [] : await api("GET", `/units/search?q=${encodeURIComponent(q)}&limit=10`);
  if (seq !== searchSeq) return; // a later keystroke already answered
  document.getElementById("results").replaceChildren(...results.map((u) => el("li", {},
    el("button", { type: "button", onclick: () => add({ type: "unit", code: u.code }, u.name) }, `${u.name} (${u.code})`), " ",
    el("button", { type: "button", onclick: () => add({ type: "children_of", code: u.code }, `${u.name}: ${t(TEXTS, "children")}`) },
      t(TEXTS, "children")))));
});

function add(selector, label) {
  picks.push({ selector, label });
  renderPicks();
  document.getElementById("results").replaceChildren();
  document.getElementById("search").value = "";
}

let watching = null;

async function showAcks() {
  if (!watching) return;
  const view = await api("GET", `/meetings/${watching}`);
  document.getElementById("acks").replaceChildren(...view.invitations.map((inv) => el("tr", { "data-unit": inv.unit },
    el("td", {}, inv.unit_name),
    el("td", { class: inv.acknowledged_at ? "ok" : "wait" }, inv.acknowledged_at ? `${t(TEXTS, "ok")} ${fmtTime(inv.acknowledged_at)}` : t(TEXTS, "wait")))));
  document.getElementById("acks-card").hidden = false;
}
setInterval(() => showAcks().catch(() => {}), 2000);

document.getElementById("urgent").onclick = async () => {
  const error = document.getElementById("error");
  error.textContent = "";
  const title = document.getElementById("title").value.trim();
  if (!title || picks.length === 0) {
    error.textContent = t(TEXTS, "needTitle");
    return;
  }
  try {
    const out = await api("POST", "/meetings/urgent", {
      title, organizer: user.unit, participants: picks.map((p) => p.selector), delay_minutes: 0,
    });
    watching = out.meeting.id;
    picks.length = 0;
    renderPicks();
    await showAcks();
    await loadWeek();
  } catch (e) {
    error.textContent = e.message;
  }
};

async function loadWeek() {
  const now = new Date();
  const from = new Date(now.getTime() - 86400e3).toISOString();
  const to = new Date(now.getTime() + 7 * 86400e3).toISOString();
  const list = await api("GET", `/meetings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  document.getElementById("list").replaceChildren(...list.map((m) => el("tr", {},
    el("td", {}, fmtTime(m.starts_at)), el("td", {}, m.urgent ? `⚠ ${m.title}` : m.title))));
}
await loadWeek();
