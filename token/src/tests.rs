use super::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::time::Duration;

const NOW: u64 = 1_800_000_000;

fn grant(room: &str) -> Grant {
    Grant {
        room: room.into(),
        name: "Xã Thanh Sơn".into(),
        role: Role::Member,
        unit: Some("25222".into()),
    }
}

fn b64url(bytes: &[u8]) -> String {
    // Small base64url (no padding) so tests can hand-craft tokens.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn minted_token_verifies_with_its_claims() {
    let key = TokenKey::generate();
    let token = key
        .mint(grant("demo"), NOW, Duration::from_secs(3600))
        .unwrap();
    let claims = key.verify(&token, Some("demo"), NOW + 10).unwrap();
    assert_eq!(claims.room, "demo");
    assert_eq!(claims.name, "Xã Thanh Sơn");
    assert_eq!(claims.role, Role::Member);
    assert_eq!(claims.unit.as_deref(), Some("25222"));
    assert_eq!(claims.iat, NOW);
    assert_eq!(claims.exp, NOW + 3600);
    assert_eq!(claims.sub.len(), 32);
    // Each token gets its own id.
    let other = key
        .mint(grant("demo"), NOW, Duration::from_secs(3600))
        .unwrap();
    assert_ne!(key.verify(&other, None, NOW).unwrap().sub, claims.sub);
}

#[test]
fn empty_token_is_missing() {
    let key = TokenKey::generate();
    let err = key.verify("  ", Some("demo"), NOW).unwrap_err();
    assert!(matches!(err, TokenError::Missing));
    assert_eq!(err.code(), "token_missing");
}

#[test]
fn expired_token_is_refused() {
    let key = TokenKey::generate();
    let token = key
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    assert!(key.verify(&token, Some("demo"), NOW + 59).is_ok());
    let err = key.verify(&token, Some("demo"), NOW + 60).unwrap_err();
    assert_eq!(err.code(), "token_expired");
}

#[test]
fn token_signed_by_another_key_is_refused() {
    let ours = TokenKey::generate();
    let theirs = TokenKey::generate();
    let forged = theirs
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    let err = ours.verify(&forged, Some("demo"), NOW).unwrap_err();
    assert_eq!(err.code(), "token_invalid");
}

#[test]
fn tampered_payload_is_refused() {
    let key = TokenKey::generate();
    let token = key
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let claims = key.verify(&token, None, NOW).unwrap();
    let promoted = Claims {
        role: Role::Chair,
        ..claims
    };
    let payload = b64url(&serde_json::to_vec(&promoted).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    let err = key.verify(&tampered, Some("demo"), NOW).unwrap_err();
    assert_eq!(err.code(), "token_invalid");
}

#[test]
fn wrong_room_is_refused() {
    let key = TokenKey::generate();
    let token = key
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    let err = key.verify(&token, Some("other"), NOW).unwrap_err();
    assert_eq!(err.code(), "wrong_room");
    assert!(err.to_string().contains("other"));
}

#[test]
fn alg_none_is_refused() {
    let key = TokenKey::generate();
    let token = key
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    for unsigned in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        let err = key.verify(&unsigned, Some("demo"), NOW).unwrap_err();
        assert_eq!(err.code(), "token_invalid", "{unsigned}");
    }
}

#[test]
fn other_hmac_algorithm_with_same_secret_is_refused() {
    let secret = [7u8; 32];
    let key = TokenKey::from_secret(&secret);
    let claims = key
        .verify(
            &key.mint(grant("demo"), NOW, Duration::from_secs(60))
                .unwrap(),
            None,
            NOW,
        )
        .unwrap();
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let err = key.verify(&hs512, Some("demo"), NOW).unwrap_err();
    assert_eq!(err.code(), "token_invalid");
    assert!(err.to_string().contains("HS256"), "{err}");
}

#[test]
fn token_without_exp_is_refused() {
    let secret = [9u8; 32];
    let key = TokenKey::from_secret(&secret);
    let no_exp = serde_json::json!({"room":"demo","name":"x","role":"member","sub":"s","iat":NOW});
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &no_exp,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let err = key.verify(&token, Some("demo"), NOW).unwrap_err();
    assert_eq!(err.code(), "token_invalid");
    assert!(err.to_string().contains("exp"), "{err}");
}

