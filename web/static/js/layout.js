// Which remote videos the stage shows, and how each is asked of the server (`view`):
// the main stage at its best layer, thumbnails at the lowest, videos not shown not at
// all. A provincial conference has hundreds of sites: the chair pages through them 25
// at a time and receives only the page it sees; a hall receives the main stage and
// the active speaker, which is all a commune's link can carry.

export const TILE_PAGE = 25;
/** Up to this many remote videos share the stage as equals, each at its best layer. */
const EQUALS = 4;
/** In a room with more than this many others, a hall shows only stage and speaker. */
export const SMALL_ROOM = 6;

/** The hall's own choice for its link: `auto` (the server decides from its estimate),
 *  `thin` (the main stage at its lowest layer, nothing else), `audio` (no video). */
export const LINK_MODES = ["auto", "thin", "audio"];

/**
 * @param {string[]} remote participant ids, in display order
 * @param {string|null} holder the main stage's participant (floor holder, chair, speaker)
 * @param {number} page the page asked for (clamped)
 * @param {{grid?: boolean, speaker?: string|null, mode?: string}} opts `grid`: the
 *   chair's console (every site, paged); otherwise a hall, which pages only a small room
 * @returns {{shown: Set<string>, page: number, pages: number, views: Map<string, "high"|"low"|"off">, audioOnly: boolean}}
 */
export function planStage(remote, holder, page, opts = {}) {
  const hasHolder = holder !== null && remote.includes(holder);
  const mode = opts.mode ?? "auto";
  const gridded = (opts.grid ?? true) || remote.length <= SMALL_ROOM;
  let onPage;
  let pages = 1;
  let p = 0;
  if (gridded) {
    const others = remote.filter((id) => id !== holder);
    pages = Math.max(1, Math.ceil(others.length / TILE_PAGE));
    p = Math.min(Math.max(0, page), pages - 1);
    onPage = new Set(others.slice(p * TILE_PAGE, (p + 1) * TILE_PAGE));
  } else {
    // A hall in a large room: the active speaker beside the main stage.
    const speaker = opts.speaker && opts.speaker !== holder && remote.includes(opts.speaker) ? opts.speaker : null;
    onPage = new Set(speaker ? [speaker] : []);
  }
  if (hasHolder) onPage.add(holder);
  const equals = gridded && !hasHolder && onPage.size <= EQUALS;
  // On a thin link only one picture: the main stage, else the speaker, else the first.
  const main = hasHolder ? holder : [...onPage].find((id) => id === opts.speaker) ?? [...onPage][0] ?? null;
  const views = new Map();
  for (const id of remote) {
    let view = "off";
    if (onPage.has(id)) view = id === holder || equals ? "high" : "low";
    if (mode === "thin") view = id === main ? "low" : "off";
    if (mode === "audio") view = "off";
    views.set(id, view);
  }
  return { shown: onPage, page: p, pages, views, audioOnly: mode === "audio" };
}

/**
 * Track id -> how the page shows it, for every video published by `participants`: a
 * camera as the plan says; a screen share at its best while its participant is on the
 * stage, else not at all (the page shows no screen of a site off the stage).
 * @param {{shown: Set<string>, views: Map<string, string>}} plan from planStage
 * @param {Iterable<{id: string, tracks?: Array<{track_id: string, source: string}>}>} participants
 * @returns {Map<string, "high"|"low"|"off">}
 */
export function trackViews(plan, participants) {
  const out = new Map();
  for (const p of participants) {
    for (const tr of p.tracks ?? []) {
      if (typeof tr?.track_id !== "string") continue;
      if (tr.source === "camera") out.set(tr.track_id, plan.views.get(p.id) ?? "off");
      else if (tr.source === "screen") out.set(tr.track_id, plan.shown.has(p.id) && !plan.audioOnly ? "high" : "off");
    }
  }
  return out;
}

/** Sends `view` for every published video whose wanted view differs from the last one
 *  sent. The page joins with `default_view: "off"`, so a track never sent a view is
 *  off: only what the stage shows is asked for. Tracks no longer published are
 *  forgotten; `reset` on every join (the server starts afresh). */
export class ViewSync {
  constructor(send) {
    this.send = send;
    this.sent = new Map(); // track_id -> view
  }

  reset() {
    this.sent.clear();
  }

  /** @param {Map<string, string>} wanted track_id -> view, every video published in the room (trackViews)
   *  @param {boolean} [audioOnly] the hall chose audio only: every video is said `off` once, even
   *    one never asked for, for that is how the server knows to send one mixed stream of the
   *    voices instead of one per microphone (docs/protocol.md, `audio_mix`). */
  sync(wanted, audioOnly = false) {
    for (const track of [...this.sent.keys()]) if (!wanted.has(track)) this.sent.delete(track);
    const unsent = audioOnly ? undefined : "off";
    const changed = [...wanted].filter(([track, view]) => (this.sent.get(track) ?? unsent) !== view);
    // What is no longer shown first: its slot is free by the time the server hears
    // what is, so a new page of thumbnails takes the old page's slots instead of
    // asking for new m-lines (a renegotiation) beyond the server's limit.
    changed.sort(([, a], [, b]) => (a === "off" ? 0 : 1) - (b === "off" ? 0 : 1));
    for (const [track, view] of changed) {
      this.send({ type: "view", track, quality: view });
      this.sent.set(track, view);
    }
  }
}
