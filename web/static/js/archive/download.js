// Downloads with a progress bar: fetch streams the body through a reader, counting bytes
// against Content-Length, then the whole file is handed to the browser as a blob link.
import { el, fmtSize, lang, t } from "../sched/common.js";
import { TEXTS } from "./texts.js";

/** The file name from Content-Disposition (the UTF-8 form first), else `fallback`. */
function filenameOf(res, fallback) {
  const cd = res.headers.get("content-disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch { /* fall through */ }
  }
  const plain = /filename="([^"]+)"/i.exec(cd);
  return plain ? plain[1] : fallback;
}

async function problemText(res) {
  try {
    const p = await res.json();
    return (lang === "vi" ? p.detail_vi : p.detail) || p.title || res.statusText;
  } catch {
    return `${t(TEXTS, "failed")} (${res.status})`;
  }
}

/** Fetches `url`, reporting (received, total) as it goes; saves it under its name. */
export async function download(url, fallbackName, onProgress) {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(await problemText(res));
  const total = Number(res.headers.get("content-length")) || 0;
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const blob = new Blob(chunks, { type: res.headers.get("content-type") || "application/octet-stream" });
  const a = el("a", { href: URL.createObjectURL(blob), download: filenameOf(res, fallbackName) });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return received;
}

/** One line of the downloads list: label, size, button, progress bar and status. */
export function downloadItem({ label, url, name, size, kind }) {
  const progress = el("progress", { max: "100", value: "0", hidden: "" });
  const pct = el("span", { class: "pct", "aria-live": "polite" });
  const button = el("button", { type: "button", class: "small", onclick: async () => {
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    pct.textContent = t(TEXTS, "downloading").replace("{p}", "0%");
    try {
      const got = await download(url, name, (received, total) => {
        if (total) {
          progress.value = Math.floor((100 * received) / total);
          pct.textContent = t(TEXTS, "downloading").replace("{p}", `${progress.value}%`);
        } else {
          progress.removeAttribute("value");
          pct.textContent = t(TEXTS, "downloading").replace("{p}", fmtSize(received));
        }
      });
      progress.value = 100;
      pct.textContent = `${t(TEXTS, "done")} (${fmtSize(got)})`;
      pct.dataset.state = "done";
    } catch (e) {
      progress.hidden = true;
      pct.textContent = e.message || t(TEXTS, "failed");
      pct.dataset.state = "failed";
    } finally {
      button.disabled = false;
    }
  } }, t(TEXTS, "download"));
  return el("li", { "data-kind": kind },
    el("span", { class: "name" }, label, size != null ? ` — ${fmtSize(size)}` : ""), button, progress, pct);
}
