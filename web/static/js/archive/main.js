// The meeting-file page: `?id=<meeting>` shows that meeting's attendance and downloads,
// otherwise the search of past meetings.
import { api, applyTexts, me } from "../sched/common.js";
import { showMeeting } from "./meeting.js";
import { showSearch } from "./search.js";
import { TEXTS } from "./texts.js";

applyTexts(TEXTS);
const user = await me();
// Secretaries and administrators come from the schedule page, halls from their dashboard.
const home = user.role === "site" ? "/static/dashboard.html" : "/static/schedule.html";
document.getElementById("home").setAttribute("href", home);
document.getElementById("logout").onclick = async () => {
  await api("POST", "/auth/logout").catch(() => {});
  location.href = "/static/login.html";
};

const id = new URLSearchParams(location.search).get("id");
if (id) await showMeeting(id);
else await showSearch(user);
