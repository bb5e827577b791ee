// Autosave: edits are saved a moment after typing stops, one save at a time, each over
// the version the previous save returned. A conflict (someone else saved) stops saving
// and says so; nothing typed is lost from the screen.
import { t, pad2 } from "../sched/common.js";
import { TEXTS } from "./texts.js";

const DEBOUNCE_MS = 1200;

/** `save(version)` sends the current form and returns the saved record. */
export function createSaver({ version, save, onSaved, statusEl }) {
  let current = version;
  let timer = null;
  let running = null;
  let again = false;
  let stopped = false;

  function show(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  async function run() {
    if (stopped) return;
    if (running) { again = true; return running; }
    show("saving", t(TEXTS, "saving"));
    running = (async () => {
      try {
        const rec = await save(current);
        current = rec.meta.version;
        const d = new Date();
        show("saved", t(TEXTS, "saved").replace("{t}", `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`));
        onSaved?.(rec);
      } catch (e) {
        if (e.status === 409) {
          stopped = true;
          show("conflict", t(TEXTS, "conflict").replace("{msg}", e.message));
        } else {
          show("error", t(TEXTS, "error").replace("{msg}", e.message));
        }
      } finally {
        running = null;
      }
      if (again) { again = false; await run(); }
    })();
    return running;
  }

  return {
    /** Called on every edit. */
    touch() {
      if (stopped) return;
      show("dirty", t(TEXTS, "unsaved"));
      clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    },
    /** Saves now (before finalizing) and resolves when the latest edit is stored. */
    async flush() {
      clearTimeout(timer);
      if (statusEl.dataset.state === "dirty") await run();
      else if (running) await running;
      return current;
    },
    version: () => current,
    stop() { stopped = true; clearTimeout(timer); },
  };
}
