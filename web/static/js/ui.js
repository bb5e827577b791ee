// Everything the room page draws: tiles, participant list, connection state, messages
// and the control bar. It reads plain models from app.js and keeps no meeting state.

import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { qualityLevel } from "./stats.js";
import { SidePanel } from "./panel.js";

const $ = (id) => document.getElementById(id);
const GAP = 12;

function initials(name) {
  const words = String(name || "?").trim().split(/\s+/);
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]];
  return picked.map((w) => w.charAt(0).toUpperCase()).join("");
}

function qualityTitle(q) {
  const level = qualityLevel(q);
  if (level === "unknown") return t("quality.unknown");
  const detail = t("quality.detail", { loss: q.loss ?? 0, rtt: q.rtt ?? "–", kbps: q.kbps ?? 0 });
  return `${t(`quality.${level}`)}: ${detail}`;
}

export class RoomUi {
  constructor() {
    this.grid = $("grid");
    this.tiles = new Map(); // key -> figure element
    this.audios = new Map(); // mid of the subscribe connection's audio slot -> audio element
    this.soundButton = $("sound");
    this.soundButton.addEventListener("click", () => this.resumeAudio());
    new ResizeObserver(() => this.layout()).observe($("stage"));
    // The chair's console and the people list: a column, or a drawer on narrow screens.
    this.panel = new SidePanel(() => this.layout());
  }

  setConnection(state) {
    const box = $("conn");
    box.dataset.state = state;
    $("conn-text").textContent = t(`state.${state}`);
  }

  /** The meeting's title once known; nothing before (never the room id: `m-89ec…` means nothing to a hall). */
  setRoom(name) {
    $("room-name").textContent = name ?? "";
    document.title = name ? `${name} · ${t("app.title")}` : t("app.title");
  }

  /**
   * The end of the page (refused, left, removed, error): what happened, "Vào lại" when
   * a new try can work, and `back` ({href, key}) to the meetings or the sign-in page.
   */
  showError(titleKey, text, canRejoin, back) {
    const title = $("error-title");
    title.dataset.i18n = titleKey;
    title.textContent = t(titleKey);
    $("error-text").textContent = text;
    $("error").hidden = false;
    $("rejoin").hidden = !canRejoin;
    this.showBack(back);
    document.body.classList.add("has-error");
    title.focus();
  }

  /** The way back from an end state (set once `/api/me` has said who is here). */
  showBack(back) {
    const link = $("back-link");
    link.hidden = !back;
    if (!back) return;
    link.href = back.href;
    link.dataset.i18n = back.key;
    link.textContent = t(back.key);
  }

  hideError() {
    $("error").hidden = true;
    document.body.classList.remove("has-error");
  }

  /** A non-blocking note (no camera, screen share failed…). */
  showNotice(text) {
    const n = $("notice");
    n.textContent = text ?? "";
    n.hidden = !text;
  }

  /**
   * @param {{mic: {available: boolean, on: boolean}, cam: {available: boolean, on: boolean},
   *          screen: {available: boolean, on: boolean}, joined: boolean}} c
   */
  setControls(c) {
    // Labels name the action ("Tắt micrô"), so no aria-pressed on top of them.
    const set = (id, available, on, onKey, offKey, onIcon, offIcon) => {
      const b = $(id);
      b.disabled = !available || !c.joined;
      b.classList.toggle("off", !on);
      const label = t(on ? onKey : offKey);
      b.innerHTML = `${icon(on ? onIcon : offIcon)}<span>${label}</span>`;
      b.title = label;
    };
    set("btn-mic", c.mic.available, c.mic.on, "btn.mic.on", "btn.mic.off", "mic", "micOff");
    set("btn-cam", c.cam.available, c.cam.on, "btn.cam.on", "btn.cam.off", "cam", "camOff");
    const s = $("btn-screen");
    s.disabled = !c.screen.available || !c.joined;
    s.classList.toggle("active", c.screen.on);
    s.innerHTML = `${icon("screen")}<span>${t(c.screen.on ? "btn.screen.stop" : "btn.screen.start")}</span>`;
    s.title = t(c.screen.on ? "btn.screen.stop" : "btn.screen.start");
    // On narrow screens the bar shows icons only: the label stays for screen readers
    // (visually hidden) and as the tooltip.
    $("btn-people").innerHTML = `${icon("people")}<span>${t("btn.people")}</span>`;
    $("btn-people").title = t("btn.people");
    $("btn-leave").innerHTML = `${icon("leave")}<span>${t("btn.leave")}</span>`;
    $("btn-leave").title = t("btn.leave");
    $("btn-leave").disabled = !c.joined;
    this.soundButton.innerHTML = `${icon("sound")}<span>${t("btn.sound")}</span>`;
  }

