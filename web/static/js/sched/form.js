// The create/edit form of a meeting, in a <dialog>. Times are entered and shown in Hà Nội
// time whatever the PC's zone. Editing sends the version it loaded: if someone else saved
// in between, the server answers 409 and the form keeps what was typed, offering to load
// the other version or to save over it knowingly.
import { api, el, fmtTime, fromLocalInput, t, toLocalInput } from "./common.js";
import { unitPicker } from "./picker.js";

const TEXTS = {
  vi: { newTitle: "Tạo cuộc họp", editTitle: "Sửa cuộc họp", subject: "Tên cuộc họp", agenda: "Chương trình họp",
        addItem: "Thêm nội dung", up: "Lên", down: "Xuống", remove: "Bỏ", start: "Bắt đầu (giờ Hà Nội)", end: "Kết thúc",
        location: "Địa điểm", chair: "Chủ trì", noChair: "— chưa chọn —", units: "Đơn vị dự họp", repeat: "Lặp lại", none: "Không lặp", weekly: "Hằng tuần",
        monthly: "Hằng tháng (cùng ngày)", days: "Vào các ngày", until: "Đến ngày", count: "hoặc số lần", except: "Trừ các ngày (cách nhau bởi dấu phẩy, dd/mm/yyyy)",
        save: "Lưu", cancel: "Đóng", saved: "Đã lưu. Số đơn vị được mời:", conflicts: "Cảnh báo trùng lịch:",
        stale: "Cuộc họp vừa được người khác sửa (phiên bản hiện tại: {v}). Nội dung bạn nhập vẫn còn trong biểu mẫu.",
        reload: "Tải phiên bản mới (bỏ phần đã nhập)", overwrite: "Lưu đè lên phiên bản mới",
        needFields: "Nhập tên cuộc họp, thời gian và chọn ít nhất một đơn vị.", badExdate: "Ngày không hợp lệ: ",
        record: "Ghi hình cuộc họp", recordHint: "Máy chủ ghi âm thanh và hình ảnh người đang phát biểu mỗi khi phòng họp mở." },
  en: { newTitle: "New meeting", editTitle: "Edit meeting", subject: "Title", agenda: "Agenda",
        addItem: "Add item", up: "Up", down: "Down", remove: "Remove", start: "Starts (Hà Nội time)", end: "Ends",
        location: "Location", chair: "Chair", noChair: "— not chosen —", units: "Invited units", repeat: "Repeat", none: "Does not repeat", weekly: "Weekly",
        monthly: "Monthly (same day)", days: "On", until: "Until", count: "or number of times", except: "Except on (comma-separated, dd/mm/yyyy)",
        save: "Save", cancel: "Close", saved: "Saved. Units invited:", conflicts: "Booking warnings:",
        stale: "Someone else has just changed this meeting (current version: {v}). What you typed is still in the form.",
        reload: "Load their version (drop my changes)", overwrite: "Save over their version",
        needFields: "Enter a title and times and pick at least one unit.", badExdate: "Invalid date: ",
        record: "Record the meeting", recordHint: "The server records the audio and the current speaker's video whenever the room is open." },
};
const DAYS = [["MO", "T2", "Mon"], ["TU", "T3", "Tue"], ["WE", "T4", "Wed"], ["TH", "T5", "Thu"], ["FR", "T6", "Fri"], ["SA", "T7", "Sat"], ["SU", "CN", "Sun"]];

function field(labelText, input) {
  const id = `f-${Math.random().toString(36).slice(2)}`;
  input.id = input.id || id;
  return el("div", { class: "field" }, el("label", { for: input.id }, labelText), input);
}

