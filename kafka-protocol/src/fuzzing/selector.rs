//! Two bytes choose an (API key, version) pair that the codec knows, so that almost every input
//! reaches a body decoder instead of dying on an unknown key.

use crate::generated::API_TABLE;
use crate::ApiKey;

/// The API key and version two selector bytes stand for: the first picks a key of the table
/// (modulo its length), the second a version of that key (modulo its range).
pub fn select(key_byte: u8, version_byte: u8) -> (ApiKey, i16) {
    let info = &API_TABLE[usize::from(key_byte) % API_TABLE.len()];
    let span = i32::from(info.highest) - i32::from(info.lowest) + 1;
    let offset = i32::from(version_byte) % span.max(1);
    // `lowest + offset` never exceeds `highest`, an i16.
    let version = i16::try_from(i32::from(info.lowest) + offset).unwrap_or(info.lowest);
    (info.key, version)
}

/// The selector bytes of an (API key, version) pair: the inverse of [`select`], used to turn
/// captured frames into fuzz inputs. `None` for a pair the codec does not know.
pub fn selector_bytes(key: ApiKey, version: i16) -> Option<[u8; 2]> {
    let index = API_TABLE.iter().position(|i| i.key == key)?;
    let info = &API_TABLE[index];
    if !(info.lowest..=info.highest).contains(&version) {
        return None;
    }
    Some([
        u8::try_from(index).ok()?,
        u8::try_from(version - info.lowest).ok()?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_bytes_invert_select() {
        for key in ApiKey::all() {
            let info = key.info().expect("known");
            for version in info.lowest..=info.highest {
                let [k, v] = selector_bytes(key, version).expect("known pair");
                assert_eq!(select(k, v), (key, version));
            }
            assert_eq!(selector_bytes(key, info.highest + 1), None);
        }
        for k in 0..=255 {
            for v in 0..=255 {
                let (key, version) = select(k, v);
                let info = key.info().expect("known");
                assert!((info.lowest..=info.highest).contains(&version));
            }
        }
    }
}