  /** Tiles: one per participant (camera or avatar), one more per screen share. */
  /** `leadKey`: the tile of whoever holds the floor, shown large unless a screen is shared. */
  syncTiles(models, leadKey = null) {
    const keep = new Set(models.map((m) => m.key));
    for (const [key, el] of this.tiles) {
      if (!keep.has(key)) {
        el.remove();
        this.tiles.delete(key);
      }
    }
    for (const m of models) {
      let el = this.tiles.get(m.key);
      if (!el) {
        el = this.createTile(m);
        this.tiles.set(m.key, el);
      }
      this.updateTile(el, m);
      this.grid.appendChild(el); // keeps the models' order
    }
    // The first screen share leads the stage, on a row of its own; else the floor holder.
    const lead = [...this.tiles.values()].find((el) => el.classList.contains("screen"))
      ?? (leadKey ? this.tiles.get(leadKey) : undefined);
    this.grid.classList.toggle("presenting", !!lead);
    for (const el of this.tiles.values()) el.classList.toggle("lead", el === lead);
    if (lead) this.grid.prepend(lead);
    const empty = $("empty");
    empty.hidden = models.some((m) => !m.isSelf);
    this.grid.appendChild(empty); // after the tiles: own preview first, then the hint
    this.layout();
  }

  createTile(m) {
    const el = document.createElement("figure");
    el.className = "tile";
    el.dataset.key = m.key;
    el.dataset.participantId = m.participantId;
    el.dataset.source = m.screen ? "screen" : "camera";
    el.classList.toggle("self", m.isSelf);
    el.classList.toggle("screen", m.screen);
    el.tabIndex = 0;
    el.innerHTML = `<video autoplay playsinline muted></video>
      <div class="avatar" aria-hidden="true"></div>
      <span class="presence" role="status" hidden></span>
      <figcaption><span class="name"></span><span class="mic"></span>
      <span class="quality" role="img"><i></i><i></i><i></i></span></figcaption>`;
    return el;
  }

  updateTile(el, m) {
    const video = el.querySelector("video");
    const track = m.videoTrack ?? null;
    if (video._track !== track) {
      video._track = track;
      video.srcObject = track ? new MediaStream([track]) : null;
      if (track) video.play().catch(() => {});
    }
    const camOff = !m.screen && (!track || m.muted.camera);
    el.classList.toggle("no-video", camOff);
    el.querySelector(".avatar").textContent = initials(m.name);
    const you = t("tile.you");
    let name = m.name;
    if (m.screen) name = t("screen.label", { name: m.name });
    else if (m.isSelf && m.name !== you) name = `${m.name} (${you})`;
    el.querySelector(".name").textContent = name;
    el.setAttribute("aria-label", name);
    const mic = el.querySelector(".mic");
    mic.hidden = m.screen;
    mic.innerHTML = icon(m.muted.microphone ? "micOff" : "mic", 16);
    mic.classList.toggle("muted", m.muted.microphone);
    mic.title = t(m.muted.microphone ? "mic.muted" : "mic.live");
    mic.setAttribute("role", "img");
    mic.setAttribute("aria-label", mic.title);
    this.setTileQuality(el, m.quality);
    // A site whose media is down says so on its tile, instead of a frozen picture.
    const presence = el.querySelector(".presence");
    const down = m.presence === "reconnecting" || m.presence === "no_media";
    presence.hidden = !down;
    presence.dataset.presence = m.presence ?? "";
    presence.textContent = down ? t(m.presence === "reconnecting" ? "tile.reconnecting" : "tile.noMedia") : "";
  }

  setTileQuality(el, q) {
    const box = el.querySelector(".quality");
    box.dataset.level = qualityLevel(q);
    box.title = qualityTitle(q);
    box.setAttribute("aria-label", box.title);
  }

