//! Hand-made STUN binding requests (RFC 5389 framing) for the hostile-input tests:
//! correct header, magic cookie, USERNAME and FINGERPRINT, but an ICE ufrag the
//! server never issued and no valid MESSAGE-INTEGRITY.

const MAGIC_COOKIE: u32 = 0x2112_a442;
const BINDING_REQUEST: u16 = 0x0001;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_FINGERPRINT: u16 = 0x8028;
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// A binding request with `USERNAME = username`, a bogus 20-byte MESSAGE-INTEGRITY and
/// a correct FINGERPRINT.
pub fn binding_request(transaction_id: [u8; 12], username: &str) -> Vec<u8> {
    let mut attrs = Vec::new();
    push_attr(&mut attrs, ATTR_USERNAME, username.as_bytes());
    push_attr(&mut attrs, ATTR_MESSAGE_INTEGRITY, &[0xab; 20]);
    // FINGERPRINT covers everything before it, with the length already counting it.
    let len_with_fp = attrs.len() + 8;
    let mut msg = header(len_with_fp as u16, transaction_id);
    msg.extend_from_slice(&attrs);
    let fp = crc32(&msg) ^ FINGERPRINT_XOR;
    push_attr(&mut msg, ATTR_FINGERPRINT, &fp.to_be_bytes());
    msg
}

fn header(len: u16, transaction_id: [u8; 12]) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    h.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    h.extend_from_slice(&transaction_id);
    h
}

fn push_attr(buf: &mut Vec<u8>, ty: u16, value: &[u8]) {
    buf.extend_from_slice(&ty.to_be_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_be_bytes());
    buf.extend_from_slice(value);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// CRC-32 (IEEE, reflected), as STUN's FINGERPRINT uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn binding_request_is_well_framed() {
        let m = binding_request([7; 12], "nosuchufrag:client");
        assert_eq!(&m[0..2], &[0x00, 0x01]);
        let len = u16::from_be_bytes([m[2], m[3]]) as usize;
        assert_eq!(m.len(), 20 + len);
        assert_eq!(&m[4..8], &MAGIC_COOKIE.to_be_bytes());
        // Parses with the webrtc stack's own STUN decoder.
        let mut msg = rtc::stun::message::Message::new();
        msg.raw = m.clone();
        msg.decode().unwrap();
        assert_eq!(msg.typ.value(), BINDING_REQUEST);
        let fp_at = m.len() - 8;
        let fp = u32::from_be_bytes([m[fp_at + 4], m[fp_at + 5], m[fp_at + 6], m[fp_at + 7]]);
        assert_eq!(fp, crc32(&m[..fp_at]) ^ FINGERPRINT_XOR);
    }
}
