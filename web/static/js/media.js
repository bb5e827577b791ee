// The two peer connections of docs/protocol.md: we offer on the publish connection
// (sendonly transceivers), the server offers on the subscribe connection.

// With simulcast the camera goes out in three encodings, lowest first (the server's
// `layers` message uses the same order): a thumbnail a commune hall on a thin link can
// always take, a middle one, and the main stage's full picture. The server pauses
// encodings nobody receives, so a hall that is only ever a thumbnail sends only `q`.
//
// The server's WebRTC stack (rtc 0.21.1) forgets which SSRC carries which rid whenever
// the publish connection is renegotiated (a screen share starting or stopping), and
// the browser stops naming the rid once a stream is acknowledged: the camera would
// freeze for everyone. So every renegotiation replaces the simulcast camera sender with
// a new one, whose fresh streams name their rids again (`renewCamera`); viewers see
// the camera continue after a keyframe. `simulcast=0` in the page's address sends one
// encoding instead, capped for rural links.
export const SIMULCAST = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];
const CAMERA_MAX_BITRATE = 600_000;
const SCREEN_MAX_BITRATE = 1_200_000;
const ANSWER_TIMEOUT_MS = 15_000;

const SIMULCAST_ON = new URLSearchParams(globalThis.location?.search ?? "").get("simulcast") !== "0";
const VIDEO_CONSTRAINTS = SIMULCAST_ON
  ? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 20, max: 30 } }
  : { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20, max: 30 } };
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Asks for camera and microphone, falling back to what is available: both, audio only,
 * video only, or nothing (receive only). Never throws.
 * @returns {Promise<{stream: MediaStream, mode: "full"|"audioOnly"|"videoOnly"|"none", error: string|null}>}
 */
export async function getLocalMedia() {
  if (!navigator.mediaDevices?.getUserMedia) return { stream: new MediaStream(), mode: "none", error: "unsupported" };
  const attempts = [
    ["full", { audio: AUDIO_CONSTRAINTS, video: VIDEO_CONSTRAINTS }],
    ["audioOnly", { audio: AUDIO_CONSTRAINTS }],
    ["videoOnly", { video: VIDEO_CONSTRAINTS }],
  ];
  let lastError = null;
  for (const [mode, constraints] of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      return { stream, mode, error: null };
    } catch (e) {
      lastError = e?.name ?? String(e);
      // A denied permission covers both devices: asking again per device only adds prompts.
      if (lastError === "NotAllowedError" && mode !== "full") break;
    }
  }
  return { stream: new MediaStream(), mode: "none", error: lastError };
}

function candidateJson(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
}

/** Remote candidates may arrive before the description they belong to: keep them until then. */
class CandidateBuffer {
  constructor(pc) {
    this.pc = pc;
    this.pending = [];
  }
  add(candidate) {
    if (this.pc.remoteDescription) {
      this.pc.addIceCandidate(candidate).catch((e) => console.warn("addIceCandidate", e));
    } else {
      this.pending.push(candidate);
    }
  }
  flush() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) this.add(c);
  }
}

