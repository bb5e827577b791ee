// The conclusion notice tab: its text, the task table (lead and supporting units picked
// with the scheduler's unit picker), autosave, finalize and downloads.
import { api, el, t } from "../sched/common.js";
import { unitPicker } from "../sched/picker.js";
import { TEXTS } from "./texts.js";
import { createSaver } from "./saver.js";
import { versionsList } from "./view.js";

const lines = (s) => s.split("\n").map((x) => x.trim()).filter(Boolean);
const names = new Map();
async function unitName(code) {
  if (!names.has(code)) names.set(code, api("GET", `/units/${code}`).then((u) => u.name).catch(() => code));
  return names.get(code);
}

function area(value, key) {
  const a = el("textarea", { "data-field": key, id: `tb-${key}` });
  a.value = value ?? "";
  return el("div", {}, el("label", { for: a.id }, t(TEXTS, key)), a);
}

/** A one-line labelled box (the signer's name and position). */
function line(value, key) {
  const i = el("input", { type: "text", "data-field": key, id: `tb-${key}` });
  i.value = value ?? "";
  return el("div", {}, el("label", { for: i.id }, t(TEXTS, key)), i);
}

/** Asks for one task in a dialog; resolves with it or null. */
function askTask(rootCode, minDate) {
  return new Promise((resolve) => {
    const title = el("textarea", { id: "task-title" });
    const deadline = el("input", { type: "date", id: "task-deadline", min: minDate });
    const leadBox = el("div", { class: "picker", id: "task-lead" });
    const supBox = el("div", { class: "picker", id: "task-support" });
    const err = el("p", { class: "error", role: "alert" });
    const dialog = el("dialog", { class: "task-dialog" });
    const lead = unitPicker(leadBox, rootCode);
    const support = unitPicker(supBox, rootCode);
    const codes = (p) => p.selectors().filter((s) => s.type === "unit").map((s) => s.code);
    const done = (v) => { dialog.close(); dialog.remove(); resolve(v); };
    dialog.append(el("h2", {}, t(TEXTS, "addTask")),
      el("label", {}, t(TEXTS, "taskTitle")), title, el("label", {}, t(TEXTS, "deadline")), deadline,
      el("label", {}, t(TEXTS, "lead")), leadBox, el("label", {}, t(TEXTS, "support")), supBox, err,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary", id: "task-add", onclick: () => {
          if (!title.value.trim() || !deadline.value) { err.textContent = t(TEXTS, "needTitle"); return; }
          if (codes(lead).length !== 1) { err.textContent = t(TEXTS, "pickLead"); return; }
          done({ title: title.value.trim(), lead_unit: codes(lead)[0], supporting_units: codes(support),
                 deadline: deadline.value, status: "open" });
        } }, t(TEXTS, "add")),
        el("button", { type: "button", onclick: () => done(null) }, t(TEXTS, "cancel"))));
    document.body.append(dialog);
    dialog.showModal();
  });
}

function statusSelect(value, onChange) {
  const s = el("select", { "data-field": "status" }, ...["open", "in_progress", "done"].map((k) =>
    el("option", { value: k }, t(TEXTS, k))));
  s.value = value;
  s.onchange = () => onChange(s.value);
  return s;
}

async function taskTable(tasks, editable, onEdit) {
  const rows = await Promise.all(tasks.map(async (task, i) => el("tr", { "data-task": task.id ?? `new-${i}` },
    el("td", {}, String(i + 1)), el("td", {}, task.title), el("td", {}, await unitName(task.lead_unit)),
    el("td", {}, (await Promise.all(task.supporting_units.map(unitName))).join(", ")),
    el("td", {}, task.deadline.split("-").reverse().join("/")),
    el("td", {}, editable ? statusSelect(task.status, (v) => { task.status = v; onEdit(); }) : t(TEXTS, task.status)),
    el("td", {}, editable ? el("button", { type: "button", class: "small", onclick: () => {
      tasks.splice(i, 1); onEdit(true);
    } }, t(TEXTS, "removeTask")) : ""))));
  return el("table", { class: "mn-tasks", id: "mn-tasks" },
    el("thead", {}, el("tr", {}, ...["#", "taskTitle", "lead", "support", "deadline", "status", ""].map((k) =>
      el("th", {}, k.length > 1 ? t(TEXTS, k) : k)))),
    el("tbody", {}, ...rows));
}

