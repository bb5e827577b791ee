// The minutes (form 1.9) as an editable form, in the document's order: header,
// time and place, attendance, chair and secretary, proceedings by agenda item,
// conclusions, end time. `read()` gives the Minutes back with the edits applied.
import { el, t, toLocalInput, fromLocalInput } from "../sched/common.js";
import { TEXTS } from "./texts.js";

const lines = (s) => s.split("\n").map((x) => x.trim()).filter(Boolean);

function field(key, input) {
  input.dataset.field = key;
  return el("div", {}, el("label", {}, t(TEXTS, key)), input);
}

/** One labelled box of a person (name or position), the label tied to the box. */
function labelled(key, input, id) {
  input.id = id;
  return el("div", {}, el("label", { for: id }, t(TEXTS, key)), input);
}

/** The chair's or the secretary's two boxes under their role, each with its label. */
function personBox(roleKey, prefix, name, position) {
  return el("fieldset", { class: "mn-person", id: `${prefix}-person` },
    el("legend", {}, t(TEXTS, roleKey)),
    el("div", { class: "pair" }, labelled("name", name, `${prefix}-name`), labelled("position", position, `${prefix}-position`)),
    el("p", { class: "muted" }, t(TEXTS, "personHint")));
}

function text(value, attrs = {}) {
  const i = el("input", { type: "text", ...attrs });
  i.value = value ?? "";
  return i;
}

function area(value, attrs = {}) {
  const a = el("textarea", attrs);
  a.value = value ?? "";
  return a;
}

/** Mounts the editor for minutes `m` in `root`; `onEdit` runs on every change. */
export function minutesEditor(root, m, onEdit) {
  const f = {
    issuer: text(m.issuer.name), abbrev: text(m.issuer.abbrev), place: text(m.issuer.place_name),
    title: text(m.meeting_title), location: text(m.location),
    start: el("input", { type: "datetime-local" }), end: el("input", { type: "datetime-local" }),
    chairName: text(m.chair.full_name), chairPos: text(m.chair.position),
    secName: text(m.secretary.full_name), secPos: text(m.secretary.position),
    absent: area(m.absent_note), conclusions: area(m.conclusions.join("\n"), { id: "mn-conclusions" }),
  };
  f.start.value = toLocalInput(m.started_at);
  f.end.value = toLocalInput(m.ended_at);

  const attendees = m.attendees.map((a) => ({ a, people: text(a.people), present: Object.assign(
    el("input", { type: "checkbox" }), { checked: a.present }) }));
  const attendeeRows = el("tbody", {}, ...attendees.map(({ a, people, present }) =>
    el("tr", { "data-unit": a.unit_name }, el("td", {}, a.unit_name), el("td", {}, people), el("td", {}, present))));
  // Ticked from the roll call (the units whose hall connected); one tick for all when a
  // province-wide meeting invites 200 units. The box shows "some" when only some are.
  const all = el("input", { type: "checkbox", id: "mn-present-all" });
  const count = el("span", { id: "mn-present-count", class: "muted" });
  function syncAll() {
    const n = attendees.filter((x) => x.present.checked).length;
    all.checked = n > 0 && n === attendees.length;
    all.indeterminate = n > 0 && n < attendees.length;
    count.textContent = t(TEXTS, "presentCount").replace("{n}", n).replace("{total}", attendees.length);
  }
  all.onchange = () => { for (const x of attendees) x.present.checked = all.checked; syncAll(); };
  for (const x of attendees) x.present.addEventListener("change", syncAll);
  syncAll();

  const items = [];
  const itemBox = el("div", { id: "mn-items" });
  function addItem(s) {
    const row = { title: text(s.title), body: area(s.content.join("\n")) };
    const box = el("fieldset", { class: "mn-item" }, el("legend", {}, t(TEXTS, "item")), row.title, row.body,
      el("button", { type: "button", class: "small", onclick: () => {
        items.splice(items.indexOf(row), 1); box.remove(); onEdit();
      } }, t(TEXTS, "removeItem")));
    items.push(row);
    itemBox.append(box);
  }
  m.items.forEach(addItem);

  const form = el("div", { class: "mn-form" },
    el("div", { class: "pair" }, field("issuer", f.issuer), field("abbrev", f.abbrev)),
    field("place", f.place), field("title", f.title),
    el("div", { class: "pair" }, field("start", f.start), field("end", f.end)),
    field("location", f.location),
    el("label", {}, t(TEXTS, "attendees")),
    el("p", {}, el("label", { for: "mn-present-all", class: "inline" }, all, " ", t(TEXTS, "selectAll")), " ", count),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, t(TEXTS, "unit")), el("th", {}, t(TEXTS, "people")),
      el("th", {}, t(TEXTS, "present")))), attendeeRows),
    field("absent", f.absent),
    personBox("chair", "mn-chair", f.chairName, f.chairPos),
    personBox("secretary", "mn-secretary", f.secName, f.secPos),
    el("label", {}, t(TEXTS, "content")), el("p", { class: "muted" }, t(TEXTS, "itemHint")), itemBox,
    el("button", { type: "button", onclick: () => { addItem({ title: "", content: [] }); onEdit(); } }, t(TEXTS, "addItem")),
    field("conclusions", f.conclusions));
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);
  root.replaceChildren(form);

  return {
    read() {
      return {
        ...m,
        issuer: { ...m.issuer, name: f.issuer.value.trim(), abbrev: f.abbrev.value.trim(), place_name: f.place.value.trim() },
        meeting_title: f.title.value.trim(), location: f.location.value.trim(),
        started_at: f.start.value ? fromLocalInput(f.start.value) : m.started_at,
        ended_at: f.end.value ? fromLocalInput(f.end.value) : m.ended_at,
        chair: { full_name: f.chairName.value.trim(), position: f.chairPos.value.trim() },
        secretary: { full_name: f.secName.value.trim(), position: f.secPos.value.trim() },
        attendees: attendees.map(({ a, people, present }) => ({ ...a, people: people.value.trim() || null, present: present.checked })),
        absent_note: f.absent.value.trim() || null,
        items: items.map((r) => ({ title: r.title.value.trim(), content: lines(r.body.value) })),
        conclusions: lines(f.conclusions.value),
      };
    },
  };
}