#[test]
fn token_before_nbf_is_refused_outside_leeway() {
    let key = TokenKey::generate();
    let claims = Claims {
        room: "demo".into(),
        name: "x".into(),
        role: Role::Viewer,
        unit: None,
        sub: random_id(),
        iat: NOW,
        exp: NOW + 7200,
        nbf: Some(NOW + 3600),
    };
    let token = key.sign(&claims).unwrap();
    assert_eq!(
        key.verify(&token, None, NOW).unwrap_err().code(),
        "token_invalid"
    );
    assert!(key.verify(&token, None, NOW + 3590).is_ok());
}

#[test]
fn garbage_is_invalid_not_a_panic() {
    let key = TokenKey::generate();
    for junk in ["abc", "a.b.c", "....", "eyJ.eyJ.x", "\u{1F600}.\u{0}.x"] {
        assert_eq!(
            key.verify(junk, None, NOW).unwrap_err().code(),
            "token_invalid"
        );
    }
}

#[test]
fn secret_file_is_created_once_with_mode_0600_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = TokenKey::load_or_create(&data).unwrap();
    let path = data.join(SECRET_FILE);
    assert_eq!(std::fs::read(&path).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = TokenKey::load_or_create(&data).unwrap();
    let token = first
        .mint(grant("demo"), NOW, Duration::from_secs(60))
        .unwrap();
    assert!(second.verify(&token, Some("demo"), NOW).is_ok());
}

#[test]
fn corrupt_secret_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SECRET_FILE), b"short").unwrap();
    assert!(matches!(
        TokenKey::load_or_create(dir.path()),
        Err(TokenError::BadKeyFile { found: 5, .. })
    ));
}

#[test]
fn role_parses_and_prints() {
    for role in [Role::Chair, Role::Member, Role::Viewer] {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
    }
    assert!("admin".parse::<Role>().is_err());
    assert!(!Role::Viewer.may_publish());
}

fn claims_for(iat: u64, nbf: Option<u64>, exp: u64) -> Claims {
    Claims {
        room: "demo".into(),
        name: "x".into(),
        role: Role::Member,
        unit: None,
        sub: random_id(),
        iat,
        exp,
        nbf,
    }
}

#[test]
fn a_correctly_signed_token_longer_than_the_maximum_is_refused() {
    let key = TokenKey::generate();
    // The issue's example: a link valid for 300 years.
    let forever = key
        .sign(&claims_for(NOW, None, NOW + 300 * 365 * 86_400))
        .unwrap();
    let err = key.verify(&forever, Some("demo"), NOW + 10).unwrap_err();
    assert_eq!(err.code(), "token_lifetime");
    assert!(err.to_string().contains("604800 s"), "{err}");
    // Exactly the maximum passes; one second more does not.
    let week = DEFAULT_MAX_LIFETIME.as_secs();
    let at_max = key.sign(&claims_for(NOW, None, NOW + week)).unwrap();
    assert!(key.verify(&at_max, None, NOW).is_ok());
    let over = key.sign(&claims_for(NOW, None, NOW + week + 1)).unwrap();
    assert_eq!(
        key.verify(&over, None, NOW).unwrap_err().code(),
        "token_lifetime"
    );
    // A stricter server refuses what the default accepts.
    let strict = key.clone().with_max_lifetime(Duration::from_secs(86_400));
    assert_eq!(
        strict.verify(&at_max, None, NOW).unwrap_err().code(),
        "token_lifetime"
    );
}

#[test]
fn a_link_issued_weeks_ahead_counts_from_not_before() {
    let key = TokenKey::generate();
    // Issued 30 days before a 2-hour meeting, valid from 30 min before to 30 min after.
    let start = NOW + 30 * 86_400;
    let ahead = claims_for(NOW, Some(start - 1800), start + 2 * 3600 + 1800);
    assert_eq!(lifetime(&ahead), 3 * 3600);
    let token = key.sign(&ahead).unwrap();
    assert!(key.verify(&token, None, start).is_ok());
    // A window that itself exceeds the maximum is refused even though nbf is late.
    let long = claims_for(NOW, Some(start), start + 8 * 86_400);
    let token = key.sign(&long).unwrap();
    assert_eq!(
        key.verify(&token, None, start).unwrap_err().code(),
        "token_lifetime"
    );
}

#[test]
fn minting_past_the_maximum_is_refused() {
    let key = TokenKey::generate().with_max_lifetime(Duration::from_secs(86_400));
    assert!(
        key.mint(grant("demo"), NOW, Duration::from_secs(86_400))
            .is_ok()
    );
    let err = key
        .mint(grant("demo"), NOW, Duration::from_secs(86_401))
        .unwrap_err();
    assert_eq!(err.code(), "token_lifetime");
}