/** Mounts the notice tab for meeting `id`. */
export async function mountNotice(pane, { id, meeting, showError, docHeader }) {
  const rec = await api("GET", `/meetings/${id}/notice`);
  const doc = rec.doc;
  const n = doc.notice;
  const editable = rec.meta.can_edit;
  const status = el("span", { class: "mn-status", id: "tb-status", "data-state": "idle" });
  const tasksBox = el("div");
  const actions = [];
  let saver = null;

  const fields = {
    subject: area(n.subject, "subject"), body: area(n.body.join("\n"), "body"),
    recipients: area(n.recipients.join("\n"), "recipients"),
    signerName: line(n.signer.full_name, "signerName"), signerPosition: line(n.signer.position, "signerPosition"),
    competence: area(n.competence, "competence"),
  };
  const value = (k) => fields[k].querySelector("textarea, input").value.trim();
  const read = () => ({ ...doc, notice: { ...n, subject: value("subject"), body: lines(value("body")),
    recipients: lines(value("recipients")),
    signer: { full_name: value("signerName"), position: value("signerPosition") },
    competence: value("competence") || null } });
  // The notice announces the minutes' conclusions: a new notice starts from them (the
  // server pre-fills it), and this takes them again after the minutes changed.
  const fromMinutes = el("button", { type: "button", class: "small", id: "tb-from-minutes", onclick: async () => {
    try {
      const m = await api("GET", `/meetings/${id}/minutes`);
      fields.body.querySelector("textarea").value = m.minutes.conclusions.join("\n");
      saver.touch();
    } catch (e) { showError(e); }
  } }, t(TEXTS, "fromMinutes"));

  async function drawTasks() {
    tasksBox.replaceChildren(el("h3", {}, t(TEXTS, "tasks")),
      doc.tasks.length ? await taskTable(doc.tasks, editable, (redraw) => { saver.touch(); if (redraw) drawTasks(); })
                       : el("p", { class: "muted" }, t(TEXTS, "noTasks")),
      editable ? el("button", { type: "button", id: "tb-add-task", onclick: async () => {
        const minDate = meeting.starts_at ? new Date(new Date(meeting.starts_at).getTime() + 7 * 3600e3).toISOString().slice(0, 10) : "";
        const task = await askTask(meeting.organizer, minDate);
        if (task) { doc.tasks.push(task); saver.touch(); drawTasks(); }
      } }, t(TEXTS, "addTask")) : "");
  }

  const form = el("section", { class: "card mn-form" });
  if (editable) {
    for (const f of Object.values(fields)) form.append(f);
    fields.body.append(fromMinutes);
    form.addEventListener("input", () => saver.touch());
    saver = createSaver({
      version: rec.meta.version, statusEl: status,
      onSaved: async (saved) => {
        // Keep the ids the server gave new tasks, so later saves update rather than re-create.
        saved.doc.tasks.forEach((s, i) => { if (doc.tasks[i]) doc.tasks[i].id = s.id; });
        versions.replaceChildren(el("h3", {}, t(TEXTS, "versions")),
          versionsList(await api("GET", `/meetings/${id}/notice/versions`), null));
      },
      save: (version) => api("PUT", `/meetings/${id}/notice`, { version, doc: read() }),
    });
    actions.push(status, " ", el("button", { type: "button", class: "primary", id: "tb-finalize", onclick: async () => {
      if (!confirm(t(TEXTS, "confirmFinalize"))) return;
      try {
        const version = await saver.flush();
        await api("POST", `/meetings/${id}/notice/finalize`, { version });
        saver.stop();
        await mountNotice(pane, { id, meeting, showError, docHeader });
      } catch (e) { showError(e); }
    } }, t(TEXTS, "finalize")));
  } else {
    form.append(...n.body.map((p) => el("p", {}, p)));
  }
  form.append(tasksBox);
  const versions = el("section", { class: "card" }, el("h3", {}, t(TEXTS, "versions")),
    versionsList(await api("GET", `/meetings/${id}/notice/versions`), null));
  const head = el("section", { class: "card" }, docHeader({ meta: rec.meta, abbrev: n.issuer.abbrev, kind: "TB", doc: "notice", actions }));
  pane.replaceChildren(head, form, versions);
  await drawTasks();
}
