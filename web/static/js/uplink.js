// The hall's own uplink: on a link too thin for its camera, the camera stops sending so
// its voice gets through. The browser's congestion control lowers the video's bitrate,
// but not under about 30 kbit/s: with the voice beside it a 64 kbit/s link overfills,
// and the province hears a quarter of the hall's audio lost (measured). The server cannot
// do this for the hall: what the hall sends is decided in the hall's browser.

/** Below this estimate of what the uplink carries (kbit/s), the camera pauses. */
export const PAUSE_BELOW_KBPS = 120;
/** At or above this it may send again. */
export const RESUME_AT_KBPS = 250;
/** The estimate must stay below (or above) the bound this long before the camera pauses
 *  (or resumes): one low sample is a burst, not a thin link. */
const HOLD_MS = 4000;
/** A paused camera is tried again after this long, doubling up to MAX_RETRY_MS: with
 *  only the voice to send the browser's estimate does not show that the link got better. */
const RETRY_MS = 30000;
const MAX_RETRY_MS = 240000;

/** What the browser estimates its uplink carries, in kbit/s, from a publish connection's
 *  getStats() (the selected candidate pair's availableOutgoingBitrate); null if unknown. */
export function availableOutgoingKbps(report) {
  for (const s of report.values()) {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && typeof s.availableOutgoingBitrate === "number") {
      return s.availableOutgoingBitrate / 1000;
    }
  }
  return null;
}

/** Decides, from samples of the uplink estimate on the caller's clock, whether the
 *  camera sends. Pure: no timers, no browser objects. */
export class UplinkGovernor {
  constructor() {
    this.paused = false;
    this.since = null; // when the estimate first crossed the bound it is now across
    this.retryAt = null;
    this.retryMs = RETRY_MS;
    this.trialUntil = null; // sending again on trial after a pause, judged at this time
  }

  /** @param {number|null} kbps the uplink estimate; @param {number} now ms;
   *  @param {boolean} audioOnly the hall chose audio only: the camera never sends.
   *  @returns {boolean} whether the camera is paused */
  update(kbps, now, audioOnly = false) {
    if (audioOnly) return true;
    if (kbps === null) return this.paused;
    if (this.paused) {
      if (kbps >= RESUME_AT_KBPS) {
        this.since ??= now;
        if (now - this.since >= HOLD_MS) this.resume(null);
      } else {
        this.since = null;
        // The browser's estimate rises only with something to send: try the camera.
        if (now >= this.retryAt) this.resume(now + 2 * HOLD_MS);
      }
      return this.paused;
    }
    if (this.trialUntil !== null) {
      if (now < this.trialUntil) return false;
      this.trialUntil = null;
      if (kbps < PAUSE_BELOW_KBPS) {
        // The link is still thin: the next try waits twice as long.
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        return this.pause(now);
      }
      this.retryMs = RETRY_MS;
    }
    if (kbps >= PAUSE_BELOW_KBPS) {
      this.since = null;
      return false;
    }
    this.since ??= now;
    return now - this.since >= HOLD_MS ? this.pause(now) : false;
  }

  pause(now) {
    this.paused = true;
    this.since = null;
    this.retryAt = now + this.retryMs;
    return true;
  }

  resume(trialUntil) {
    this.paused = false;
    this.since = null;
    this.retryAt = null;
    this.trialUntil = trialUntil;
    if (trialUntil === null) this.retryMs = RETRY_MS;
  }
}
