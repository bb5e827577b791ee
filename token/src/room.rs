//! The one rule for room ids, shared by whatever names a room: the `bridge token`
//! command, the scheduler's rooms (`m-<uuid>`, `u-<unit code>`) and the rooms a chair
//! links. Ids end up in URLs, logs and every `links` message of a conference, so they
//! are short and plain.

/// Longest room id.
pub const MAX_ROOM_LEN: usize = 64;

/// Whether `room` is 1 to [`MAX_ROOM_LEN`] ASCII letters, digits, '-' or '_'.
pub fn is_valid_room(room: &str) -> bool {
    !room.is_empty()
        && room.len() <= MAX_ROOM_LEN
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_are_short_and_plain() {
        for ok in [
            "demo",
            "u-07888",
            "m-19b20e97-1ac2-4cbd-93c4-e013d9bb38bb",
            "a_B-9",
        ] {
            assert!(is_valid_room(ok), "{ok}");
        }
        assert!(is_valid_room(&"a".repeat(MAX_ROOM_LEN)));
        let long = "a".repeat(MAX_ROOM_LEN + 1);
        for bad in ["", "u-1 2", "u/1", "phòng", "m-1\n", long.as_str()] {
            assert!(!is_valid_room(bad), "{bad:?}");
        }
    }
}
