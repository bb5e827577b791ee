// One meeting for the secretary: its data, who has acknowledged (refreshed while open),
// the organizer's join link, .ics, documents, edit and cancel.
import { api, el, fmtTime, t } from "./common.js";
import { documentsPanel } from "./documents.js";
import { openMeetingForm } from "./form.js";

const TEXTS = {
  vi: { when: "Thời gian", location: "Địa điểm", chair: "Chủ trì", agenda: "Chương trình", repeat: "Lặp lại", units: "Đơn vị được mời",
        acked: "Đã nhận", waiting: "Chưa xác nhận", edit: "Sửa", cancelMeeting: "Hủy cuộc họp", join: "Vào phòng họp",
        ics: "Lịch (.ics)", close: "Đóng", confirmCancel: "Hủy cuộc họp này? Các đơn vị sẽ được báo.", cancelled: "ĐÃ HỦY",
        summary: "{a}/{n} đơn vị đã xác nhận", urgent: "HỌP KHẨN", file: "Hồ sơ cuộc họp", minutes: "Biên bản" },
  en: { when: "When", location: "Location", chair: "Chair", agenda: "Agenda", repeat: "Repeats", units: "Invited units",
        acked: "Acknowledged", waiting: "Not yet", edit: "Edit", cancelMeeting: "Cancel meeting", join: "Open the room",
        ics: "Calendar (.ics)", close: "Close", confirmCancel: "Cancel this meeting? The units will be told.", cancelled: "CANCELLED",
        summary: "{a} of {n} units acknowledged", urgent: "URGENT", file: "Meeting file", minutes: "Minutes" },
};

/** Opens the detail dialog of meeting `id`; `onChanged` runs after an edit or cancel. */
export async function openMeetingDetail({ id, user, onChanged }) {
  const view = await api("GET", `/meetings/${id}`);
  const m = view.meeting;
  const chairs = m.chair ? await api("GET", `/units/${m.organizer}/chairs`).catch(() => []) : [];
  const chairName = chairs.find((c) => c.id === m.chair)?.display_name ?? "—";
  const dialog = el("dialog", { class: "meeting-detail", "data-meeting": id });
  document.body.append(dialog);
  let timer = null;
  const close = () => { clearInterval(timer); dialog.close(); dialog.remove(); };
  dialog.addEventListener("close", () => clearInterval(timer));

  const summary = el("p", { id: "md-summary" });
  const acks = el("tbody", { id: "md-acks" });
  function renderAcks(invitations) {
    const done = invitations.filter((i) => i.acknowledged_at).length;
    summary.textContent = t(TEXTS, "summary").replace("{a}", done).replace("{n}", invitations.length);
    acks.replaceChildren(...invitations.map((i) => el("tr", { "data-unit": i.unit },
      el("td", {}, i.unit_name),
      el("td", { class: i.acknowledged_at ? "ok" : "wait" },
        i.acknowledged_at ? `${t(TEXTS, "acked")} ${fmtTime(i.acknowledged_at)}` : t(TEXTS, "waiting")))));
  }
  renderAcks(view.invitations);
  timer = setInterval(async () => {
    const fresh = await api("GET", `/meetings/${id}`).catch(() => null);
    if (fresh) renderAcks(fresh.invitations);
  }, 2000);

  const manage = !m.cancelled;
  const actions = el("div", { class: "actions" });
  if (manage) {
    actions.append(
      el("button", { type: "button", id: "md-edit", onclick: async () => {
        close();
        await openMeetingForm({ user, existing: await api("GET", `/meetings/${id}`), onSaved: onChanged });
      } }, t(TEXTS, "edit")),
      el("button", { type: "button", id: "md-cancel", class: "danger", onclick: async () => {
        if (!confirm(t(TEXTS, "confirmCancel"))) return;
        const cur = await api("GET", `/meetings/${id}`);
        await api("POST", `/meetings/${id}/cancel`, { version: cur.meeting.version });
        close();
        onChanged?.();
      } }, t(TEXTS, "cancelMeeting")),
      el("button", { type: "button", class: "primary", id: "md-join", onclick: async () => {
        const r = await api("GET", `/meetings/${id}/join/${m.organizer}`);
        window.open(r.url, "_blank", "noopener");
      } }, t(TEXTS, "join")));
  }
  actions.append(el("a", { href: `/api/meetings/${id}/ics?unit=${m.organizer}`, download: "" }, t(TEXTS, "ics")), " ",
    el("a", { href: `/static/archive.html?id=${id}`, id: "md-file" }, t(TEXTS, "file")), " ",
    el("a", { href: `/static/minutes.html?id=${id}`, id: "md-minutes" }, t(TEXTS, "minutes")), " ",
    el("button", { type: "button", onclick: close }, t(TEXTS, "close")));

  dialog.append(
    el("h2", {}, m.cancelled ? `${t(TEXTS, "cancelled")}: ` : "", m.urgent ? `${t(TEXTS, "urgent")}: ` : "", m.title),
    el("dl", {},
      el("dt", {}, t(TEXTS, "when")), el("dd", {}, `${fmtTime(m.starts_at)} – ${fmtTime(m.ends_at)}`),
      el("dt", {}, t(TEXTS, "location")), el("dd", {}, m.location || "—"),
      el("dt", {}, t(TEXTS, "chair")), el("dd", { id: "md-chair" }, chairName),
      ...(m.recurrence ? [el("dt", {}, t(TEXTS, "repeat")), el("dd", {}, `${m.recurrence.rrule} (${view.occurrences.length})`)] : []),
      el("dt", {}, t(TEXTS, "agenda")), el("dd", {}, el("ol", {}, ...m.agenda.map((a) => el("li", {}, a))))),
    documentsPanel(id, { canUpload: manage }),
    el("h3", {}, t(TEXTS, "units")), summary, el("table", {}, acks),
    actions);
  dialog.showModal();
}
