// What every reader sees: the number and state, download buttons, the versions list,
// and the final minutes as read-only text.
import { el, t, fmtTime, pad2 } from "../sched/common.js";
import { TEXTS } from "./texts.js";

export function numberText(meta, abbrev, kind) {
  const n = meta.number;
  return n ? `${pad2(n.seq)}/${kind}-${abbrev}` : "";
}

/** Download links for `doc` ("minutes" or "notice") of meeting `id`. */
export function downloads(id, doc, meta) {
  const base = `/api/meetings/${id}/${doc}`;
  const links = [["pdf", `${base}.pdf`], ["docx", `${base}.docx`], ["edxml", `${base}.edxml`]];
  if (meta.signed_at) links.push(["signed", `${base}.signed.pdf`]);
  return el("div", { class: "mn-downloads" }, ...links.map(([k, href]) =>
    el("a", { href, download: "", "data-download": k }, t(TEXTS, k))));
}

/** The versions list; `onRestore(version)` when the editor may load one back. */
export function versionsList(list, onRestore) {
  if (!list.length) return el("p", { class: "muted" }, t(TEXTS, "noVersions"));
  return el("ul", { class: "mn-versions", id: "mn-versions" }, ...list.map((v) => el("li", { "data-version": v.version },
    t(TEXTS, "version").replace("{v}", v.version).replace("{who}", v.author).replace("{t}", fmtTime(v.saved_at)), " ",
    onRestore ? el("button", { type: "button", class: "small", onclick: () => onRestore(v.version) }, t(TEXTS, "restore")) : "")));
}

/** "Name, position" with whichever is known; the pen's blank when neither is. */
export function personText(p) {
  return [p.full_name, p.position].map((x) => (x ?? "").trim()).filter(Boolean).join(", ") || t(TEXTS, "noPerson");
}

/** Final minutes as text, in the document's order. */
export function minutesReadOnly(m) {
  const p = (s) => el("p", {}, s);
  return el("div", { class: "mn-read", id: "mn-read" },
    el("h3", {}, m.meeting_title),
    p(`${t(TEXTS, "start")}: ${fmtTime(m.started_at)}`), p(`${t(TEXTS, "location")}: ${m.location.trim() || t(TEXTS, "noPerson")}`),
    el("h3", {}, t(TEXTS, "attendees")),
    el("ul", {}, ...m.attendees.filter((a) => a.present).map((a) => el("li", {}, a.people ? `${a.unit_name}: ${a.people}` : a.unit_name))),
    m.absent_note ? p(`${t(TEXTS, "absent")}: ${m.absent_note}`) : "",
    p(`${t(TEXTS, "chair")}: ${personText(m.chair)}`), p(`${t(TEXTS, "secretary")}: ${personText(m.secretary)}`),
    el("h3", {}, t(TEXTS, "content")),
    ...m.items.flatMap((s) => [el("h4", {}, s.title), ...s.content.map(p)]),
    el("h3", {}, t(TEXTS, "conclusions")), ...m.conclusions.map(p),
    p(`${t(TEXTS, "ended")}: ${fmtTime(m.ended_at)}`));
}
