//! What a publisher declares beside its offer (`publish_offer.tracks`), checked against
//! the offer itself before anything is applied. A track list that names an m-line the
//! offer does not have, or a camera on an audio m-line, used to be accepted: the server
//! then announced a track that never came, or renegotiated every subscriber for it
//! without end. Pure: the offer's text in, a refusal's reason out.

use crate::api::TrackSpec;
use std::collections::HashSet;

/// One audio or video m-line of an offer: its mid, kind and whether it sends.
#[derive(Debug, PartialEq)]
struct Section {
    mid: Option<String>,
    audio: bool,
    sends: bool,
}

fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut media = false;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let mut words = m.split_whitespace();
            let kind = words.next().unwrap_or_default();
            // Port 0: an m-line rejected or stopped, sending nothing.
            let open = words.next() != Some("0");
            media = kind == "audio" || kind == "video";
            if media {
                out.push(Section {
                    mid: None,
                    audio: kind == "audio",
                    // Without a direction attribute an m-line is sendrecv (RFC 8866).
                    sends: open,
                });
            }
            continue;
        }
        let Some(s) = out.last_mut().filter(|_| media) else {
            continue;
        };
        if let Some(mid) = line.strip_prefix("a=mid:") {
            s.mid = Some(mid.to_owned());
        } else if line == "a=recvonly" || line == "a=inactive" {
            s.sends = false;
        }
    }
    out
}

/// Every m-line the offer sends media on is named by exactly one track of its kind
/// (a microphone on audio, a camera or a screen on video), and every track names one.
pub fn check(sdp: &str, tracks: &[TrackSpec]) -> Result<(), String> {
    let sections = sections(sdp);
    let mut named = HashSet::new();
    for t in tracks {
        if !named.insert(t.mid.as_str()) {
            return Err(format!("tracks: mid {:?} is named twice", t.mid));
        }
        let Some(s) = sections.iter().find(|s| s.mid.as_deref() == Some(&t.mid)) else {
            return Err(format!(
                "tracks: mid {:?} is not an m-line of the offer",
                t.mid
            ));
        };
        if s.audio != t.source.is_audio() {
            let kind = if s.audio { "audio" } else { "video" };
            return Err(format!(
                "tracks: mid {:?} is an {kind} m-line, not a {:?}",
                t.mid, t.source
            ));
        }
        if !s.sends {
            return Err(format!(
                "tracks: mid {:?} sends nothing in the offer",
                t.mid
            ));
        }
    }
    match sections
        .iter()
        .find(|s| s.sends && !s.mid.as_deref().is_some_and(|m| named.contains(m)))
    {
        Some(s) => Err(format!(
            "tracks: the offer sends on m-line {:?}, which no track names",
            s.mid.as_deref().unwrap_or("(no mid)")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TrackSource;

    const CHROME: &str = include_str!("testdata/chrome_offer.sdp");

    fn t(mid: &str, source: TrackSource) -> TrackSpec {
        TrackSpec {
            mid: mid.to_owned(),
            source,
        }
    }

    #[test]
    fn a_browser_offer_with_its_tracks_passes() {
        let ok = [t("0", TrackSource::Microphone), t("1", TrackSource::Camera)];
        assert_eq!(check(CHROME, &ok), Ok(()));
        let screen = [t("0", TrackSource::Microphone), t("1", TrackSource::Screen)];
        assert_eq!(check(CHROME, &screen), Ok(()));
    }

    #[test]
    fn unknown_swapped_repeated_or_missing_tracks_are_refused() {
        use TrackSource::*;
        let cases: [(&[TrackSpec], &str); 5] = [
            (&[], "which no track names"),
            (&[t("0", Microphone), t("7", Camera)], "not an m-line"),
            (&[t("0", Camera), t("1", Microphone)], "is an audio m-line"),
            (&[t("0", Microphone), t("0", Microphone)], "named twice"),
            (&[t("0", Microphone)], "\"1\", which no track names"),
        ];
        for (tracks, why) in cases {
            let e = check(CHROME, tracks).expect_err(why);
            assert!(e.contains(why), "{e} (want {why})");
        }
    }

    #[test]
    fn m_lines_that_send_nothing_need_no_track() {
        let stopped = CHROME.replace("m=video 9 ", "m=video 0 ");
        assert_eq!(check(&stopped, &[t("0", TrackSource::Microphone)]), Ok(()));
        let inactive = CHROME.replacen("a=sendonly", "a=inactive", 2);
        assert_eq!(check(&inactive, &[]), Ok(()));
        let e = check(&inactive, &[t("0", TrackSource::Microphone)]).unwrap_err();
        assert!(e.contains("sends nothing"), "{e}");
    }
}
