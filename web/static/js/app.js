// The room page: joins with the token from ?t=, publishes mic/camera, shows everyone.
// Meeting state lives here; signaling.js, media.js and ui.js do the talking and drawing.

import { applyI18n, bindLangSwitch, onLangChange, t, has } from "./i18n.js";
import { Signaling, wsUrlForPage } from "./signaling.js";
import { getLocalMedia, Publisher, Subscriber } from "./media.js";
import { InboundQuality, OutboundQuality, inbound, outbound, selectedPath } from "./stats.js";
import { RoomUi } from "./ui.js";
import { exposeState } from "./debug.js";
import { LINK_MODES, planStage, trackViews, ViewSync } from "./layout.js";
import { availableOutgoingKbps, UplinkGovernor } from "./uplink.js";
import { icon } from "./icons.js";
import { floorNotice, onQuality, renderChair, renderLinks, renderRollCall, stageHolder } from "./chair.js";
import { backLink, canRejoinBye, canRejoinError, opensAtText, titledKey } from "./endstate.js";

const FATAL_CODES = new Set(["token_missing", "token_invalid", "token_expired", "token_lifetime", "wrong_room", "room_full", "room_locked", "removed", "not_yet_open"]);
const STATS_INTERVAL_MS = 2000;
const SPEAKING_INTERVAL_MS = 300;
const MAX_BACKOFF_MS = 10_000;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
const pathRoom = decodeURIComponent(window.location.pathname.split("/")[2] ?? "");
const token = takeToken();

/**
 * The join token, moved out of the address bar as soon as the page has it: a link left
 * on screen, in the history or in a proxy's log of later requests would let anyone in.
 * It stays in this tab's sessionStorage, so a reload (or "Vào lại") still joins.
 */
function takeToken() {
  const key = `bridge.token.${pathRoom}`;
  const fromUrl = params.get("t");
  if (fromUrl) {
    try {
      sessionStorage.setItem(key, fromUrl);
    } catch {
      return fromUrl; // storage disabled: keep the link as it is, or a reload could not join
    }
    params.delete("t");
    const rest = params.toString();
    history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : "") + window.location.hash);
    return fromUrl;
  }
  // Only a reload (or back/forward) of the same page: a link opened without its token
  // must say so, not join with an old one.
  const nav = performance.getEntriesByType?.("navigation")?.[0]?.type;
  if (nav !== "reload" && nav !== "back_forward") return null;
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

const state = {
  conn: "idle", // idle | connecting | connected | reconnecting | closed | error
  errorCode: null,
  room: "", // what the header shows: the meeting's title once the server names it; never the id before
  title: null, // the meeting's title, for the end states' texts
  self: null,
  participants: new Map(), // id -> participant object of the protocol
  remote: new Map(), // participantId -> {microphone, camera, screen}: MediaStreamTrack
  quality: new Map(), // tile key -> {loss, rtt, kbps}
  local: { stream: null, mode: "none", micOn: false, camOn: false, screen: null },
  mediaReady: null,
  sig: null,
  publisher: null,
  subscriber: null,
  attempts: 0,
  retryTimer: null,
  finished: false, // bye received, fatal error, or left: no reconnect
  resume: null, // joined.resume: {credential, grace_ms}; a new socket takes the place over
  heardAt: 0, // when the server last said anything (the grace period counts from there)
  resumeAttempts: 0,
  iceRestartAt: new Map(), // pc -> when we last restarted its ICE
  panel: null, // the error/closed panel on show
  floor: null, // hands, floor holder, lock: from `joined`, then `floor` messages
  notice: null, // the page's own note, shown with the floor notice
  speakers: [], // the server's loudest speakers, loudest first
  ownTracks: new Map(), // our published track_id -> source (for `layers`)
  stagePage: 0, // the page of remote sites the stage shows (layout.js)
  linkMode: "auto", // the hall's choice for its link (layout.js LINK_MODES)
  uplinkPaused: false, // our camera stopped for a thin uplink (uplink.js)
  links: null, // the room's links: the conference it is in, the rooms linked into it
};

