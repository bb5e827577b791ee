// The week view: seven day columns (Monday first) in Hà Nội time, meetings as cards
// positioned by their start and sized by their length between 06:00 and 22:00; meetings
// outside those hours sit at the edge so none is hidden.
import { el, fmtTime, lang, pad2, vnParts } from "./common.js";

const DAY_NAMES = { vi: ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"],
                    en: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] };
const FIRST_HOUR = 6;
const LAST_HOUR = 22;
const HOUR_PX = 44;

function minutes(p) {
  return Math.min(Math.max(p.h * 60 + p.min, FIRST_HOUR * 60), LAST_HOUR * 60 - 30);
}

/** Renders `entries` (UpcomingEntry list) into `root` for the week starting at `monday`. */
export function renderWeek(root, monday, entries, open) {
  const today = vnParts(new Date().toISOString());
  const hours = el("div", { class: "hours" }, el("div", { class: "dayhead" }),
    ...Array.from({ length: LAST_HOUR - FIRST_HOUR }, (_, i) => el("div", { class: "hour", style: `height:${HOUR_PX}px` }, `${pad2(FIRST_HOUR + i)}:00`)));
  const cols = Array.from({ length: 7 }, (_, d) => {
    const day = vnParts(new Date(monday.getTime() + d * 86400e3).toISOString());
    const isToday = day.y === today.y && day.m === today.m && day.d === today.d;
    const body = el("div", { class: "daybody", style: `height:${(LAST_HOUR - FIRST_HOUR) * HOUR_PX}px` });
    const col = el("div", { class: `day${isToday ? " today" : ""}`, "data-day": `${day.y}-${pad2(day.m)}-${pad2(day.d)}` },
      el("div", { class: "dayhead" }, `${DAY_NAMES[lang][d]} ${pad2(day.d)}/${pad2(day.m)}`), body);
    return { col, body };
  });
  for (const e of entries) {
    const s = vnParts(e.starts_at);
    const f = vnParts(e.ends_at);
    const col = cols[s.dow];
    const top = ((minutes(s) - FIRST_HOUR * 60) / 60) * HOUR_PX;
    const endMin = f.d === s.d ? minutes(f) : LAST_HOUR * 60;
    const height = Math.max(((endMin - minutes(s)) / 60) * HOUR_PX, 22);
    col.body.append(el("button", {
      type: "button", class: `event${e.urgent ? " urgent-event" : ""}${e.cancelled ? " cancelled" : ""}`,
      style: `top:${top}px;height:${height}px`, "data-meeting": e.meeting, "data-start": `${pad2(s.h)}:${pad2(s.min)}`,
      title: `${fmtTime(e.starts_at)} ${e.title}`, onclick: () => open(e.meeting),
    }, el("span", { class: "time" }, `${pad2(s.h)}:${pad2(s.min)}`), " ", e.title));
  }
  root.replaceChildren(el("div", { class: "week" }, hours, ...cols.map((c) => c.col)));
}