  /** Updates only the quality indicators (every few seconds, without touching videos). */
  setQualities(byKey) {
    for (const [key, el] of this.tiles) {
      if (byKey.has(key)) this.setTileQuality(el, byKey.get(key));
    }
  }

  /** Outlines the tiles of the participants who are talking. */
  setSpeaking(ids) {
    for (const el of this.tiles.values()) {
      el.classList.toggle("speaking", !el.classList.contains("screen") && ids.has(el.dataset.participantId));
    }
  }

  /** Chooses the column count that gives the largest 16:9 tiles in the stage; a screen
   *  share, when there is one, gets most of the height and the cameras share the rest. */
  layout() {
    const stage = $("stage");
    const W = stage.clientWidth - 2 * GAP;
    let H = stage.clientHeight - 2 * GAP;
    // The lead (a shared screen, or the floor holder) takes a row of its own.
    const lead = [...this.tiles.values()].some((el) => el.classList.contains("lead"));
    let n = this.tiles.size - (lead ? 1 : 0) + ($("empty").hidden ? 0 : 1);
    if (lead) {
      const screenW = Math.floor(Math.min(W, (H * 0.68 * 16) / 9));
      this.grid.style.setProperty("--screen-w", `${screenW}px`);
      H -= (screenW * 9) / 16 + GAP;
    }
    if (n === 0 || W <= 0 || H <= 0) return;
    let best = 0;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min((W - (cols - 1) * GAP) / cols, ((H - (rows - 1) * GAP) / rows) * (16 / 9));
      best = Math.max(best, w);
    }
    this.grid.style.setProperty("--tile-w", `${Math.floor(best)}px`);
  }

  /** One <audio> per audio slot (mid) of the subscribe connection, whoever speaks in
   *  it now: a slot passing to another speaker keeps its element and keeps playing.
   *  Video elements stay muted. */
  syncAudio(tracksByMid) {
    const box = $("audio");
    for (const [mid, el] of this.audios) {
      if (!tracksByMid.has(mid)) {
        el.srcObject = null;
        el.remove();
        this.audios.delete(mid);
      }
    }
    for (const [mid, track] of tracksByMid) {
      let el = this.audios.get(mid);
      if (!el) {
        el = document.createElement("audio");
        el.autoplay = true;
        el.dataset.mid = mid;
        box.appendChild(el);
        this.audios.set(mid, el);
      }
      if (el._track !== track) {
        el._track = track;
        el.srcObject = new MediaStream([track]);
        // Browsers may refuse sound before the user touched the page: offer a button then.
        el.play().catch(() => {
          this.soundButton.hidden = false;
        });
      }
    }
  }

  resumeAudio() {
    for (const el of this.audios.values()) el.play().catch(() => {});
    this.soundButton.hidden = true;
  }

  /** The participant list: who is here and whether their mic and camera are on. */
  renderPeople(people) {
    const list = $("people-list");
    list.replaceChildren();
    for (const p of people) {
      const li = document.createElement("li");
      li.dataset.participantId = p.id;
      const role = p.role ? t(`role.${p.role}`) : "";
      li.innerHTML = `<span class="avatar small" aria-hidden="true"></span>
        <span class="who"><span class="pname"></span><span class="role"></span></span>
        <span class="state"></span>`;
      li.querySelector(".avatar").textContent = initials(p.name);
      li.querySelector(".pname").textContent = p.name;
      li.querySelector(".role").textContent = [p.isSelf ? t("tile.you") : "", role, p.unit].filter(Boolean).join(" · ");
      const micText = t(p.muted.microphone ? "mic.muted" : "mic.live");
      const camText = t(p.muted.camera ? "cam.muted" : "cam.live");
      li.querySelector(".state").innerHTML =
        `<span class="${p.muted.microphone ? "muted" : "live"}" role="img" aria-label="${micText}" title="${micText}">${icon(p.muted.microphone ? "micOff" : "mic", 16)}</span>` +
        `<span class="${p.muted.camera ? "muted" : "live"}" role="img" aria-label="${camText}" title="${camText}">${icon(p.muted.camera ? "camOff" : "cam", 16)}</span>`;
      list.appendChild(li);
    }
    $("people-count").textContent = t("people.count", { n: people.length });
  }

  /** The people button: hides or shows the column, or on a narrow screen opens the drawer. */
  togglePeople() {
    this.panel.togglePeople();
  }
}