const ui = new RoomUi();
const inboundQ = new InboundQuality();
const outboundQ = new OutboundQuality();

/** The page's own note (no camera, viewer…) and, after it, what the chair allows. */
function notice(text) {
  state.notice = text;
  ui.showNotice([text, floorNotice(state.floor, state.self)].filter(Boolean).join(" ") || null);
}

function setConn(s) {
  state.conn = s;
  ui.setConnection(s);
  renderControls();
}

function micTrack() {
  return state.local.stream?.getAudioTracks()[0] ?? null;
}

function camTrack() {
  return state.local.stream?.getVideoTracks()[0] ?? null;
}

function renderControls() {
  const joined = state.conn === "connected" || state.conn === "reconnecting";
  const link = $("btn-link");
  const label = t(`link.${state.linkMode}`);
  link.innerHTML = `${icon("signal")}<span>${label}</span>`;
  link.title = `${label}: ${t(`link.${state.linkMode}.hint`)}`;
  link.classList.toggle("active", state.linkMode !== "auto");
  link.disabled = !joined;
  const publishing = state.self?.role !== "viewer";
  ui.setControls({
    joined,
    mic: { available: publishing && !!micTrack(), on: state.local.micOn },
    cam: { available: publishing && !!camTrack(), on: state.local.camOn },
    screen: { available: publishing && !!navigator.mediaDevices?.getDisplayMedia, on: !!state.local.screen },
  });
}

function selfMuted() {
  return { microphone: !state.local.micOn, camera: !state.local.camOn };
}

// The page joins with `default_view: "off"` and asks for every video it shows, by the
// track ids of the roster (`joined`, `track_published`), received yet or not.
const views = new ViewSync(send);
const uplink = new UplinkGovernor();

function render() {
  const models = [];
  const self = state.self;
  const holder = stageHolder(state.floor, self, state.participants, state.speakers);
  const plan = planStage([...state.participants.keys()], holder, state.stagePage, {
    grid: self?.role === "chair",
    speaker: state.speakers.find((id) => id !== self?.id) ?? null,
    mode: state.linkMode,
  });
  state.stagePage = plan.page;
  const selfName = self?.name ?? t("tile.you");
  models.push({
    key: "self:main", participantId: self?.id ?? "self", name: selfName, isSelf: true,
    muted: selfMuted(), videoTrack: state.local.camOn ? camTrack() : null, screen: false,
    quality: state.quality.get("self:main"),
  });
  if (state.local.screen) {
    models.push({ key: "self:screen", participantId: self?.id ?? "self", name: selfName, isSelf: true,
      muted: selfMuted(), videoTrack: state.local.screen, screen: true });
  }
  for (const p of state.participants.values()) {
    const r = state.remote.get(p.id) ?? {};
    if (!plan.shown.has(p.id)) continue;
    const muted = { microphone: !!p.muted?.microphone, camera: !!p.muted?.camera };
    // A video asked `off` receives nothing: show the avatar, not a frozen picture.
    const camera = plan.views.get(p.id) === "off" ? null : r.camera ?? null;
    models.push({ key: `${p.id}:main`, participantId: p.id, name: p.name, isSelf: false, muted,
      videoTrack: camera, screen: false, quality: state.quality.get(`${p.id}:main`), presence: p.presence });
    if (r.screen) {
      models.push({ key: `${p.id}:screen`, participantId: p.id, name: p.name, isSelf: false, muted,
        videoTrack: r.screen, screen: true });
    }
  }
  ui.syncTiles(models, holder ? (holder === self?.id ? "self:main" : `${holder}:main`) : null);
  views.sync(trackViews(plan, state.participants.values()), state.linkMode === "audio");
  renderStagePages(plan);
  // By slot (mid), not by participant: an audio slot passes between the loudest speakers.
  ui.syncAudio(state.subscriber?.audioTracks() ?? new Map());
  const people = [];
  if (self) people.push({ ...self, isSelf: true, muted: selfMuted() });
  for (const p of state.participants.values()) {
    people.push({ ...p, isSelf: false, muted: { microphone: !!p.muted?.microphone, camera: !!p.muted?.camera } });
  }
  ui.renderPeople(people);
  renderChair(state, send);
  renderLinks(state.links, send, self?.role === "chair");
  renderControls();
}