export class Publisher {
  /** @param {(msg: object) => void} send */
  constructor(send) {
    this.send = send;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.candidates = new CandidateBuffer(this.pc);
    this.sources = new Map(); // transceiver -> "microphone" | "camera" | "screen"
    this.streams = new Map(); // transceiver -> the MediaStream its track belongs to
    this.chain = Promise.resolve();
    this.waiting = null; // {resolve, reject} of the offer in flight
    this.layers = new Map(); // source -> the server's last `layers` (which encodings anyone receives)
    this.cameraPaused = false; // the uplink is too thin for the camera (uplink.js)
    this.pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send({ type: "candidate", pc: "publish", candidate: candidateJson(ev.candidate) });
    };
  }

  addTrack(track, source, stream) {
    const init = { direction: "sendonly", streams: stream ? [stream] : [] };
    if (source === "camera" && SIMULCAST_ON) init.sendEncodings = SIMULCAST.map((e) => ({ ...e }));
    else if (track.kind === "video") {
      init.sendEncodings = [{ maxBitrate: source === "screen" ? SCREEN_MAX_BITRATE : CAMERA_MAX_BITRATE }];
    }
    const tr = this.pc.addTransceiver(track, init);
    this.sources.set(tr, source);
    this.streams.set(tr, stream);
    return tr;
  }

  /** Before a renegotiation: a new sender for a simulcast camera (see SIMULCAST). */
  renewCamera() {
    if (!SIMULCAST_ON) return;
    for (const [tr, source] of [...this.sources]) {
      if (source !== "camera" || tr.stopped || !tr.sender.track) continue;
      const track = tr.sender.track;
      const stream = this.streams.get(tr);
      tr.stop();
      this.sources.delete(tr);
      this.streams.delete(tr);
      this.addTrack(track, "camera", stream);
    }
  }

  /** The server's `layers`: which encodings of `source`'s track anybody receives. */
  async setActiveLayers(source, active) {
    this.layers.set(source, active);
    await this.applyLayers(source);
  }

  /** Stops (or resumes) the camera's sending, whatever the server asked for. */
  async setCameraPaused(paused) {
    if (this.cameraPaused === paused) return;
    this.cameraPaused = paused;
    await this.applyLayers("camera");
  }

  async applyLayers(source) {
    const active = this.layers.get(source) ?? [];
    const paused = source === "camera" && this.cameraPaused;
    for (const [tr, s] of this.sources) {
      if (s !== source || tr.stopped) continue;
      const params = tr.sender.getParameters();
      if (!params.encodings?.length) return;
      let changed = false;
      params.encodings.forEach((e, i) => {
        const on = !paused && active[i] !== false; // an encoding the server did not mention stays on
        if (e.active !== on) {
          e.active = on;
          changed = true;
        }
      });
      if (changed) await tr.sender.setParameters(params);
    }
  }

  /** Starts sending a screen track, reusing a stopped screen transceiver so m-lines do not pile up. */
  async startScreen(track) {
    for (const [tr, source] of this.sources) {
      if (source === "screen" && tr.direction === "inactive" && !tr.stopped) {
        await tr.sender.replaceTrack(track);
        tr.direction = "sendonly";
        this.renewCamera();
        return this.negotiate();
      }
    }
    this.addTrack(track, "screen");
    this.renewCamera();
    return this.negotiate();
  }

  async stopScreen() {
    for (const [tr, source] of this.sources) {
      if (source === "screen" && tr.direction === "sendonly") {
        await tr.sender.replaceTrack(null);
        tr.direction = "inactive";
      }
    }
    this.renewCamera();
    return this.negotiate();
  }

  /** The `tracks` field of publish_offer: live transceivers only, mids known after setLocalDescription. */
  publishedTracks() {
    const out = [];
    for (const [tr, source] of this.sources) {
      if (tr.mid !== null && tr.direction === "sendonly" && tr.sender.track) out.push({ mid: tr.mid, source });
    }
    return out;
  }

  /** New ICE credentials on the next offer (the network changed or dropped). The
   *  camera gets a new sender as on any renegotiation (see SIMULCAST). */
  restartIce() {
    this.renewCamera();
    this.pc.restartIce();
    return this.negotiate();
  }

  /** One offer at a time: a renegotiation asked for while one is in flight waits its turn. */
  negotiate() {
    const run = () => this.offerOnce();
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  async offerOnce() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const answered = new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      setTimeout(() => reject(new Error("no publish_answer")), ANSWER_TIMEOUT_MS);
    });
    this.send({ type: "publish_offer", sdp: this.pc.localDescription.sdp, tracks: this.publishedTracks() });
    try {
      const sdp = await answered;
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      this.candidates.flush();
    } catch (e) {
      // Back to stable so the next negotiation can start from a clean state.
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw e;
    } finally {
      this.waiting = null;
    }
  }

  handleAnswer(sdp) {
    this.waiting?.resolve(sdp);
  }

  /** The server refused our offer (error with request publish_offer). */
  handleRefusal(message) {
    this.waiting?.reject(new Error(message));
  }

  addRemoteCandidate(c) {
    this.candidates.add(c);
  }

  close() {
    this.pc.close();
  }
}

