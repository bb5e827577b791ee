//! Pure helpers for the shared socket: recognising the STUN binding request that
//! opens a new flow and naming the connection it is for.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const BINDING_REQUEST: u16 = 0x0001;
const ATTR_USERNAME: u16 = 0x0006;

/// If `buf` is a STUN binding request with a USERNAME attribute, returns the part
/// before ':' (the receiver's, i.e. our, ICE ufrag). Anything else gives `None`.
pub fn binding_request_ufrag(buf: &[u8]) -> Option<&str> {
    if buf.len() < 20 || buf[0] & 0xC0 != 0 || buf[4..8] != MAGIC_COOKIE {
        return None;
    }
    if u16::from_be_bytes([buf[0], buf[1]]) != BINDING_REQUEST {
        return None;
    }
    let body_len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let body = buf.get(20..20 + body_len)?;
    let mut at = 0usize;
    while at + 4 <= body.len() {
        let typ = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + len)?;
        if typ == ATTR_USERNAME {
            let name = std::str::from_utf8(value).ok()?;
            let local = name.split(':').next()?;
            return (!local.is_empty()).then_some(local);
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(username: &[u8]) -> Vec<u8> {
        let padded = username.len().div_ceil(4) * 4;
        let mut b = vec![0x00, 0x01];
        b.extend_from_slice(&((4 + padded) as u16 + 8).to_be_bytes());
        b.extend_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(&[7u8; 12]);
        // An unrelated attribute first (PRIORITY), then USERNAME.
        b.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4]);
        b.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
        b.extend_from_slice(&(username.len() as u16).to_be_bytes());
        b.extend_from_slice(username);
        b.resize(b.len() + padded - username.len(), 0);
        b
    }

    #[test]
    fn finds_the_local_ufrag() {
        assert_eq!(
            binding_request_ufrag(&request(b"srvufrag:cli")),
            Some("srvufrag")
        );
        assert_eq!(binding_request_ufrag(&request(b"abc")), Some("abc"));
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(binding_request_ufrag(b""), None);
        assert_eq!(binding_request_ufrag(&[0u8; 19]), None);
        let mut resp = request(b"srv:cli");
        resp[1] = 0x01;
        resp[0] = 0x01; // binding success response
        assert_eq!(binding_request_ufrag(&resp), None);
        let mut truncated = request(b"srv:cli");
        truncated.truncate(30);
        assert_eq!(binding_request_ufrag(&truncated), None);
        assert_eq!(binding_request_ufrag(&request(b":cli")), None);
        let mut bad_len = request(b"srv:cli");
        bad_len[31] = 0xFF; // USERNAME length runs past the end
        assert_eq!(binding_request_ufrag(&bad_len), None);
        // Random bytes never panic.
        let mut x: u32 = 12345;
        for n in 0..2000usize {
            let buf: Vec<u8> = (0..(n % 90))
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = binding_request_ufrag(&buf);
        }
    }
}
