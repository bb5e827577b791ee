// A meeting's documents: list with download links and, for the organizer, an upload with
// a progress bar (XMLHttpRequest, because fetch has no upload progress).
import { api, el, fmtSize, fmtTime, lang, t } from "./common.js";

const TEXTS = {
  vi: { docs: "Tài liệu", none: "Chưa có tài liệu.", upload: "Tải lên", uploading: "Đang tải lên", remove: "Xóa",
        confirmRemove: "Xóa tài liệu này?", failed: "Tải lên không thành công", by: "bởi" },
  en: { docs: "Documents", none: "No documents yet.", upload: "Upload", uploading: "Uploading", remove: "Delete",
        confirmRemove: "Delete this document?", failed: "Upload failed", by: "by" },
};

/**
 * Uploads `file` to meeting `meetingId`, calling `onProgress(percent)` as it goes;
 * resolves to the stored document, rejects with the server's message in the page's
 * language.
 */
export function uploadDocument(meetingId, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/meetings/${meetingId}/documents`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total));
    };
    xhr.onload = () => {
      if (xhr.status === 201) {
        onProgress(100);
        let doc = null;
        try { doc = JSON.parse(xhr.responseText); } catch { /* stored all the same */ }
        resolve(doc);
        return;
      }
      let msg = `${t(TEXTS, "failed")} (${xhr.status})`;
      try {
        const p = JSON.parse(xhr.responseText);
        msg = (lang === "vi" ? p.detail_vi : p.detail) || msg;
      } catch { /* not a problem document */ }
      reject(new Error(msg));
    };
    xhr.onerror = () => reject(new Error(t(TEXTS, "failed")));
    xhr.send(form);
  });
}

/** Returns a <section> showing the meeting's documents; `canUpload` adds upload and delete. */
export function documentsPanel(meetingId, { canUpload = false } = {}) {
  const list = el("ul", { class: "docs" });
  const error = el("p", { class: "error", role: "alert" });
  const section = el("section", { class: "documents", "data-meeting": meetingId },
    el("h3", {}, t(TEXTS, "docs")), list, error);

  async function refresh() {
    const docs = await api("GET", `/meetings/${meetingId}/documents`);
    list.replaceChildren(...(docs.length ? docs.map((d) => el("li", { "data-doc": d.id },
      el("a", { href: `/api/meetings/${meetingId}/documents/${d.id}`, download: d.filename }, d.filename),
      ` — ${fmtSize(d.size)}, ${t(TEXTS, "by")} ${d.uploaded_by}, ${fmtTime(d.uploaded_at)} `,
      canUpload ? el("button", { type: "button", class: "small", onclick: async () => {
        if (!confirm(t(TEXTS, "confirmRemove"))) return;
        await api("DELETE", `/meetings/${meetingId}/documents/${d.id}`).catch((e) => (error.textContent = e.message));
        refresh();
      } }, t(TEXTS, "remove")) : "")) : [el("li", { class: "muted" }, t(TEXTS, "none"))]));
  }

  if (canUpload) {
    const input = el("input", { type: "file", "aria-label": t(TEXTS, "upload") });
    const progress = el("progress", { max: "100", value: "0", hidden: "" });
    const pct = el("span", { class: "pct" });
    input.onchange = async () => {
      const file = input.files[0];
      if (!file) return;
      error.textContent = "";
      progress.hidden = false;
      progress.value = 0;
      try {
        await uploadDocument(meetingId, file, (p) => {
          progress.value = p;
          pct.textContent = `${t(TEXTS, "uploading")} ${p}%`;
        });
        progress.value = 100;
        pct.textContent = "100%";
        refresh();
      } catch (e) {
        error.textContent = e.message;
        progress.hidden = true;
        pct.textContent = "";
      } finally {
        input.value = "";
      }
    };
    section.append(el("div", { class: "upload" }, input, progress, pct));
  }
  refresh().catch((e) => (error.textContent = e.message));
  return section;
}
