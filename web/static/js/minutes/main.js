// The minutes page of one meeting (?id=…): the minutes editor with autosave, its
// versions, finalizing, downloads and signing; the conclusion notice in the second tab.
import { api, applyTexts, el, me, t, fmtTime } from "../sched/common.js";
import { TEXTS } from "./texts.js";
import { createSaver } from "./saver.js";
import { minutesEditor } from "./editor.js";
import { downloads, minutesReadOnly, numberText, versionsList } from "./view.js";
import { mountNotice } from "./notice.js";

applyTexts(TEXTS);
const id = new URLSearchParams(location.search).get("id");
const user = await me();
const errorEl = document.getElementById("error");
document.getElementById("who").textContent = user.username;
if (user.role === "site") document.getElementById("back").href = "/static/dashboard.html";

const showError = (e) => (errorEl.textContent = e.message);
const view = await api("GET", `/meetings/${id}`).catch((e) => { showError(e); throw e; });
document.getElementById("meeting-title").textContent = view.meeting.title;
document.title = `${t(TEXTS, "app")} — ${view.meeting.title}`;

/** "Chia sẻ dự thảo cho các đơn vị": the editors' switch over who may read a draft. */
function shareSwitch(doc, meta) {
  const box = el("input", { type: "checkbox", id: `${doc}-share` });
  box.checked = meta.shared;
  box.onchange = async () => {
    try {
      const r = await api("PUT", `/meetings/${id}/${doc}/share`, { shared: box.checked });
      box.checked = r.shared;
    } catch (e) { box.checked = !box.checked; showError(e); }
  };
  return el("p", { class: "mn-share" }, el("label", { for: box.id, class: "inline" }, box, " ", t(TEXTS, "share")),
    el("br"), el("span", { class: "muted" }, t(TEXTS, "shareHint")));
}

/** The header card of a document: number or "draft", state, downloads, actions. */
export function docHeader({ meta, abbrev, kind, doc, actions }) {
  const number = numberText(meta, abbrev, kind);
  return el("div", {},
    el("p", { class: "mn-number", id: `${doc}-number` },
      meta.state === "final" ? `${t(TEXTS, "final")} — ${t(TEXTS, "number").replace("{n}", number)}` : t(TEXTS, "draft")),
    meta.can_edit && meta.state === "draft" ? shareSwitch(doc, meta) : "",
    meta.signed_at ? el("p", { id: "mn-signed" }, t(TEXTS, "signedAt").replace("{t}", fmtTime(meta.signed_at))) : "",
    downloads(id, doc, meta), ...actions);
}

async function mountMinutes(pane) {
  const rec = await api("GET", `/meetings/${id}/minutes`);
  const status = el("span", { class: "mn-status", id: "mn-status", "data-state": "idle" });
  const body = el("section", { class: "card" });
  const versions = el("section", { class: "card" }, el("h3", {}, t(TEXTS, "versions")));
  const actions = [];
  let saver = null;
  let editor = null;

  async function refreshVersions() {
    const list = await api("GET", `/meetings/${id}/minutes/versions`);
    versions.replaceChildren(el("h3", {}, t(TEXTS, "versions")), versionsList(list, rec.meta.can_edit ? restore : null));
  }
  async function restore(v) {
    const old = await api("GET", `/meetings/${id}/minutes/versions/${v}`);
    editor = minutesEditor(body, old, () => saver.touch());
    saver.touch();
  }

  if (rec.meta.can_edit) {
    editor = minutesEditor(body, rec.minutes, () => saver.touch());
    saver = createSaver({
      version: rec.meta.version, statusEl: status, onSaved: refreshVersions,
      save: (version) => api("PUT", `/meetings/${id}/minutes`, { version, minutes: editor.read() }),
    });
    actions.push(status, " ", el("button", { type: "button", class: "primary", id: "mn-finalize", onclick: async () => {
      if (!confirm(t(TEXTS, "confirmFinalize"))) return;
      try {
        const version = await saver.flush();
        await api("POST", `/meetings/${id}/minutes/finalize`, { version });
        saver.stop();
        await mountMinutes(pane);
      } catch (e) { showError(e); }
    } }, t(TEXTS, "finalize")));
  } else {
    body.append(rec.meta.state === "final" ? el("p", { class: "muted" }, t(TEXTS, "readonly")) : "", minutesReadOnly(rec.minutes));
  }
  const office = ["secretary", "administrator", "chair"].includes(user.role);
  if (rec.meta.state === "final" && !rec.meta.signed_at && office) {
    actions.push(el("button", { type: "button", id: "mn-sign", onclick: async () => {
      try {
        await api("POST", `/meetings/${id}/minutes/sign`);
        await mountMinutes(pane);
      } catch (e) { showError(e); }
    } }, t(TEXTS, "sign")));
  }
  const head = el("section", { class: "card" }, docHeader({
    meta: rec.meta, abbrev: rec.minutes.issuer.abbrev, kind: "BB", doc: "minutes", actions }));
  pane.replaceChildren(head, body, versions);
  await refreshVersions();
}

const panes = { minutes: document.getElementById("pane-minutes"), notice: document.getElementById("pane-notice") };
let noticeLoaded = false;
function select(which) {
  for (const [k, p] of Object.entries(panes)) {
    p.hidden = k !== which;
    document.getElementById(`tab-${k}`).setAttribute("aria-selected", String(k === which));
  }
  if (which === "notice" && !noticeLoaded) {
    noticeLoaded = true;
    mountNotice(panes.notice, { id, user, meeting: view.meeting, showError, docHeader }).catch(showError);
  }
}
document.getElementById("tab-minutes").onclick = () => select("minutes");
document.getElementById("tab-notice").onclick = () => select("notice");
await mountMinutes(panes.minutes).catch(showError);
document.body.dataset.ready = "true";
