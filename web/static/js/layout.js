// Which remote videos the stage shows, and how each is asked of the server (`view`):
// the main stage at its best layer, thumbnails at the lowest, videos off the page not
// at all. A provincial conference has hundreds of sites: the chair pages through them
// 25 at a time and receives only the page it sees.

export const TILE_PAGE = 25;
/** Up to this many remote videos share the stage as equals, each at its best layer. */
const EQUALS = 4;

/**
 * @param {string[]} remote participant ids with a camera, in display order
 * @param {string|null} holder the main stage's participant (floor holder, chair, speaker)
 * @param {number} page the page asked for (clamped)
 * @returns {{shown: Set<string>, page: number, pages: number, views: Map<string, "high"|"low"|"off">}}
 */
export function planStage(remote, holder, page) {
  const others = remote.filter((id) => id !== holder);
  const pages = Math.max(1, Math.ceil(others.length / TILE_PAGE));
  const p = Math.min(Math.max(0, page), pages - 1);
  const onPage = new Set(others.slice(p * TILE_PAGE, (p + 1) * TILE_PAGE));
  const hasHolder = holder !== null && remote.includes(holder);
  if (hasHolder) onPage.add(holder);
  const equals = !hasHolder && onPage.size <= EQUALS;
  const views = new Map();
  for (const id of remote) {
    if (!onPage.has(id)) views.set(id, "off");
    else views.set(id, id === holder || equals ? "high" : "low");
  }
  return { shown: onPage, page: p, pages, views };
}

/** Sends `view` for every received camera whose view changed; forgets tracks no longer
 *  received, so a track subscribed again (which starts at `high`) is told again. */
export class ViewSync {
  constructor(send) {
    this.send = send;
    this.sent = new Map(); // track_id -> view
  }

  /**
   * @param {Map<string, string>} views participant id -> view
   * @param {Map<string, string>} cameraTrack participant id -> camera track_id we receive
   */
  sync(views, cameraTrack) {
    const live = new Set(cameraTrack.values());
    for (const track of [...this.sent.keys()]) if (!live.has(track)) this.sent.delete(track);
    for (const [pid, view] of views) {
      const track = cameraTrack.get(pid);
      if (!track) continue;
      const was = this.sent.get(track) ?? "high";
      if (was !== view) this.send({ type: "view", track, quality: view });
      this.sent.set(track, view);
    }
  }
}