/** Page buttons under the stage when there are more sites than one page shows. */
function renderStagePages(plan) {
  const box = document.getElementById("stage-pages");
  box.hidden = plan.pages <= 1;
  document.getElementById("stage-page").textContent = `${plan.page + 1}/${plan.pages}`;
  const go = (d) => () => { state.stagePage = plan.page + d; render(); };
  Object.assign(document.getElementById("stage-prev"), { disabled: plan.page === 0, onclick: go(-1) });
  Object.assign(document.getElementById("stage-next"), { disabled: plan.page >= plan.pages - 1, onclick: go(1) });
}

/**
 * The panel that replaces the meeting when it cannot go on (endstate.js): kept to
 * re-translate it; names the meeting when its title is known; always leads back.
 */
function showPanel(titleKey, textKey, params, canRejoin) {
  const all = { title: state.title || undefined, ...params };
  state.panel = { titleKey, textKey: titledKey(textKey, all), params: all, canRejoin, back: null };
  renderPanel();
  backLink().then((back) => {
    if (!state.panel) return;
    state.panel.back = back;
    ui.showBack(back);
  });
}

function renderPanel() {
  const p = state.panel;
  if (!p) return;
  const params = p.params.opensAt ? { ...p.params, time: opensAtText(p.params.opensAt) } : p.params;
  ui.showError(p.titleKey, t(p.textKey, params), p.canRejoin, p.back);
}

/** `detail`: the server's `error` (its `title`, and `opens_at` for a link used early). */
function fail(code, message, detail = {}) {
  state.finished = true;
  state.errorCode = code;
  if (typeof detail.title === "string" && detail.title) {
    state.title = state.room = detail.title;
    ui.setRoom(state.room);
  }
  let key = has(`err.${code}`) ? `err.${code}` : "err.generic";
  const opensAt = Number.isFinite(detail.opens_at) ? detail.opens_at : undefined;
  if (code === "not_yet_open" && !opensAt) key = "err.not_yet_open.later";
  const titleKey = code === "not_yet_open" ? "state.early" : "state.error";
  showPanel(titleKey, key, { message: message ?? code, opensAt }, canRejoinError(code));
  setConn("error");
  teardown();
  stopLocal();
}

function send(msg) {
  state.sig?.send(msg);
}

async function connect() {
  const resuming = canResume();
  setConn(state.attempts === 0 && !resuming ? "connecting" : "reconnecting");
  const sig = new Signaling(wsUrlForPage(), { onMessage, onClose });
  state.sig = sig;
  try {
    await sig.open();
  } catch {
    if (state.sig !== sig) return; // superseded meanwhile
    if (state.attempts > 0) ui.showNotice(t("err.network"));
    onClose();
    return;
  }
  // `default_view: "off"`: the server forwards a video only once the page asks for it
  // (`view`, layout.js), so a hall of a 221-site conference receives the stage only.
  // With `resume` the new socket takes our place over: same id, same connections.
  const resume = canResume() ? state.resume.credential : undefined;
  sig.send({ type: "join", v: 1, token, room: pathRoom || undefined, default_view: "off", resume });
}

/** Within the grace period the server holds our place: resume rather than rejoin. */
function canResume() {
  return !!(state.resume && state.self && Date.now() - state.heardAt < state.resume.grace_ms - 1000);
}

function onClose() {
  if (state.finished) return;
  if (canResume()) resumeSoon();
  else scheduleReconnect();
}

/** The socket dropped: a new one soon, keeping the peer connections and the tiles. */
function resumeSoon() {
  const sig = state.sig;
  state.sig = null;
  sig?.close();
  state.resumeAttempts += 1;
  setConn("reconnecting");
  const delay = Math.min(2000, 250 * 2 ** Math.min(state.resumeAttempts, 3));
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => {
    state.retryTimer = null;
    if (!state.finished) connect();
  }, delay);
}

/** New ICE credentials for a connection that is not up (at most every 5 s each):
 *  the publish connection by our own offer, the subscribe one by asking the server. */