/** Opens the form. `existing` is a MeetingView to edit, or null to create. */
export async function openMeetingForm({ user, existing, onSaved }) {
  const dialog = el("dialog", { class: "meeting-form", "aria-label": t(TEXTS, existing ? "editTitle" : "newTitle") });
  document.body.append(dialog);
  const close = () => { dialog.close(); dialog.remove(); };
  let version = existing?.meeting.version ?? null;
  const m = existing?.meeting;

  const title = el("input", { id: "mf-title", required: "", maxlength: "500" });
  const start = el("input", { id: "mf-start", type: "datetime-local", required: "" });
  const end = el("input", { id: "mf-end", type: "datetime-local", required: "" });
  const location = el("input", { id: "mf-location", maxlength: "500" });
  const chair = el("select", { id: "mf-chair" }, el("option", { value: "" }, t(TEXTS, "noChair")));
  const organizer = m?.organizer ?? user.unit;
  for (const c of await api("GET", `/units/${organizer}/chairs`).catch(() => [])) {
    chair.append(el("option", { value: c.id }, c.display_name));
  }
  const agenda = el("ol", { class: "agenda", id: "mf-agenda" });
  const pickerRoot = el("div", { class: "picker" });
  const freq = el("select", { id: "mf-freq" },
    el("option", { value: "" }, t(TEXTS, "none")), el("option", { value: "WEEKLY" }, t(TEXTS, "weekly")),
    el("option", { value: "MONTHLY" }, t(TEXTS, "monthly")));
  const days = el("span", { class: "days" }, ...DAYS.map(([code, vi, en]) =>
    el("label", { class: "inline" }, el("input", { type: "checkbox", value: code, "data-day": code }), document.documentElement.lang === "en" ? en : vi)));
  const until = el("input", { id: "mf-until", type: "date" });
  const count = el("input", { id: "mf-count", type: "number", min: "1", max: "366" });
  const exdates = el("input", { id: "mf-exdates", placeholder: "02/03/2026, 16/03/2026" });
  const repeatBox = el("div", { class: "repeat" }, field(t(TEXTS, "repeat"), freq),
    el("div", { class: "field" }, el("span", { class: "lbl" }, t(TEXTS, "days")), days),
    field(t(TEXTS, "until"), until), field(t(TEXTS, "count"), count), field(t(TEXTS, "except"), exdates));
  const record = el("input", { type: "checkbox", id: "mf-record" });
  const recordBox = el("div", { class: "field" },
    el("label", { class: "inline", for: "mf-record", title: t(TEXTS, "recordHint") }, record, " ", t(TEXTS, "record")));
  const error = el("div", { class: "error", role: "alert", id: "mf-error" });
  const info = el("div", { class: "info", id: "mf-info", "aria-live": "polite" });
  const saveBtn = el("button", { type: "submit", class: "primary", id: "mf-save" }, t(TEXTS, "save"));

  function addItem(text = "") {
    const input = el("input", { value: text, "aria-label": t(TEXTS, "agenda"), maxlength: "10000" });
    const li = el("li", {}, input,
      el("button", { type: "button", class: "small", "aria-label": t(TEXTS, "up"), onclick: () => li.previousElementSibling?.before(li) }, "↑"),
      el("button", { type: "button", class: "small", "aria-label": t(TEXTS, "down"), onclick: () => li.nextElementSibling?.after(li) }, "↓"),
      el("button", { type: "button", class: "small", "aria-label": t(TEXTS, "remove"), onclick: () => li.remove() }, "×"));
    agenda.append(li);
    return input;
  }

  const form = el("form", { method: "dialog" },
    el("h2", {}, t(TEXTS, existing ? "editTitle" : "newTitle")),
    field(t(TEXTS, "subject"), title),
    el("div", { class: "row" }, field(t(TEXTS, "start"), start), field(t(TEXTS, "end"), end)),
    el("div", { class: "row" }, field(t(TEXTS, "location"), location), field(t(TEXTS, "chair"), chair)),
    el("div", { class: "field" }, el("span", { class: "lbl" }, t(TEXTS, "agenda")), agenda,
      el("button", { type: "button", class: "small", id: "mf-add-item", onclick: () => addItem().focus() }, t(TEXTS, "addItem"))),
    el("div", { class: "field" }, el("span", { class: "lbl" }, t(TEXTS, "units")), pickerRoot),
    repeatBox, recordBox, error, info,
    el("div", { class: "actions" }, saveBtn, el("button", { type: "button", onclick: close }, t(TEXTS, "cancel"))));
  dialog.append(form);
  const picker = unitPicker(pickerRoot, user.unit);

  // Prefill: an existing meeting, or the next full hour for one hour.
  if (m) {
    title.value = m.title;
    start.value = toLocalInput(m.starts_at);
    end.value = toLocalInput(m.ends_at);
    location.value = m.location;
    chair.value = m.chair ?? "";
    m.agenda.forEach((a) => addItem(a));
    await picker.set(m.participants);
    if (m.recurrence) fillRecurrence(m.recurrence);
    record.checked = !!m.record;
  } else {
    const s = new Date(Math.ceil(Date.now() / 3600e3) * 3600e3);
    start.value = toLocalInput(s.toISOString());
    end.value = toLocalInput(new Date(s.getTime() + 3600e3).toISOString());
    addItem();
  }

  function fillRecurrence(r) {
    const parts = Object.fromEntries(r.rrule.split(";").map((kv) => kv.split("=")));
    freq.value = parts.FREQ || "";
    for (const d of (parts.BYDAY || "").split(",")) days.querySelector(`[data-day="${d}"]`)?.setAttribute("checked", "");
    if (parts.UNTIL) until.value = `${parts.UNTIL.slice(0, 4)}-${parts.UNTIL.slice(4, 6)}-${parts.UNTIL.slice(6, 8)}`;
    if (parts.COUNT) count.value = parts.COUNT;
    exdates.value = r.exdates.map((x) => toLocalInput(x).slice(0, 10).split("-").reverse().join("/")).join(", ");
  }

  function recurrence() {
    if (!freq.value) return null;
    const rule = [`FREQ=${freq.value}`];
    const picked = [...days.querySelectorAll("input:checked")].map((c) => c.value);
    if (freq.value === "WEEKLY" && picked.length) rule.push(`BYDAY=${picked.join(",")}`);
    if (freq.value === "MONTHLY") rule.push(`BYMONTHDAY=${Number(start.value.slice(8, 10))}`);
    if (count.value) rule.push(`COUNT=${Number(count.value)}`);
    else if (until.value) rule.push(`UNTIL=${until.value.replaceAll("-", "")}`);
    const time = start.value.slice(10); // "T14:00": exceptions are occurrences' start times
    const ex = exdates.value.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
      const [d, mo, y] = s.split("/");
      if (!y || !/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(mo) || !/^\d{4}$/.test(y)) throw new Error(t(TEXTS, "badExdate") + s);
      return fromLocalInput(`${y}-${mo.padStart(2, "0")}-${d.padStart(2, "0")}${time}`);
    });
    return { rrule: rule.join(";"), exdates: ex };
  }

  function draft() {
    return {
      title: title.value.trim(),
      agenda: [...agenda.querySelectorAll("input")].map((i) => i.value.trim()).filter(Boolean),
      organizer,
      chair: chair.value || null,
      location: location.value.trim(),
      starts_at: fromLocalInput(start.value),
      ends_at: fromLocalInput(end.value),
      urgent: m?.urgent ?? false,
      participants: picker.selectors(),
      recurrence: recurrence(),
      record: record.checked,
    };
  }

  async function save() {
    error.replaceChildren();
    info.replaceChildren();
    let body;
    try {
      body = draft();
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    if (!body.title || !start.value || !end.value || body.participants.length === 0) {
      error.textContent = t(TEXTS, "needFields");
      return;
    }
    try {
      const out = existing
        ? await api("PUT", `/meetings/${m.id}`, { version, meeting: body })
        : await api("POST", "/meetings", body);
      version = out.meeting.version;
      info.append(el("p", { class: "ok" }, `${t(TEXTS, "saved")} ${out.invited}`));
      if (out.conflicts.length) {
        info.append(el("p", { class: "wait" }, t(TEXTS, "conflicts")), el("ul", { class: "conflicts" },
          ...out.conflicts.map((c) => el("li", {}, `${c.unit}: ${c.other_title} (${fmtTime(c.starts_at)})`))));
      }
      onSaved?.(out);
      if (!out.conflicts.length) setTimeout(close, 800);
    } catch (e) {
      if (e.status !== 409) {
        error.textContent = e.message;
        return;
      }
      const current = await api("GET", `/meetings/${m.id}`);
      error.append(el("p", {}, t(TEXTS, "stale").replace("{v}", current.meeting.version)),
        el("button", { type: "button", id: "mf-reload", onclick: async () => { close(); await openMeetingForm({ user, existing: current, onSaved }); } }, t(TEXTS, "reload")), " ",
        el("button", { type: "button", id: "mf-overwrite", onclick: () => { version = current.meeting.version; save(); } }, t(TEXTS, "overwrite")));
    }
  }
  form.onsubmit = (ev) => { ev.preventDefault(); save(); };
  dialog.showModal();
  title.focus();
}
