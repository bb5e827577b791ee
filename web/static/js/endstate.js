// The room page's end states (left, removed, refused, error): the reason in words with
// the meeting's title when known, and always a way on: back to the unit's meetings (or
// the sign-in page for a hall that came from a bare link), plus "Vào lại" where a new
// try can succeed. No state ends in a dead end, and no raw room id reaches the hall.

import { t, has } from "./i18n.js";

/** Refusals after which the same link may get in later: the chair unlocks, a place frees, the room opens. */
const REJOINABLE_ERRORS = new Set(["room_locked", "room_full", "not_yet_open", "network"]);
/** Ends after which "Vào lại" makes sense; not `removed` (the link stays out) nor `replaced` (another page holds the place). */
const REJOINABLE_BYES = new Set(["left", "timeout", "shutdown"]);

export function canRejoinError(code) {
  return REJOINABLE_ERRORS.has(code);
}

export function canRejoinBye(reason) {
  return REJOINABLE_BYES.has(reason);
}

/** A text key, or its `.t` variant naming the meeting when its title is known. */
export function titledKey(key, params) {
  return params?.title && has(`${key}.t`) ? `${key}.t` : key;
}

/** "08:30 ngày 08/12" / "08:30 on 08/12": 24-hour Hà Nội time of a unix instant (seconds). */
export function opensAtText(unixSecs) {
  const d = new Date(unixSecs * 1000);
  const part = (o) => new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", ...o }).format(d);
  const hm = part({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const dm = part({ day: "2-digit", month: "2-digit" });
  return t("end.opensAt", { hm, dm });
}

let backTarget = null;

/**
 * Where "back" leads: the unit's dashboard (a hall) or the schedule (an office) for a
 * signed-in user; the sign-in page otherwise. Asked once, only when the page ends.
 */
export async function backLink() {
  if (backTarget) return backTarget;
  let user = null;
  try {
    const res = await fetch("/api/me", { credentials: "same-origin" });
    if (res.ok) user = await res.json();
  } catch {
    // No network to ask over: the sign-in page still leads to the meetings.
  }
  backTarget = !user
    ? { href: "/static/login.html", key: "end.login" }
    : { href: user.role === "site" ? "/static/dashboard.html" : "/static/schedule.html", key: "end.back" };
  return backTarget;
}