function restartIce(pc) {
  const last = state.iceRestartAt.get(pc) ?? 0;
  if (Date.now() - last < 5000 || !state.sig) return;
  state.iceRestartAt.set(pc, Date.now());
  if (pc === state.subscriber?.pc) send({ type: "restart_ice" });
  else if (pc === state.publisher?.pc) state.publisher.restartIce().catch((e) => console.warn("ice restart", e));
}

function scheduleReconnect() {
  if (state.finished) return;
  teardown();
  state.attempts += 1;
  setConn("reconnecting");
  render();
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(state.attempts, 5));
  // One pending attempt at most, whichever failure (socket, ICE) asked first.
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => {
    state.retryTimer = null;
    if (!state.finished) connect();
  }, delay);
}

/** Drops the session (socket, peer connections, remote media) but keeps the camera. */
function teardown() {
  const sig = state.sig;
  state.sig = null;
  state.resume = null; // the place is given up with the connections
  sig?.close();
  state.publisher?.close();
  state.subscriber?.close();
  state.publisher = null;
  state.subscriber = null;
  state.participants.clear();
  state.remote.clear();
}

function stopLocal() {
  for (const tr of state.local.stream?.getTracks() ?? []) tr.stop();
  state.local.screen?.stop();
  state.local.screen = null;
}

function watchPc(pc) {
  pc.addEventListener("connectionstatechange", () => {
    if (state.finished || !state.self) return;
    // ICE gave up on the path (a new network, or a long drop): new credentials, same
    // session. The server's roll call shows us "reconnecting" meanwhile.
    if (pc.connectionState === "failed") restartIce(pc);
    const pcs = [state.publisher?.pc, state.subscriber?.pc].filter(Boolean);
    const troubled = pcs.some((p) => p.connectionState === "disconnected" || p.connectionState === "failed");
    setConn(troubled ? "reconnecting" : "connected");
  });
}

function onTracks(list) {
  state.remote.clear();
  for (const { participantId, source, track } of list) {
    const r = state.remote.get(participantId) ?? {};
    r[source] = track;
    state.remote.set(participantId, r);
  }
  render();
}

/** Our place, taken over by a new socket: the room as it is now, and ICE restarted
 *  on any connection the drop broke. Tiles and peer connections stay. */
function onResumed(msg) {
  state.attempts = 0;
  state.resumeAttempts = 0;
  state.sig?.setPingInterval(msg.limits?.ping_interval_ms);
  state.participants.clear();
  for (const p of msg.participants ?? []) state.participants.set(p.id, p);
  state.floor = msg.floor ?? null;
  notice(state.notice);
  const pcs = [state.publisher?.pc, state.subscriber?.pc].filter(Boolean);
  for (const pc of pcs) if (pc.connectionState !== "connected") restartIce(pc);
  setConn(pcs.some((p) => p.connectionState !== "connected") ? "reconnecting" : "connected");
  render();
}

async function onJoined(msg) {
  state.resume = msg.resume?.credential ? msg.resume : null;
  if (msg.resumed && state.self?.id === msg.participant?.id && state.subscriber) {
    onResumed(msg);
    return;
  }
  state.self = msg.participant;
  state.attempts = 0;
  state.sig?.setPingInterval(msg.limits?.ping_interval_ms);
  state.notice = null;
  state.participants.clear();
  for (const p of msg.participants ?? []) state.participants.set(p.id, p);
  views.reset(); // a new session: nothing asked for yet
  state.floor = msg.floor ?? null;
  notice(null);
  if (typeof msg.title === "string" && msg.title) state.title = state.room = msg.title;
  else if (typeof msg.room === "string") state.room = msg.room;
  else if (msg.room && typeof msg.room === "object") state.room = msg.room.name ?? msg.room.id ?? state.room;
  ui.setRoom(state.room);
  setConn("connected");
  // Created before any await: the server may send subscribe_offer right after joined.
  // A closed session's late `slots` or answer must not bring its tracks back.
  const sub = new Subscriber(send, (list) => { if (state.subscriber === sub) onTracks(list); });
  state.subscriber = sub;
  watchPc(sub.pc);
  render();
  await publish();
}

