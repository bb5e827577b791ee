use super::*;

fn p(s: &str) -> ParticipantId {
    ParticipantId(s.into())
}
fn t(s: &str) -> TrackId {
    TrackId(s.into())
}
fn audible(list: &[(&str, &str)]) -> Vec<(TrackId, ParticipantId)> {
    list.iter().map(|(tr, o)| (t(tr), p(o))).collect()
}

#[test]
fn no_mixed_subscriber_needs_no_mix() {
    let a = audible(&[("a-mic", "a"), ("b-mic", "b")]);
    assert_eq!(plan(&a, &[]), MixPlan::default());
}

#[test]
fn listeners_who_are_not_heard_share_one_mix_of_everyone() {
    let a = audible(&[("a-mic", "a"), ("b-mic", "b"), ("c-mic", "c")]);
    let got = plan(&a, &[p("hall-2"), p("hall-1")]);
    assert_eq!(got.feed, vec![t("a-mic"), t("b-mic"), t("c-mic")]);
    assert_eq!(
        got.mixes,
        vec![MixSpec {
            key: MixKey::Everyone,
            exclude: vec![]
        }]
    );
    assert_eq!(
        got.listeners,
        vec![
            (p("hall-1"), MixKey::Everyone),
            (p("hall-2"), MixKey::Everyone)
        ]
    );
}

#[test]
fn an_audible_listener_gets_a_mix_without_its_own_voice() {
    let a = audible(&[("a-mic", "a"), ("b-mic", "b"), ("c-mic", "c")]);
    let got = plan(&a, &[p("c"), p("hall")]);
    assert_eq!(
        got.mixes,
        vec![
            MixSpec {
                key: MixKey::Everyone,
                exclude: vec![]
            },
            MixSpec {
                key: MixKey::Without(p("c")),
                exclude: vec![t("c-mic")]
            },
        ]
    );
    assert_eq!(
        got.listeners,
        vec![
            (p("c"), MixKey::Without(p("c"))),
            (p("hall"), MixKey::Everyone)
        ]
    );
    // Only audible listeners: no "everyone" mix is made for nobody.
    let only = plan(&a, &[p("a"), p("b")]);
    let keys: Vec<MixKey> = only.mixes.iter().map(|m| m.key.clone()).collect();
    assert_eq!(keys, vec![MixKey::Without(p("a")), MixKey::Without(p("b"))]);
}

#[test]
fn audio_only_by_estimate_or_by_views_said_off() {
    // The estimate alone.
    assert!(audio_only(Some(AUDIO_ONLY_BPS - 1), false, true));
    assert!(!audio_only(Some(AUDIO_ONLY_BPS), false, false));
    assert!(!audio_only(None, false, false));
    // Views: said off and shows nothing.
    assert!(audio_only(None, true, false));
    assert!(!audio_only(None, true, true));
    assert!(!audio_only(Some(2_000_000), true, true));
}

#[test]
fn one_source_is_not_mixed() {
    assert!(!wants_mix(true, 1));
    assert!(wants_mix(true, 2));
    assert!(!wants_mix(false, 3));
}

#[test]
fn the_mode_turns_on_after_the_hold_and_off_at_once() {
    let t0 = Instant::now();
    let mut h = MixHold::default();
    assert!(!h.update(true, t0));
    assert!(!h.update(true, t0 + ENTER_HOLD / 2));
    assert!(h.update(true, t0 + ENTER_HOLD));
    assert!(h.update(true, t0 + ENTER_HOLD * 3));
    assert!(!h.update(false, t0 + ENTER_HOLD * 4));
    // A wish interrupted starts its hold again.
    assert!(!h.update(true, t0 + ENTER_HOLD * 5));
    assert!(!h.update(false, t0 + ENTER_HOLD * 5 + ENTER_HOLD / 2));
    assert!(!h.update(true, t0 + ENTER_HOLD * 6));
    assert!(h.update(true, t0 + ENTER_HOLD * 7));
}

#[test]
fn levels_of_silence_and_full_scale() {
    assert_eq!(level_dbov(&[0; 960]), 127);
    assert_eq!(level_dbov(&[]), 127);
    let square: Vec<i16> = (0..960)
        .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
        .collect();
    assert_eq!(level_dbov(&square), 0);
    let half: Vec<i16> = square.iter().map(|s| s / 10).collect();
    assert_eq!(level_dbov(&half), 20);
}
