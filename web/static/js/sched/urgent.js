// The office's urgent call: subject, start (now or in 15/30/60 minutes), place, an
// optional document and the units. "Họp khẩn" first asks the server what the call would
// do (the count and first names of the units, the start: nothing saved) and shows it for
// confirmation; only "Triệu tập" sends the call. Then the page says that the call went
// out and scrolls to the acknowledgement table, which follows the units' answers live
// (the organizer's events stream, with a slow poll as a fallback); the document goes up
// afterwards with its progress shown.
import { api, el, fmtSize, fmtTime, t } from "./common.js";
import { hm } from "./alerts.js";
import { uploadDocument } from "./documents.js";
import { unitPicker } from "./picker.js";

export const URGENT_TEXTS = {
  vi: { startLabel: "Bắt đầu", startNow: "Ngay bây giờ", start15: "Sau 15 phút", start30: "Sau 30 phút", start60: "Sau 60 phút",
        place: "Địa điểm", docLabel: "Tài liệu gửi kèm (không bắt buộc)",
        confirmTitle: "Triệu tập {n} đơn vị?", others: "và {n} đơn vị khác", startsNow: "Bắt đầu: ngay bây giờ ({hm})",
        startsAt: "Bắt đầu: {hm} (sau {d} phút)", placeIs: "Địa điểm: {place}", noPlace: "Địa điểm: chưa ghi",
        docIs: "Tài liệu: {name} ({size})", confirm: "Triệu tập", back: "Quay lại",
        done: "Đã triệu tập {n} đơn vị lúc {at}. Cuộc họp bắt đầu lúc {start}. Các đơn vị xác nhận sẽ hiện ngay trong bảng dưới đây.",
        uploading: "Đang tải tài liệu lên {p}%", uploaded: "Đã gửi kèm tài liệu {name}.",
        uploadFailed: "Cuộc họp đã được triệu tập nhưng tài liệu chưa tải lên được: {msg} Hãy tải lại trong phần chi tiết cuộc họp.",
        ok: "Đã nhận", wait: "Chưa xác nhận", summary: "{a}/{n} đơn vị đã xác nhận",
        needTitle: "Nhập nội dung và chọn ít nhất một đơn vị.", busy: "Đang gửi…" },
  en: { startLabel: "Starts", startNow: "Now", start15: "In 15 minutes", start30: "In 30 minutes", start60: "In 60 minutes",
        place: "Place", docLabel: "Attached document (optional)",
        confirmTitle: "Summon {n} units?", others: "and {n} other units", startsNow: "Starts: now ({hm})",
        startsAt: "Starts: {hm} (in {d} minutes)", placeIs: "Place: {place}", noPlace: "Place: not given",
        docIs: "Document: {name} ({size})", confirm: "Summon", back: "Go back",
        done: "{n} units summoned at {at}. The meeting starts at {start}. Acknowledgements appear in the table below as they come in.",
        uploading: "Uploading the document {p}%", uploaded: "Document {name} attached.",
        uploadFailed: "The meeting was called but the document did not upload: {msg} Upload it again from the meeting's details.",
        ok: "Acknowledged", wait: "Not yet", summary: "{a} of {n} units acknowledged",
        needTitle: "Enter a subject and pick at least one unit.", busy: "Sending…" },
};