async function publish() {
  const media = await state.mediaReady;
  if (!state.self || state.finished) return;
  if (state.self.role === "viewer") {
    stopLocal();
    state.local.stream = new MediaStream();
    state.local.micOn = state.local.camOn = false;
    notice(t("media.viewer"));
    render();
    return;
  }
  if (media.mode !== "full") notice(t(`media.${media.mode}`));
  if (media.mode === "none") return;
  const pub = new Publisher(send);
  state.publisher = pub;
  watchPc(pub.pc);
  const mic = micTrack();
  const cam = camTrack();
  if (mic) pub.addTrack(mic, "microphone", state.local.stream);
  if (cam) pub.addTrack(cam, "camera", state.local.stream);
  if (state.local.screen) pub.addTrack(state.local.screen, "screen");
  try {
    await pub.negotiate();
    // Tell the room what is off: toggled before the join, or no such device at all,
    // so other sites do not show a live microphone that sends nothing.
    if (!state.local.micOn) send({ type: "mute", source: "microphone", muted: true });
    if (!state.local.camOn) send({ type: "mute", source: "camera", muted: true });
  } catch (e) {
    console.warn("publish failed", e);
  }
}

function onMessage(msg) {
  state.heardAt = Date.now();
  switch (msg.type) {
    case "joined":
      onJoined(msg).catch((e) => console.warn("join", e));
      break;
    case "publish_answer":
      state.publisher?.handleAnswer(msg.sdp);
      break;
    case "subscribe_offer":
      state.subscriber?.handleOffer(msg).catch((e) => console.warn("subscribe_offer", e));
      break;
    case "slots":
      state.subscriber?.handleSlots(msg).catch((e) => console.warn("slots", e));
      break;
    case "candidate": {
      const target = msg.pc === "publish" ? state.publisher : msg.pc === "subscribe" ? state.subscriber : null;
      if (target && msg.candidate) target.addRemoteCandidate(msg.candidate);
      break;
    }
    case "participant_joined":
      if (msg.participant?.id && msg.participant.id !== state.self?.id) {
        state.participants.set(msg.participant.id, msg.participant);
        render();
      }
      break;
    case "participant_left":
      state.participants.delete(msg.participant_id);
      state.remote.delete(msg.participant_id);
      render();
      break;
    case "track_published":
    case "track_unpublished":
      onTrackEvent(msg);
      break;
    case "presence": {
      const p = state.participants.get(msg.participant_id);
      if (p) {
        p.presence = msg.presence;
        render();
      }
      break;
    }
    case "mute_changed": {
      const p = state.participants.get(msg.participant_id);
      if (p && (msg.source === "microphone" || msg.source === "camera")) {
        p.muted = { ...(p.muted ?? {}), [msg.source]: !!msg.muted };
        render();
      }
      break;
    }
    case "active_speakers":
      state.speakers = msg.participants ?? [];
      render();
      break;
    case "roll_call":
      renderRollCall(msg);
      break;
    case "links":
      state.links = msg;
      render();
      break;
    case "quality":
      onQuality(msg);
      break;
    case "layers": {
      const source = state.ownTracks.get(msg.track);
      if (source && Array.isArray(msg.active)) {
        state.publisher?.setActiveLayers(source, msg.active).catch((e) => console.warn("layers", e));
      }
      break;
    }
    case "floor":
      state.floor = msg;
      notice(state.notice);
      render();
      break;
    case "error":
      onError(msg);
      break;
    case "bye":
      onBye(msg);
      break;
    default:
      break; // pong and anything newer than this page
  }
}

function onTrackEvent(msg) {
  if (msg.participant_id === state.self?.id) {
    if (msg.type === "track_published") state.ownTracks.set(msg.track_id, msg.source);
    else state.ownTracks.delete(msg.track_id);
    return;
  }
  const p = state.participants.get(msg.participant_id);
  if (!p) return;
  const tracks = (p.tracks ?? []).filter((tr) => tr.track_id !== msg.track_id);
  if (msg.type === "track_published") tracks.push({ track_id: msg.track_id, source: msg.source });
  p.tracks = tracks;
  render();
}

