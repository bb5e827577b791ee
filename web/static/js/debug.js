// window.bridge: a read-only view of the room state for tests and for support staff
// looking at a hall's PC through the browser console. Every read returns a fresh copy.

function copyParticipant(p) {
  return {
    id: p.id,
    name: p.name,
    role: p.role,
    unit: p.unit ?? null,
    muted: { microphone: !!p.muted?.microphone, camera: !!p.muted?.camera },
    tracks: (p.tracks ?? []).map((tr) => ({ track_id: tr.track_id, source: tr.source })),
    /** no_media | connected | reconnecting (docs/protocol.md, Presence) */
    presence: p.presence ?? "no_media",
  };
}

export function exposeState(state, inbound, outbound, paths) {
  const view = {
    /** idle | connecting | connected | reconnecting | closed | error */
    get state() {
      return state.conn;
    },
    /** How long the server holds our place after a drop (joined.resume.grace_ms), or null. */
    get resumeGraceMs() {
      return state.resume?.grace_ms ?? null;
    },
    /** The error code that ended the session (token_expired, …), or null. */
    get error() {
      return state.errorCode;
    },
    get room() {
      return state.room;
    },
    get self() {
      return state.self ? copyParticipant(state.self) : null;
    },
    get participants() {
      return [...state.participants.values()].map(copyParticipant);
    },
    /** "full" | "audioOnly" | "videoOnly" | "none": what the local devices gave us. */
    get mediaMode() {
      return state.local.mode;
    },
    /** participantId -> list of sources whose media we currently receive. */
    get receiving() {
      const out = {};
      for (const [pid, r] of state.remote) out[pid] = Object.keys(r).sort();
      return out;
    },
    get quality() {
      return Object.fromEntries(state.quality);
    },
    /** Whether our camera is stopped because our uplink is too thin for it. */
    get uplinkPaused() {
      return state.uplinkPaused;
    },
    /** Inbound RTP figures straight from getStats (framesDecoded, totalAudioEnergy…), a Promise. */
    inbound() {
      return inbound();
    },
    /** Outbound RTP figures of our publish connection (packetsSent, framesEncoded…), a Promise. */
    outbound() {
      return outbound();
    },
    /** {publish, subscribe}: each connection's chosen path ({protocol, remotePort, …}), a Promise. */
    paths() {
      return paths();
    },
  };
  Object.defineProperty(window, "bridge", { value: Object.freeze(view), writable: false, configurable: false });
}
