// Connection quality from getStats: packet loss, round-trip time and bitrate, as deltas
// between two samples so the figures describe the last few seconds, not the whole call.

/** Thresholds chosen for rural links: a few percent loss is still a usable meeting. */
export function qualityLevel(q) {
  if (!q || q.kbps === null) return "unknown";
  const loss = q.loss ?? 0;
  const rtt = q.rtt ?? 0;
  if (loss < 2 && rtt < 200) return "good";
  if (loss < 8 && rtt < 500) return "fair";
  return "poor";
}

function selectedPairRtt(report) {
  let rtt = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const pair = report.get(s.selectedCandidatePairId);
      if (pair && typeof pair.currentRoundTripTime === "number") rtt = pair.currentRoundTripTime * 1000;
    }
  });
  if (rtt === null) {
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && typeof s.currentRoundTripTime === "number") {
        rtt = s.currentRoundTripTime * 1000;
      }
    });
  }
  return rtt;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The path a connection's media takes: the selected candidate pair's protocol and the
 * server's address and port ("udp" to the media port, or "tcp" to the media or HTTPS
 * port for a hall behind a strict firewall). Null before ICE has chosen.
 */
export function selectedPath(report) {
  let path = null;
  report.forEach((s) => {
    if (s.type !== "transport" || !s.selectedCandidatePairId) return;
    const pair = report.get(s.selectedCandidatePairId);
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    if (!local || !remote) return;
    path = {
      protocol: local.protocol ?? remote.protocol ?? null,
      localType: local.candidateType ?? null,
      remoteAddress: remote.address ?? remote.ip ?? null,
      remotePort: remote.port ?? null,
    };
  });
  return path;
}

/** Receive-side quality per participant of the subscribe connection. */
export class InboundQuality {
  constructor() {
    this.prev = new Map(); // participantId -> {t, bytes, lost, received}
  }

  /**
   * @param {RTCStatsReport} report
   * @param {(mid: string) => string|null} participantForMid
   * @returns {Map<string, {loss: number|null, rtt: number|null, kbps: number|null}>}
   */
  update(report, participantForMid) {
    const rtt = selectedPairRtt(report);
    const now = new Map();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp" || typeof s.mid !== "string") return;
      const pid = participantForMid(s.mid);
      if (!pid) return;
      const acc = now.get(pid) ?? { t: s.timestamp, bytes: 0, lost: 0, received: 0 };
      acc.bytes += s.bytesReceived ?? 0;
      acc.lost += Math.max(0, s.packetsLost ?? 0);
      acc.received += s.packetsReceived ?? 0;
      now.set(pid, acc);
    });
    const out = new Map();
    for (const [pid, cur] of now) {
      const before = this.prev.get(pid);
      if (!before || cur.t <= before.t) {
        out.set(pid, { loss: null, rtt, kbps: null });
        continue;
      }
      const dLost = Math.max(0, cur.lost - before.lost);
      const dRecv = Math.max(0, cur.received - before.received);
      const total = dLost + dRecv;
      out.set(pid, {
        loss: total > 0 ? round((100 * dLost) / total, 1) : 0,
        rtt: rtt === null ? null : Math.round(rtt),
        kbps: Math.round(((cur.bytes - before.bytes) * 8) / (cur.t - before.t)),
      });
    }
    this.prev = now;
    return out;
  }
}

/** Send-side quality of our own publish connection, from the server's receiver reports. */
export class OutboundQuality {
  constructor() {
    this.prev = null;
  }

  update(report) {
    let bytes = 0;
    let t = 0;
    let lossSum = 0;
    let lossCount = 0;
    let rtt = null;
    report.forEach((s) => {
      if (s.type === "outbound-rtp") {
        bytes += s.bytesSent ?? 0;
        t = Math.max(t, s.timestamp);
      } else if (s.type === "remote-inbound-rtp") {
        if (typeof s.fractionLost === "number") {
          lossSum += s.fractionLost;
          lossCount += 1;
        }
        if (typeof s.roundTripTime === "number") rtt = s.roundTripTime * 1000;
      }
    });
    if (rtt === null) rtt = selectedPairRtt(report);
    const before = this.prev;
    this.prev = { t, bytes };
    if (!before || t <= before.t) return { loss: null, rtt: null, kbps: null };
    return {
      loss: lossCount ? round((100 * lossSum) / lossCount, 1) : 0,
      rtt: rtt === null ? null : Math.round(rtt),
      kbps: Math.round(((bytes - before.bytes) * 8) / (t - before.t)),
    };
  }
}

/** Raw inbound figures for tests and diagnostics (window.bridge.inbound()). */
export function inbound(report, trackForMid) {
  const out = [];
  report.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const info = typeof s.mid === "string" ? trackForMid(s.mid) : null;
    out.push({
      kind: s.kind,
      participant_id: info?.participant_id ?? null,
      source: info?.source ?? null,
      mid: s.mid ?? null,
      packetsReceived: s.packetsReceived ?? 0,
      bytesReceived: s.bytesReceived ?? 0,
      framesDecoded: s.framesDecoded ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      totalAudioEnergy: s.totalAudioEnergy ?? 0,
    });
  });
  return out;
}

/** Raw outbound figures of the publish connection (window.bridge.outbound()). */
export function outbound(report) {
  const out = [];
  report.forEach((s) => {
    if (s.type !== "outbound-rtp") return;
    out.push({
      kind: s.kind,
      mid: s.mid ?? null,
      rid: s.rid ?? null,
      frameWidth: s.frameWidth ?? 0,
      packetsSent: s.packetsSent ?? 0,
      bytesSent: s.bytesSent ?? 0,
      framesEncoded: s.framesEncoded ?? 0,
      active: s.active ?? null,
      qualityLimitationReason: s.qualityLimitationReason ?? null,
    });
  });
  return out;
}
