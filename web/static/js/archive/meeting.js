// One past meeting's file: the attendance table (absent units marked) and every download
// (documents, recordings, minutes exports, the attendance CSV, the whole file as ZIP).
import { api, el, fmtTime, pad2, t, vnParts } from "../sched/common.js";
import { downloadItem } from "./download.js";
import { TEXTS } from "./texts.js";

function clock(iso) {
  const p = vnParts(iso);
  return `${pad2(p.h)}:${pad2(p.min)}`;
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const key = h ? "hm" : m ? "ms" : "s";
  return t(TEXTS, key).replace("{h}", h).replace("{m}", m).replace("{s}", s);
}

function periodText(p) {
  const end = p.ongoing ? t(TEXTS, "ongoing") : clock(p.left_at);
  return `${clock(p.joined_at)}–${end}`;
}

function attendanceRow(a) {
  return el("tr", { "data-unit": a.unit, class: a.present ? "present" : "absent" },
    el("td", { class: "uname" }, a.unit_name),
    el("td", { class: "state" }, a.present ? a.periods.map(periodText).join(", ") : t(TEXTS, "absent")),
    el("td", {}, a.present ? duration(a.connected_seconds) : "—"),
    el("td", {}, a.present ? duration(a.speaking_seconds) : "—"));
}

/** The meeting's recordings; a server without recording answers an error: none listed. */
async function optionalList(path) {
  try {
    const v = await api("GET", path);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** The saved minutes and notice as files (nothing for one never saved: a pre-filled draft
 *  is not part of the meeting's file). */
async function exportItems(id) {
  const items = [];
  for (const [doc, label] of [["minutes", "minutes"], ["notice", "notice"]]) {
    const rec = await api("GET", `/meetings/${id}/${doc}`).catch(() => null);
    if (!rec?.meta?.version) continue;
    const exts = ["pdf", "docx", "edxml"];
    if (doc === "minutes" && rec.meta.signed_at) exts.unshift("signed.pdf");
    for (const ext of exts) {
      items.push(downloadItem({ kind: doc, label: `${t(TEXTS, label)} (${ext === "signed.pdf" ? t(TEXTS, "signed") : ext.toUpperCase()})`,
        url: `/api/meetings/${id}/${doc}.${ext}`, name: `${doc}.${ext}` }));
    }
  }
  return items;
}

export async function showMeeting(id) {
  document.getElementById("search-view").hidden = true;
  document.getElementById("meeting-view").hidden = false;
  const error = document.getElementById("m-error");
  try {
    const view = await api("GET", `/meetings/${id}`);
    const m = view.meeting;
    document.getElementById("m-title").textContent = `${m.cancelled ? t(TEXTS, "cancelled") + ": " : ""}${m.title}`;
    document.getElementById("m-when").textContent = `${fmtTime(m.starts_at)} – ${fmtTime(m.ends_at)} · ${m.location || ""}`;
    document.title = `${m.title} — ${t(TEXTS, "app")}`;

    const att = await api("GET", `/meetings/${id}/attendance`);
    const present = att.filter((a) => a.present).length;
    document.getElementById("att-summary").textContent =
      t(TEXTS, "present").replace("{p}", present).replace("{n}", att.length);
    document.getElementById("att-rows").replaceChildren(...att.map(attendanceRow));

    const docs = await api("GET", `/meetings/${id}/documents`);
    const recordings = await optionalList(`/meetings/${id}/recordings`);
    const items = [
      ...docs.map((d) => downloadItem({ kind: "document", label: `${t(TEXTS, "document")}: ${d.filename}`,
        url: `/api/meetings/${id}/documents/${d.id}`, name: d.filename, size: d.size })),
      ...recordings.map((r) => downloadItem({ kind: "recording", label: `${t(TEXTS, "recording")}: ${r.filename}`,
        url: `/api/meetings/${id}/recordings/${r.id}`, name: r.filename, size: r.size })),
      downloadItem({ kind: "csv", label: t(TEXTS, "csv"), url: `/api/meetings/${id}/attendance.csv`, name: "diem-danh.csv" }),
      downloadItem({ kind: "zip", label: t(TEXTS, "zip"), url: `/api/meetings/${id}/archive.zip`, name: "ho-so-cuoc-hop.zip" }),
    ];
    items.splice(items.length - 2, 0, ...(await exportItems(id)));
    document.getElementById("downloads").replaceChildren(...items);
  } catch (e) {
    error.textContent = e.message;
  }
}
