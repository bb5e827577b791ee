// Chairing on the room page: the hand button for sites, and for a chair the queue of
// raised hands and per-participant commands (floor, microphone, remove) plus mute-all
// and lock. The server enforces every command; this only asks and shows.
import { getLang, t } from "./i18n.js";
import { icon } from "./icons.js";

const $ = (id) => document.getElementById(id);

function button(label, onclick, cls = "btn small") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = label;
  b.onclick = onclick;
  return b;
}

/** Who holds the main stage: the floor holder; else in a moderated room a chair; else
 *  the active speaker the server reports (never yourself: you see your own preview). */
export function stageHolder(floor, self, participants, speakers = []) {
  if (floor?.holder) return floor.holder;
  if (floor?.moderated) {
    if (self?.role === "chair") return self.id;
    return [...participants.values()].find((p) => p.role === "chair")?.id ?? null;
  }
  return speakers.find((id) => id !== self?.id && participants.has(id)) ?? null;
}

/** The notice a site reads about its own right to speak, or null. */
export function floorNotice(floor, self) {
  if (!floor || !self || self.role === "chair" || self.role === "viewer") return null;
  if (floor.holder === self.id) return t("floor.you");
  if ((floor.muted_by_chair ?? []).includes(self.id)) return t("floor.muted");
  if (floor.moderated) return (floor.hands ?? []).some((h) => h.participant_id === self.id) ? t("floor.waiting") : t("floor.moderated");
  return null;
}

