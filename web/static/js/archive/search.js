// The search of past meetings: words (accents optional), a date range and a unit from the
// unit picker; results newest first, paged, each opening the meeting's file.
import { api, el, fmtTime, t } from "../sched/common.js";
import { unitPicker } from "../sched/picker.js";
import { TEXTS } from "./texts.js";

const PER_PAGE = 20;

/** The unit whose meetings to show: the first unit picked, whatever the selection kind. */
function pickedUnit(picker) {
  return picker.selectors()[0]?.code ?? "";
}

export async function showSearch(user) {
  const form = document.getElementById("search-form");
  const error = document.getElementById("search-error");
  const summary = document.getElementById("search-summary");
  const table = document.getElementById("results-table");
  const rows = document.getElementById("results");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  const root = user.unit ?? (await api("GET", "/units"))[0]?.code;
  const picker = root ? unitPicker(document.getElementById("unit-picker"), root) : { selectors: () => [] };
  let page = 1;

  async function run() {
    error.textContent = "";
    const q = new URLSearchParams();
    const text = document.getElementById("q").value.trim();
    const from = document.getElementById("from").value;
    const to = document.getElementById("to").value;
    if (from && to && to < from) {
      error.textContent = t(TEXTS, "badRange");
      return;
    }
    if (text) q.set("q", text);
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    const unit = pickedUnit(picker);
    if (unit) q.set("unit", unit);
    q.set("page", page);
    q.set("per_page", PER_PAGE);
    try {
      const res = await api("GET", `/meetings/search?${q}`);
      summary.textContent = (res.total ? t(TEXTS, "found").replace("{n}", res.total) : t(TEXTS, "none")) +
        (res.truncated ? ` ${t(TEXTS, "truncated")}` : "");
      table.hidden = !res.items.length;
      rows.replaceChildren(...res.items.map((m) => el("tr", { "data-meeting": m.id, class: m.cancelled ? "cancelled" : "" },
        el("td", {}, fmtTime(m.starts_at)),
        el("td", {}, el("a", { href: `/static/archive.html?id=${encodeURIComponent(m.id)}` },
          m.cancelled ? `${t(TEXTS, "cancelled")}: ${m.title}` : m.title)),
        el("td", {}, m.organizer_name))));
      prev.hidden = page <= 1;
      next.hidden = page * PER_PAGE >= res.total;
    } catch (e) {
      error.textContent = e.message;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    page = 1;
    run();
  });
  prev.onclick = () => { page -= 1; run(); };
  next.onclick = () => { page += 1; run(); };
  await run();
}
