// Secretary: the week and list views of meetings, the create/edit form, each meeting's
// detail (acknowledgements, documents), and the urgent call (urgent.js). The shown week
// is kept in the URL (#week=2026-03-02).
import { api, applyTexts, el, fmtTime, me, pad2, t, vnParts, vnWeekStart } from "./common.js";
import { openMeetingDetail } from "./detail.js";
import { openMeetingForm } from "./form.js";
import { URGENT_TEXTS, urgentCard } from "./urgent.js";
import { renderWeek } from "./week.js";

const TEXTS = {
  vi: { app: "Lịch họp trực tuyến", logout: "Đăng xuất", urgentTitle: "Triệu tập họp khẩn", subject: "Nội dung", units: "Đơn vị tham dự",
        urgent: "Họp khẩn", acks: "Xác nhận của các đơn vị", weekView: "Tuần", listView: "Danh sách", prev: "‹ Tuần trước",
        today: "Tuần này", next: "Tuần sau ›", new: "+ Tạo cuộc họp", when: "Thời gian", organizer: "Đơn vị chủ trì",
        none: "Không có cuộc họp nào.", urgentMark: "KHẨN", archive: "Hồ sơ cuộc họp", tasks: "Nhiệm vụ" },
  en: { app: "Online meeting schedule", logout: "Sign out", urgentTitle: "Call an urgent session", subject: "Subject", units: "Invited units",
        urgent: "Urgent session", acks: "Acknowledgements", weekView: "Week", listView: "List", prev: "‹ Previous week",
        today: "This week", next: "Next week ›", new: "+ New meeting", when: "When", organizer: "Organizer",
        none: "No meetings.", urgentMark: "URGENT", archive: "Meeting files", tasks: "Tasks" },
};
// The urgent card's labels are in the same page: one pass fills both.
applyTexts({ vi: { ...URGENT_TEXTS.vi, ...TEXTS.vi }, en: { ...URGENT_TEXTS.en, ...TEXTS.en } });

const user = await me();
document.getElementById("who").textContent = user.username;
document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

// --- week / list ---------------------------------------------------------------------
const state = { view: "week", monday: vnWeekStart(new Date()) };
const hash = new URLSearchParams(location.hash.slice(1));
if (/^\d{4}-\d{2}-\d{2}$/.test(hash.get("week") ?? "")) state.monday = vnWeekStart(new Date(`${hash.get("week")}T12:00:00+07:00`));
if (hash.get("view") === "list") state.view = "list";

const unitNames = new Map();
async function unitName(code) {
  if (!unitNames.has(code)) unitNames.set(code, api("GET", `/units/${code}`).then((u) => u.name).catch(() => code));
  return unitNames.get(code);
}

const openDetail = (id) => openMeetingDetail({ id, user, onChanged: load });

async function load() {
  const p = vnParts(state.monday.toISOString());
  const weekKey = `${p.y}-${pad2(p.m)}-${pad2(p.d)}`;
  history.replaceState(null, "", `#week=${weekKey}&view=${state.view}`);
  document.getElementById("tab-week").setAttribute("aria-selected", String(state.view === "week"));
  document.getElementById("tab-list").setAttribute("aria-selected", String(state.view === "list"));
  document.getElementById("week-view").hidden = state.view !== "week";
  document.getElementById("list-view").hidden = state.view !== "list";
  document.getElementById("week-nav").hidden = state.view !== "week";

  if (state.view === "week") {
    const end = new Date(state.monday.getTime() + 7 * 86400e3);
    const sunday = vnParts(new Date(end.getTime() - 1).toISOString());
    document.getElementById("range").textContent = `${pad2(p.d)}/${pad2(p.m)} – ${pad2(sunday.d)}/${pad2(sunday.m)}/${sunday.y}`;
    const entries = await api("GET", `/meetings?from=${encodeURIComponent(state.monday.toISOString())}&to=${encodeURIComponent(end.toISOString())}`);
    renderWeek(document.getElementById("week-view"), state.monday, entries, openDetail);
  } else {
    const from = new Date();
    const to = new Date(from.getTime() + 60 * 86400e3);
    const entries = await api("GET", `/meetings?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`);
    const rows = await Promise.all(entries.map(async (e) => el("tr", { "data-meeting": e.meeting, class: "clickable", onclick: () => openDetail(e.meeting) },
      el("td", {}, fmtTime(e.starts_at)),
      el("td", {}, e.urgent ? el("strong", { class: "wait" }, `${t(TEXTS, "urgentMark")} `) : "", el("a", { href: "#", onclick: (ev) => ev.preventDefault() }, e.title)),
      el("td", {}, await unitName(e.organizer)))));
    document.getElementById("list").replaceChildren(...rows);
    document.getElementById("list-empty").hidden = rows.length > 0;
  }
}

document.getElementById("tab-week").onclick = () => { state.view = "week"; load(); };
document.getElementById("tab-list").onclick = () => { state.view = "list"; load(); };
document.getElementById("prev").onclick = () => { state.monday = vnWeekStart(state.monday, -1); load(); };
document.getElementById("next").onclick = () => { state.monday = vnWeekStart(state.monday, 1); load(); };
document.getElementById("today").onclick = () => { state.monday = vnWeekStart(new Date()); load(); };
document.getElementById("new").onclick = () => openMeetingForm({ user, existing: null, onSaved: load });

// --- urgent session (urgent.js) ----------------------------------------------------
urgentCard({ user, onCalled: () => load().catch(() => {}) });

await load();