function tx(key, params = {}) {
  return t(URGENT_TEXTS, key).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

const $ = (id) => document.getElementById(id);

/** Wires the urgent card of the schedule page for `user`; `onCalled` runs after a call. */
export function urgentCard({ user, onCalled }) {
  const picker = unitPicker($("urgent-picker"), user.unit);
  let watching = null;

  async function showAcks() {
    if (!watching) return;
    const view = await api("GET", `/meetings/${watching}`);
    // The organizer's own unit is not asked to acknowledge: only the summoned units count.
    const invs = view.invitations.filter((i) => i.unit !== view.meeting.organizer);
    const done = invs.filter((i) => i.acknowledged_at).length;
    $("acks-summary").textContent = tx("summary", { a: done, n: invs.length });
    $("acks").replaceChildren(...invs.map((inv) => el("tr", { "data-unit": inv.unit },
      el("td", {}, inv.unit_name),
      el("td", { class: inv.acknowledged_at ? "ok" : "wait" }, inv.acknowledged_at ? `${tx("ok")} ${fmtTime(inv.acknowledged_at)}` : tx("wait")))));
    $("acks-card").hidden = false;
  }
  // Acknowledgements arrive on the organizer's stream at once; the poll covers a stream
  // that dropped.
  const events = new EventSource(`/api/units/${user.unit}/events`);
  events.addEventListener("meeting", (m) => {
    const ev = JSON.parse(m.data);
    if (ev.kind === "acknowledged" && ev.meeting === watching) showAcks().catch(() => {});
  });
  events.onopen = () => (document.body.dataset.live = "true");
  setInterval(() => showAcks().catch(() => {}), 5000);

  function request() {
    return {
      title: $("title").value.trim(),
      organizer: user.unit,
      participants: picker.selectors(),
      delay_minutes: Number($("urgent-start").value),
      location: $("urgent-location").value.trim(),
    };
  }

  /** The confirmation dialog; resolves true when the office confirms. */
  function confirmCall(preview, body, file) {
    const others = preview.count - preview.names.length;
    const delay = body.delay_minutes;
    const dialog = el("dialog", { id: "urgent-confirm", "aria-labelledby": "urgent-confirm-title" },
      el("h2", { id: "urgent-confirm-title", class: "count" }, tx("confirmTitle", { n: preview.count })),
      el("ul", { class: "confirm-list", id: "urgent-confirm-names" },
        ...preview.names.map((n) => el("li", {}, n)),
        ...(others > 0 ? [el("li", { class: "muted", id: "urgent-confirm-others" }, tx("others", { n: others }))] : [])),
      el("p", {}, el("strong", {}, body.title)),
      el("p", { id: "urgent-confirm-start" }, delay === 0 ? tx("startsNow", { hm: hm(preview.starts_at) })
        : tx("startsAt", { hm: hm(preview.starts_at), d: delay })),
      el("p", {}, body.location ? tx("placeIs", { place: body.location }) : tx("noPlace")),
      ...(file ? [el("p", {}, tx("docIs", { name: file.name, size: fmtSize(file.size) }))] : []));
    return new Promise((resolve) => {
      const finish = (yes) => { dialog.close(); dialog.remove(); resolve(yes); };
      dialog.append(el("div", { class: "actions" },
        el("button", { type: "button", class: "urgent", id: "urgent-confirm-yes", onclick: () => finish(true) }, tx("confirm")),
        el("button", { type: "button", id: "urgent-confirm-no", onclick: () => finish(false) }, tx("back"))));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); });
      document.body.append(dialog);
      dialog.showModal();
      $("urgent-confirm-no").focus(); // Enter alone must not summon 207 units
    });
  }

  async function upload(id, file) {
    $("urgent-upload").hidden = false;
    $("urgent-upload-error").textContent = "";
    try {
      await uploadDocument(id, file, (p) => {
        $("urgent-progress").value = p;
        $("urgent-pct").textContent = tx("uploading", { p });
      });
      $("urgent-pct").textContent = tx("uploaded", { name: file.name });
    } catch (e) {
      $("urgent-upload").hidden = true;
      $("urgent-upload-error").textContent = tx("uploadFailed", { msg: e.message });
    }
  }

  const button = $("urgent");
  button.onclick = async () => {
    const error = $("error");
    error.textContent = "";
    const body = request();
    const file = $("urgent-file").files[0] ?? null;
    if (!body.title || body.participants.length === 0) {
      error.textContent = tx("needTitle");
      return;
    }
    const label = button.textContent;
    button.disabled = true;
    try {
      const preview = await api("POST", "/meetings/urgent/preview", body);
      if (!(await confirmCall(preview, body, file))) return;
      button.textContent = tx("busy");
      const out = await api("POST", "/meetings/urgent", body);
      document.body.dataset.calledAt = String(Date.now());
      watching = out.meeting.id;
      $("acks-card").dataset.meeting = watching;
      // `invited` counts the organizer's own unit, which is not summoned.
      $("urgent-done").textContent = tx("done", { n: out.invited - 1, at: hm(new Date().toISOString()), start: hm(out.meeting.starts_at) });
      $("urgent-upload").hidden = true;
      $("urgent-upload-error").textContent = "";
      await showAcks();
      $("acks-card").scrollIntoView({ block: "start" });
      picker.clear();
      $("title").value = "";
      $("urgent-location").value = "";
      $("urgent-file").value = "";
      $("urgent-start").value = "0";
      onCalled?.();
      if (file) await upload(watching, file);
    } catch (e) {
      error.textContent = e.message;
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  };
}
