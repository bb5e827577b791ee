// The unit dashboard's "Nhiệm vụ" section: tasks the unit leads or supports (overdue
// ones highlighted, the lead unit sets the status) and, for the office, the status of
// every unit's tasks.
import { api, el, t } from "../sched/common.js";
import { TEXTS } from "./texts.js";

const vnDate = (iso) => iso.split("-").reverse().join("/");

function status(task, onChange) {
  if (!task.lead) return t(TEXTS, task.overdue ? "overdue" : task.status);
  const s = el("select", { "data-task": task.id }, ...["open", "in_progress", "done"].map((k) => el("option", { value: k }, t(TEXTS, k))));
  s.value = task.status;
  s.onchange = async () => {
    await api("PUT", `/tasks/${task.id}/status`, { status: s.value }).catch((e) => alert(e.message));
    onChange();
  };
  return s;
}

/** A card listing the unit's tasks; with `office`, the per-unit status table below. */
export function tasksSection(unit, office) {
  const card = el("section", { class: "card", id: "tasks-card" }, el("h2", {}, t(TEXTS, "tasks")));
  const list = el("tbody", { id: "task-list" });
  const table = el("table", { class: "mn-tasks" }, el("thead", {}, el("tr", {},
    ...["taskTitle", "meeting", "lead", "deadline", "status"].map((k) => el("th", {}, t(TEXTS, k))))), list);
  const empty = el("p", { class: "muted" }, t(TEXTS, "noTasks"));
  card.append(table, empty);
  const statusBox = el("div", { id: "task-status" });
  if (office) card.append(statusBox);

  async function refresh() {
    const tasks = await api("GET", `/units/${unit}/tasks`).catch(() => []);
    list.replaceChildren(...tasks.map((task) => el("tr", { class: task.overdue ? "overdue" : "", "data-task": task.id },
      el("td", {}, task.title),
      el("td", {}, el("a", { href: `/static/minutes.html?id=${task.meeting}` }, task.meeting_title)),
      el("td", {}, task.lead_unit_name), el("td", {}, vnDate(task.deadline)),
      el("td", {}, status(task, refresh), task.overdue && task.lead ? ` ${t(TEXTS, "overdue")}` : ""))));
    empty.hidden = tasks.length > 0;
    if (!office) return;
    const rows = await api("GET", `/units/${unit}/task-status`).catch(() => []);
    statusBox.replaceChildren(el("h3", {}, t(TEXTS, "statusTable")), el("table", {},
      el("thead", {}, el("tr", {}, ...["unit", "open", "in_progress", "done", "overdue"].map((k) => el("th", {}, t(TEXTS, k))))),
      el("tbody", {}, ...rows.map((r) => el("tr", { class: r.overdue ? "overdue" : "", "data-unit": r.unit },
        el("td", {}, r.unit_name), el("td", {}, String(r.open)), el("td", {}, String(r.in_progress)),
        el("td", {}, String(r.done)), el("td", {}, String(r.overdue)))))));
  }
  refresh();
  return card;
}
