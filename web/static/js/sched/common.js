// Shared by the scheduler pages: API calls with the session cookie, bilingual texts,
// times shown in Asia/Ho_Chi_Minh whatever the PC's own zone.

const LANG_KEY = "bridge.lang";
export let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "vi";

export function t(texts, key) {
  return (texts[lang] && texts[lang][key]) || texts.vi[key] || key;
}

export function applyTexts(texts) {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(texts, el.dataset.t);
  const sw = document.getElementById("lang");
  if (sw) {
    sw.textContent = lang === "vi" ? "English" : "Tiếng Việt";
    sw.onclick = () => {
      localStorage.setItem(LANG_KEY, lang === "vi" ? "en" : "vi");
      location.reload();
    };
  }
}

export async function api(method, path, body) {
  const res = await fetch("/api" + path, {
    method,
    credentials: "same-origin",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) {
    // Problem details carry both languages (see docs/scheduler.md).
    const msg = (data && (lang === "vi" ? data.detail_vi || data.title_vi : data.detail) || data?.title) || res.statusText;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return data;
}

export function fmtTime(iso) {
  return new Date(iso).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", {
    timeZone: "Asia/Ho_Chi_Minh", weekday: "short", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

export async function me() {
  try {
    return await api("GET", "/me");
  } catch (e) {
    if (e.status === 401) location.href = "/static/login.html";
    throw e;
  }
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k.startsWith("on") ? (e[k] = v) : e.setAttribute(k, v);
  e.append(...kids);
  return e;
}

// Vietnam keeps UTC+7 all year, so local time is plain arithmetic on the UTC instant.
const VN_OFFSET_MS = 7 * 3600e3;

/** "2026-03-02T14:00" (for <input type=datetime-local>) in Hà Nội time. */
export function toLocalInput(iso) {
  return new Date(new Date(iso).getTime() + VN_OFFSET_MS).toISOString().slice(0, 16);
}

/** An <input type=datetime-local> value read as Hà Nội time, as RFC 3339. */
export function fromLocalInput(value) {
  return `${value}:00+07:00`;
}

/** Hà Nội wall-clock fields of an instant: { y, m (1-12), d, dow (0=Mon), h, min }. */
export function vnParts(iso) {
  const x = new Date(new Date(iso).getTime() + VN_OFFSET_MS);
  return { y: x.getUTCFullYear(), m: x.getUTCMonth() + 1, d: x.getUTCDate(), dow: (x.getUTCDay() + 6) % 7,
           h: x.getUTCHours(), min: x.getUTCMinutes() };
}

/** Monday 00:00 Hà Nội time of the week containing `date`, shifted by `weeks`, as a Date. */
export function vnWeekStart(date, weeks = 0) {
  const p = vnParts(date.toISOString());
  const mondayUtc = Date.UTC(p.y, p.m - 1, p.d - p.dow + 7 * weeks) - VN_OFFSET_MS;
  return new Date(mondayUtc);
}

export function pad2(n) {
  return String(n).padStart(2, "0");
}

export function fmtSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
