//! A signer from a PKCS#12 (`.p12`/`.pfx`) file, as certificate authorities issue them.

use p12_keystore::{KeyStore, KeyStoreEntry};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::Sha256;

use super::{SignError, Signer};

pub struct Pkcs12Signer {
    key: RsaPrivateKey,
    chain: Vec<Vec<u8>>,
}

impl Pkcs12Signer {
    pub fn from_der(bytes: &[u8], password: &str) -> Result<Self, SignError> {
        let store = KeyStore::from_pkcs12(bytes, password).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => SignError::WrongPassword,
            other => SignError::CorruptCertificate(other.to_string()),
        })?;
        let chain = store
            .entries()
            .find_map(|(_, entry)| match entry {
                KeyStoreEntry::PrivateKeyChain(c) => Some(c.clone()),
                _ => None,
            })
            .ok_or(SignError::NoKey)?;
        let key = RsaPrivateKey::from_pkcs8_der(chain.key())
            .map_err(|e| SignError::UnsupportedKey(e.to_string()))?;
        let chain: Vec<Vec<u8>> = chain.chain().iter().map(|c| c.as_der().to_vec()).collect();
        if chain.is_empty() {
            return Err(SignError::NoKey);
        }
        Ok(Pkcs12Signer { key, chain })
    }
}

impl Signer for Pkcs12Signer {
    fn certificate_chain(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    fn sign_digest(&self, sha256: [u8; 32]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(Pkcs1v15Sign::new::<Sha256>(), &sha256)
            .map_err(|e| SignError::Device(e.to_string()))
    }
}