/** Renders the hand button, the chair's panel and the per-person controls. */
export function renderChair(state, send) {
  const floor = state.floor ?? { hands: [], holder: null, moderated: false, locked: false, muted_by_chair: [] };
  const self = state.self;
  const isChair = self?.role === "chair";
  const raised = (floor.hands ?? []).some((h) => h.participant_id === self?.id);

  const hand = $("btn-hand");
  const canAsk = !!self && !isChair && self.role !== "viewer" && state.conn === "connected";
  hand.hidden = !canAsk;
  hand.classList.toggle("active", raised);
  hand.innerHTML = `${icon("hand")}<span>${t(raised ? "btn.hand.lower" : "btn.hand.raise")}</span>`;
  hand.onclick = () => send({ type: "raise_hand", raised: !raised });

  const panel = $("chair-panel");
  panel.hidden = !isChair;
  const name = (id) => (id === self?.id ? self.name : state.participants.get(id)?.name ?? id);
  if (isChair) {
    const hands = $("hands");
    hands.replaceChildren(...(floor.hands.length ? floor.hands.map((h) => {
      const li = document.createElement("li");
      li.dataset.participantId = h.participant_id;
      const since = new Date(h.since_ms).toLocaleTimeString(getLang() === "en" ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" });
      const who = document.createElement("span");
      who.innerHTML = icon("hand", 16);
      who.append(` ${name(h.participant_id)} (${since}) `);
      li.append(who,
        button(t("chair.grant"), () => send({ type: "grant_floor", participant: h.participant_id }), "btn small primary grant"));
      return li;
    }) : [Object.assign(document.createElement("li"), { className: "muted", textContent: t("chair.noHands") })]));
    $("floor-holder").textContent = floor.holder ? t("chair.holder", { name: name(floor.holder) }) : t("chair.noHolder");
    $("chair-revoke").hidden = !floor.holder;
    $("chair-revoke").textContent = t("chair.revoke");
    $("chair-revoke").onclick = () => send({ type: "revoke_floor" });
    $("chair-mute-all").textContent = t("chair.muteAll");
    $("chair-mute-all").onclick = () => send({ type: "force_mute", muted: true });
    $("chair-lock").textContent = t(floor.locked ? "chair.unlock" : "chair.lock");
    $("chair-lock").onclick = () => send({ type: "lock", locked: !floor.locked });
  }

  // Marks and (for a chair) commands in the people list.
  const muted = new Set(floor.muted_by_chair ?? []);
  for (const li of document.querySelectorAll("#people-list li[data-participant-id]")) {
    const id = li.dataset.participantId;
    const p = state.participants.get(id);
    const marks = document.createElement("span");
    marks.className = "floor-marks";
    const mark = (cls, svg, title) => {
      const m = Object.assign(document.createElement("span"), { className: cls, title });
      m.setAttribute("role", "img");
      m.setAttribute("aria-label", title);
      m.innerHTML = svg;
      marks.append(m);
    };
    if (floor.holder === id) mark("holder", icon("mic", 16), t("floor.holder"));
    if ((floor.hands ?? []).some((h) => h.participant_id === id)) mark("hand", icon("hand", 16), t("floor.hand"));
    li.querySelector(".who")?.append(marks);
    if (!isChair || !p || p.role === "chair") continue;
    const cmds = document.createElement("span");
    cmds.className = "chair-cmds";
    cmds.append(
      floor.holder === id
        ? button(t("chair.revoke"), () => send({ type: "revoke_floor" }))
        : button(t("chair.grant"), () => send({ type: "grant_floor", participant: id }), "btn small grant"),
      button(t(muted.has(id) ? "chair.unmute" : "chair.mute"), () => send({ type: "force_mute", participant: id, muted: !muted.has(id) })),
      button(t("chair.remove"), () => { if (confirm(t("chair.confirmRemove", { name: p.name }))) send({ type: "remove", participant: id }); }, "btn small danger"));
    li.append(cmds);
  }
}

const ROLL_PAGE = 25;
let rollPage = 0;
// The room's links and how to ask for a change, for the roll call's "pull in" buttons.
let links = { into: null, linked: [] };
let sendLink = null;

/** A unit code (digits) names the unit's own room; anything else is a room id. */
export function roomFor(text) {
  const v = text.trim();
  return /^\d+$/.test(v) ? `u-${v}` : v;
}

/** Linked rooms: the banner of a room taking part in a conference, and the chair's
 *  list of rooms pulled into this one, with a form to pull in another. */
export function renderLinks(msg, send, isChair) {
  links = { into: msg?.into ?? null, linked: msg?.linked ?? [] };
  sendLink = send;
  const banner = $("link-banner");
  banner.hidden = !links.into;
  if (links.into) banner.textContent = t("links.into", { title: links.into.title ?? links.into.room });
  if (!isChair) return;
  $("links").replaceChildren(...(links.linked.length ? links.linked.map((l) => {
    const li = document.createElement("li");
    li.dataset.room = l.room;
    li.append(Object.assign(document.createElement("span"), { className: "link-name", textContent: l.title ?? l.room }),
      button(t("links.remove"), () => send({ type: "unlink_room", room: l.room })));
    return li;
  }) : [Object.assign(document.createElement("li"), { className: "muted", textContent: t("links.none") })]));
  const form = $("link-form");
  form.onsubmit = (e) => {
    e.preventDefault();
    const room = roomFor($("link-room").value);
    if (room) send({ type: "link_room", room });
    $("link-room").value = "";
  };
}

// The latest network figures per participant (`quality` messages), fresher than the
// roll call, which is sent again only when a site turns poor or recovers.
const qualities = new Map();
let lastRoll = null;

/** A participant's network report: kept, and shown on the roll call at once. */
export function onQuality(msg) {
  if (!msg?.participant_id || !msg.quality) return;
  qualities.set(msg.participant_id, msg.quality);
  if (lastRoll) renderRollCall(lastRoll);
}

/** Of a site's participants, the poorest network, from the freshest figures. */
function siteQuality(site) {
  const qs = (site.participants ?? []).map((id) => qualities.get(id)).filter(Boolean);
  if (!qs.length) return site.quality ?? null;
  return qs.reduce((a, b) => ((b.poor && !a.poor) || (b.poor === a.poor && b.loss_pct > a.loss_pct) ? b : a));
}

function qualityText(q) {
  const parts = [t("quality.detail", { loss: q.loss_pct, rtt: q.rtt_ms, kbps: q.recv_kbps })];
  if (q.estimate_kbps != null) parts.push(t("quality.estimate", { kbps: q.estimate_kbps }));
  if (q.layer != null) parts.push(t("quality.layer", { layer: ["q", "h", "f"][q.layer] ?? q.layer }));
  return parts.join(" · ");
}

/** The chair's roll call: a summary line and a page of sites with their state. */
export function renderRollCall(roll) {
  if (!roll) return;
  lastRoll = roll;
  const c = roll.counts;
  const poor = roll.sites.filter((s) => s.state === "connected" && siteQuality(s)?.poor).length;
  $("roll-summary").textContent = t("roll.summary", { connected: c.connected, expected: c.expected, missing: c.not_joined, left: c.left })
    + (c.reconnecting ? ` · ${t("roll.reconnectingCount", { n: c.reconnecting })}` : "")
    + (c.no_media ? ` · ${t("roll.noMediaCount", { n: c.no_media })}` : "")
    + (poor ? ` · ${t("roll.poorCount", { n: poor })}` : "");
  const pages = Math.max(1, Math.ceil(roll.sites.length / ROLL_PAGE));
  rollPage = Math.min(rollPage, pages - 1);
  const shown = roll.sites.slice(rollPage * ROLL_PAGE, (rollPage + 1) * ROLL_PAGE);
  $("roll").replaceChildren(...shown.map((s) => {
    const li = document.createElement("li");
    // A connected site whose media is down says so: held for a resume, or never up.
    const shown = s.state === "connected" && s.presence && s.presence !== "connected" ? s.presence : s.state;
    li.className = `site ${s.state}`;
    li.dataset.presence = shown;
    if (s.unit) li.dataset.unit = s.unit;
    const name = Object.assign(document.createElement("span"), { className: "site-name", textContent: s.name });
    const state = Object.assign(document.createElement("span"), { className: "site-state", textContent: t(`roll.${shown}`) });
    if (shown !== s.state) state.title = t(`roll.${shown}.hint`);
    li.append(name, state);
    const own = s.unit ? `u-${s.unit}` : null;
    if (s.state !== "connected" && own && sendLink && !links.linked.some((l) => l.room === own)) {
      li.append(button(t("links.pull"), () => sendLink({ type: "link_room", room: own }), "btn small pull"));
    }
    if (s.state === "connected") {
      const media = document.createElement("span");
      media.className = "site-media";
      media.innerHTML = icon(s.audio ? "mic" : "micOff", 14) + icon(s.video ? "cam" : "camOff", 14);
      media.title = `${t(s.audio ? "roll.audio" : "roll.noAudio")}, ${t(s.video ? "roll.video" : "roll.noVideo")}`;
      li.append(media);
      const q = siteQuality(s);
      if (q) {
        li.classList.toggle("poor", !!q.poor);
        const net = Object.assign(document.createElement("span"), { className: "site-net", textContent: `${q.loss_pct}% · ${q.rtt_ms} ms` });
        net.dataset.level = q.poor ? "poor" : "ok";
        net.title = `${t(q.poor ? "roll.poor" : "roll.netOk")}: ${qualityText(q)}`;
        li.append(net);
      }
    }
    return li;
  }));
  $("roll-page").textContent = `${rollPage + 1}/${pages}`;
  $("roll-prev").disabled = rollPage === 0;
  $("roll-next").disabled = rollPage >= pages - 1;
  $("roll-prev").onclick = () => { rollPage -= 1; renderRollCall(roll); };
  $("roll-next").onclick = () => { rollPage += 1; renderRollCall(roll); };
}