/** The mid -> {track_id, participant_id, source, mid} map of a `subscribe_offer`'s or
 *  a `slots` message's `tracks`. */
function midMap(tracks) {
  const list = Array.isArray(tracks) ? tracks : [];
  return new Map(list.filter((t) => t && typeof t.mid === "string").map((t) => [t.mid, t]));
}

/**
 * The subscribe connection: a bounded set of reusable m-lines ("slots"). Which
 * participant's track fills a slot is the server's choice and changes without
 * renegotiation (`slots`), so the same MediaStreamTrack may show one participant now
 * and another later; the stream ids of the offer do not name participants.
 */
export class Subscriber {
  /**
   * @param {(msg: object) => void} send
   * @param {(tracks: Array<{participantId: string, source: string, track: MediaStreamTrack, mid: string}>) => void} onTracks
   */
  constructor(send, onTracks) {
    this.send = send;
    this.onTracks = onTracks;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.candidates = new CandidateBuffer(this.pc);
    // mid -> {track_id, participant_id, source, mid}: who fills each slot now. Looked
    // up whenever media is attributed (tiles, speaking, stats), never kept per track.
    this.mids = new Map();
    this.chain = Promise.resolve();
    this.pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send({ type: "candidate", pc: "subscribe", candidate: candidateJson(ev.candidate) });
    };
  }

  handleOffer(msg) {
    const run = () => this.answer(msg);
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  /** The server's `slots`: the full mid -> source map, changed without an offer (a
   *  slot now carries another participant's track, or none). Queued behind any offer
   *  in flight, so that offer's older `tracks` cannot overwrite it afterwards. */
  handleSlots(msg) {
    const run = () => {
      this.mids = midMap(msg.tracks);
      this.onTracks(this.liveTracks());
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  async answer(msg) {
    this.mids = midMap(msg.tracks);
    await this.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.send({ type: "subscribe_answer", sdp: this.pc.localDescription.sdp });
    this.candidates.flush();
    this.onTracks(this.liveTracks());
  }

  /** Tracks we currently receive, each mapped to its participant through the mid map
   *  (the offer's `tracks`, then `slots`). An m-line the map does not list is an idle
   *  slot: it carries nothing now and is not reported. */
  liveTracks() {
    const out = [];
    for (const tr of this.pc.getTransceivers()) {
      const info = tr.mid !== null ? this.mids.get(tr.mid) : undefined;
      if (!info || tr.stopped || tr.currentDirection === "inactive" || !tr.receiver.track) continue;
      out.push({ participantId: info.participant_id, source: info.source, track: tr.receiver.track, mid: tr.mid });
    }
    return out;
  }

  /** Mid -> track of every audio m-line that can carry sound, idle slots included: an
   *  audio slot passes from one speaker to the next without a new element (or a new
   *  autoplay refusal), and an idle one plays silence. */
  audioTracks() {
    const out = new Map();
    for (const tr of this.pc.getTransceivers()) {
      if (tr.mid === null || tr.stopped || tr.receiver.track?.kind !== "audio") continue;
      if (tr.currentDirection !== "recvonly" && tr.currentDirection !== "sendrecv") continue;
      out.set(tr.mid, tr.receiver.track);
    }
    return out;
  }

  /** Participants whose microphone is audible right now (RTP audio levels, cheap to poll). */
  speakingParticipants(threshold = 0.03) {
    const out = new Set();
    for (const tr of this.pc.getTransceivers()) {
      const info = tr.mid !== null ? this.mids.get(tr.mid) : undefined;
      if (!info || info.source !== "microphone") continue;
      const level = tr.receiver.getSynchronizationSources?.()[0]?.audioLevel ?? 0;
      if (level > threshold) out.add(info.participant_id);
    }
    return out;
  }

  /** The mid map's entry for a mid: {track_id, participant_id, source, mid}, or null (idle). */
  trackForMid(mid) {
    return this.mids.get(mid) ?? null;
  }

  participantForMid(mid) {
    return this.mids.get(mid)?.participant_id ?? null;
  }

  addRemoteCandidate(c) {
    this.candidates.add(c);
  }

  close() {
    this.pc.close();
  }
}