function onError(msg) {
  if (msg.code === "resume_failed") {
    // Our place is gone (the grace period ended): join afresh.
    state.resume = null;
    scheduleReconnect();
    return;
  }
  if (FATAL_CODES.has(msg.code)) {
    fail(msg.code, msg.message, msg);
    return;
  }
  if (msg.request === "publish_offer") state.publisher?.handleRefusal(msg.message ?? msg.code);
  const key = `err.${msg.code}`;
  if (["forbidden", "too_many_tracks", "link_refused", "not_linkable", "invalid_room"].includes(msg.code)) ui.showNotice(has(key) ? t(key) : msg.message);
  console.warn("server error", msg.code, msg.message);
}

function onBye(msg) {
  if (state.finished) return;
  state.finished = true;
  teardown();
  stopLocal();
  const reason = msg.reason ?? "left";
  setConn("closed");
  render();
  const key = `bye.${reason}`;
  showPanel(reason === "removed" ? "state.removed" : "state.closed", has(key) ? key : "bye.left", {}, canRejoinBye(reason));
}

function leave() {
  if (state.finished) return;
  send({ type: "leave" });
  state.finished = true;
  // Give the server a moment to answer `bye`; the session ends on our side either way.
  setTimeout(() => {
    teardown();
    stopLocal();
    setConn("closed");
    render();
    showPanel("state.closed", "bye.left", {}, true);
  }, 300);
}

function toggle(source) {
  const track = source === "microphone" ? micTrack() : camTrack();
  if (!track) return;
  const key = source === "microphone" ? "micOn" : "camOn";
  state.local[key] = !state.local[key];
  track.enabled = state.local[key];
  send({ type: "mute", source, muted: !state.local[key] });
  render();
}

async function toggleScreen() {
  if (state.local.screen) {
    stopScreen();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false });
  } catch (e) {
    if (e?.name !== "NotAllowedError") ui.showNotice(t("media.screenFailed"));
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (!track) return;
  track.contentHint = "detail";
  state.local.screen = track;
  track.addEventListener("ended", () => stopScreen()); // the browser's own "stop sharing" bar
  render();
  state.publisher?.startScreen(track).catch((e) => {
    console.warn("screen share", e);
    ui.showNotice(t("media.screenFailed"));
  });
}

function stopScreen() {
  const track = state.local.screen;
  if (!track) return;
  state.local.screen = null;
  track.stop();
  render();
  state.publisher?.stopScreen().catch((e) => console.warn("stop screen", e));
}

/** Inbound figures per slot and occupant, folded per participant: the sum of what
 *  arrives, the worst loss. A slot's byte counters run on from one occupant to the
 *  next, so figures are never taken across a change of hands. */
function perParticipant(bySlot) {
  const out = new Map();
  for (const [key, v] of bySlot) {
    const pid = key.slice(0, key.lastIndexOf("\n"));
    const acc = out.get(pid);
    if (!acc) {
      out.set(pid, { ...v });
      continue;
    }
    if (v.kbps !== null) acc.kbps = (acc.kbps ?? 0) + v.kbps;
    if (v.loss !== null) acc.loss = Math.max(acc.loss ?? 0, v.loss);
  }
  return out;
}

async function sampleStats() {
  const sub = state.subscriber;
  if (sub) {
    const q = inboundQ.update(await sub.pc.getStats(), (mid) => {
      const pid = sub.participantForMid(mid);
      return pid === null ? null : `${pid}\n${mid}`;
    });
    for (const [pid, v] of perParticipant(q)) state.quality.set(`${pid}:main`, v);
  }
  const pub = state.publisher;
  if (pub) {
    const report = await pub.pc.getStats();
    state.quality.set("self:main", outboundQ.update(report));
    await governUplink(pub, availableOutgoingKbps(report));
  }
  ui.setQualities(state.quality);
  reportQuality();
}

/** The camera pauses while our uplink is too thin for it (uplink.js), and when the hall
 *  chose audio only; the hall is told, for the others see its picture stop. */
