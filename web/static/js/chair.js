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

/** The chair's roll call: a summary line and a page of sites with their state. */
export function renderRollCall(roll) {
  if (!roll) return;
  const c = roll.counts;
  $("roll-summary").textContent = t("roll.summary", { connected: c.connected, expected: c.expected, missing: c.not_joined, left: c.left });
  const pages = Math.max(1, Math.ceil(roll.sites.length / ROLL_PAGE));
  rollPage = Math.min(rollPage, pages - 1);
  const shown = roll.sites.slice(rollPage * ROLL_PAGE, (rollPage + 1) * ROLL_PAGE);
  $("roll").replaceChildren(...shown.map((s) => {
    const li = document.createElement("li");
    li.className = `site ${s.state}`;
    if (s.unit) li.dataset.unit = s.unit;
    const name = Object.assign(document.createElement("span"), { className: "site-name", textContent: s.name });
    const state = Object.assign(document.createElement("span"), { className: "site-state", textContent: t(`roll.${s.state}`) });
    li.append(name, state);
    if (s.state === "connected") {
      const media = document.createElement("span");
      media.className = "site-media";
      media.innerHTML = icon(s.audio ? "mic" : "micOff", 14) + icon(s.video ? "cam" : "camOff", 14);
      media.title = `${t(s.audio ? "roll.audio" : "roll.noAudio")}, ${t(s.video ? "roll.video" : "roll.noVideo")}`;
      li.append(media);
    }
    return li;
  }));
  $("roll-page").textContent = `${rollPage + 1}/${pages}`;
  $("roll-prev").disabled = rollPage === 0;
  $("roll-next").disabled = rollPage >= pages - 1;
  $("roll-prev").onclick = () => { rollPage -= 1; renderRollCall(roll); };
  $("roll-next").onclick = () => { rollPage += 1; renderRollCall(roll); };
}
