// The unit picker: search by name (accents optional) or browse the tree from the
// secretary's own unit; each unit offers the selections that make sense for it
// (this unit, the units directly under it, all communes under it, the whole branch).
// Picked selections show as removable chips; `selectors()` gives them to the API.
import { api, el, t } from "./common.js";

const TEXTS = {
  vi: { search: "Tìm đơn vị theo tên (không cần dấu)…", unit: "đơn vị này", children: "các đơn vị trực thuộc",
        communes: "tất cả xã, phường", subtree: "cả đơn vị và cấp dưới", remove: "Bỏ", expand: "Mở", collapse: "Thu gọn",
        allDistricts: "Tất cả huyện, thị xã, thành phố", allCommunes: "Tất cả xã, phường, thị trấn", none: "Chưa chọn đơn vị nào." },
  en: { search: "Search units by name (accents optional)…", unit: "this unit", children: "units directly under it",
        communes: "all communes", subtree: "the unit and everything under it", remove: "Remove", expand: "Open", collapse: "Close",
        allDistricts: "All districts", allCommunes: "All communes", none: "No unit picked yet." },
};

const COMMUNE_KINDS = new Set(["xã", "phường", "thị trấn", "đặc khu"]);

function label(sel, name) {
  switch (sel.type) {
    case "unit": return name;
    case "children_of": return `${name}: ${t(TEXTS, "children")}`;
    case "descendants_at_level": return `${name}: ${t(TEXTS, "communes")}`;
    default: return `${name}: ${t(TEXTS, "subtree")}`;
  }
}

/** Mounts a picker inside `root` for a secretary whose unit is `rootCode`. */
export function unitPicker(root, rootCode) {
  const picks = [];
  const chips = el("div", { class: "picks", "aria-live": "polite" });
  const search = el("input", { type: "search", autocomplete: "off", placeholder: t(TEXTS, "search"),
                               "aria-label": t(TEXTS, "search"), class: "picker-search" });
  const results = el("ul", { class: "results" });
  const tree = el("ul", { class: "tree" });
  const shortcuts = el("div", { class: "shortcuts" });
  root.replaceChildren(shortcuts, chips, search, results, tree);

  function renderChips() {
    chips.replaceChildren(...(picks.length ? picks.map((p, i) => el("span", { class: "chip", "data-sel": JSON.stringify(p.sel) },
      p.label, " ", el("button", { type: "button", "aria-label": `${t(TEXTS, "remove")} ${p.label}`,
        onclick: () => { picks.splice(i, 1); renderChips(); } }, "×"))) : [el("span", { class: "muted" }, t(TEXTS, "none"))]));
  }

  function add(sel, name) {
    if (picks.some((p) => JSON.stringify(p.sel) === JSON.stringify(sel))) return;
    picks.push({ sel, label: label(sel, name) });
    renderChips();
  }

  /** The selection buttons of one unit; `hasDistricts` when its children are districts. */
  function options(u, hasDistricts) {
    const opts = [["unit", { type: "unit", code: u.code }]];
    if (u.hasChildren !== false) {
      opts.push(["children", { type: "children_of", code: u.code }]);
      if (hasDistricts) opts.push(["communes", { type: "descendants_at_level", code: u.code, level: u.level + 2 }]);
      opts.push(["subtree", { type: "subtree", code: u.code }]);
    }
    return el("span", { class: "opts" }, ...opts.map(([key, sel]) =>
      el("button", { type: "button", class: "small", "data-opt": key, "data-code": u.code, onclick: () => add(sel, u.name) }, t(TEXTS, key))));
  }

  async function node(u) {
    const kids = el("ul", { hidden: "" });
    const opts = el("span");
    const li = el("li", { "data-code": u.code });
    const isCommune = COMMUNE_KINDS.has(u.kind);
    let loaded = false;
    const toggle = el("button", { type: "button", class: "toggle", "aria-expanded": "false",
      "aria-label": `${t(TEXTS, "expand")} ${u.name}`, onclick: async () => {
        if (!loaded) {
          const children = await api("GET", `/units/${u.code}/children`);
          loaded = true;
          kids.replaceChildren(...(await Promise.all(children.map(node))));
          const hasDistricts = children.some((c) => !COMMUNE_KINDS.has(c.kind));
          opts.replaceChildren(options({ ...u, hasChildren: children.length > 0 }, hasDistricts));
        }
        kids.hidden = !kids.hidden;
        toggle.setAttribute("aria-expanded", String(!kids.hidden));
        toggle.textContent = kids.hidden ? "▸" : "▾";
      } }, "▸");
    opts.replaceChildren(options({ ...u, hasChildren: !isCommune }, false));
    li.append(isCommune ? el("span", { class: "toggle-space" }) : toggle, el("span", { class: "uname" }, u.name), " ", opts, kids);
    return li;
  }

  let seq = 0;
  search.addEventListener("input", async () => {
    const q = search.value.trim();
    const mine = ++seq;
    const found = q.length < 2 ? [] : await api("GET", `/units/search?q=${encodeURIComponent(q)}&limit=15`).catch(() => []);
    if (mine !== seq) return; // a later keystroke already answered
    results.replaceChildren(...found.map((u) => el("li", { "data-code": u.code },
      el("span", { class: "uname" }, `${u.name} (${u.code})`), " ", options({ ...u, hasChildren: !COMMUNE_KINDS.has(u.kind) }, u.level === 1))));
  });

  (async () => {
    const me = await api("GET", `/units/${rootCode}`);
    const children = await api("GET", `/units/${rootCode}/children`);
    const districts = children.filter((c) => !COMMUNE_KINDS.has(c.kind));
    const quick = [];
    if (districts.length) quick.push(el("button", { type: "button", "data-quick": "districts",
      onclick: () => add({ type: "children_of", code: me.code }, me.name) }, t(TEXTS, "allDistricts")));
    if (children.length) quick.push(el("button", { type: "button", "data-quick": "communes", onclick: () => (districts.length
      ? add({ type: "descendants_at_level", code: me.code, level: me.level + 2 }, me.name)
      : add({ type: "children_of", code: me.code }, me.name)) }, t(TEXTS, "allCommunes")));
    shortcuts.replaceChildren(...quick);
    tree.replaceChildren(await node(me));
  })().catch(() => {});
  renderChips();

  return {
    selectors: () => picks.map((p) => p.sel),
    /** Shows stored selections (editing); names come from the units API. */
    async set(selectors) {
      picks.length = 0;
      for (const sel of selectors) {
        const u = await api("GET", `/units/${sel.code}`).catch(() => ({ name: sel.code }));
        picks.push({ sel, label: label(sel, u.name) });
      }
      renderChips();
    },
    clear() { picks.length = 0; renderChips(); },
  };
}