async function governUplink(pub, kbps) {
  const paused = uplink.update(kbps, Date.now(), state.linkMode === "audio");
  if (paused === pub.cameraPaused) return;
  await pub.setCameraPaused(paused);
  state.uplinkPaused = paused && state.linkMode !== "audio";
  const text = t("link.cameraPaused");
  if (state.uplinkPaused) notice(text);
  else if (state.notice === text) notice(null);
}

/** Our own network, for the chair's roll call: the worst loss and round trip we see,
 *  what we receive in all and what we send. The server adds its estimate and layer. */
function reportQuality() {
  if (state.conn !== "connected") return;
  const recv = [...state.quality.entries()].filter(([k]) => k !== "self:main").map(([, v]) => v);
  const own = state.quality.get("self:main");
  const figures = [...recv, own].filter((q) => q && q.kbps !== null);
  if (!figures.length) return;
  const worst = (f) => Math.max(0, ...figures.map((q) => q[f] ?? 0));
  send({
    type: "quality",
    loss_pct: Math.min(100, worst("loss")),
    rtt_ms: Math.min(60000, Math.round(worst("rtt"))),
    recv_kbps: recv.reduce((n, q) => n + (q?.kbps ?? 0), 0),
    send_kbps: own?.kbps ?? 0,
  });
}

async function currentInbound() {
  const sub = state.subscriber;
  if (!sub) return [];
  return inbound(await sub.pc.getStats(), (mid) => sub.trackForMid(mid));
}

/** The path each of our two connections takes ({publish, subscribe}), for support. */
async function currentPaths() {
  const path = async (c) => (c ? selectedPath(await c.pc.getStats()) : null);
  return { publish: await path(state.publisher), subscribe: await path(state.subscriber) };
}

const NO_MEDIA = () => ({ stream: new MediaStream(), mode: "none", error: null });

/** The role claim of the join token. Unverified (the server verifies): only a UI hint. */
function tokenRole(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).role ?? null;
  } catch {
    return null;
  }
}

function start() {
  applyI18n(document);
  bindLangSwitch($("lang"));
  onLangChange(() => {
    ui.setConnection(state.conn);
    ui.setRoom(state.room);
    renderPanel();
    render();
  });
  ui.setRoom(state.room);
  $("btn-mic").addEventListener("click", () => toggle("microphone"));
  $("btn-cam").addEventListener("click", () => toggle("camera"));
  $("btn-screen").addEventListener("click", () => toggleScreen());
  $("btn-people").addEventListener("click", () => ui.togglePeople());
  $("btn-link").addEventListener("click", () => {
    state.linkMode = LINK_MODES[(LINK_MODES.indexOf(state.linkMode) + 1) % LINK_MODES.length];
    render();
  });
  $("btn-leave").addEventListener("click", () => leave());
  $("rejoin").addEventListener("click", () => window.location.reload());
  exposeState(state, currentInbound, async () => (state.publisher ? outbound(await state.publisher.pc.getStats()) : []), currentPaths);
  render();
  if (!token) return fail("token_missing");
  if (!window.RTCPeerConnection || !window.WebSocket) return fail("unsupported");
  // Ask for devices while the socket connects, so the preview shows at once; a viewer's
  // link says so, and a viewer is not asked for devices it may not use.
  const devices = tokenRole(token) === "viewer" ? Promise.resolve(NO_MEDIA()) : getLocalMedia();
  state.mediaReady = devices.then((media) => {
    if (state.finished) {
      for (const tr of media.stream.getTracks()) tr.stop();
      return media;
    }
    state.local.stream = media.stream;
    state.local.mode = media.mode;
    state.local.micOn = !!micTrack();
    state.local.camOn = !!camTrack();
    render();
    return media;
  });
  setInterval(() => sampleStats().catch(() => {}), STATS_INTERVAL_MS);
  setInterval(() => ui.setSpeaking(state.subscriber?.speakingParticipants() ?? new Set()), SPEAKING_INTERVAL_MS);
  setTimeout(() => sampleStats().catch(() => {}), STATS_INTERVAL_MS / 2); // figures sooner after load
  connect();
}

start();
