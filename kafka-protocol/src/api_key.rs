//! API keys: names, version ranges, flexible versions and header versions.

use std::fmt;

/// An API key. Unknown keys are representable so that traffic of newer peers survives a round
/// trip; the named constants are generated from the definitions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ApiKey(pub i16);

/// Facts about one API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiInfo {
    /// The key.
    pub key: ApiKey,
    /// The name, e.g. `Produce`.
    pub name: &'static str,
    /// Lowest version this codec knows, including versions removed from Kafka 4 (KIP-896).
    pub lowest: i16,
    /// Highest version, including one the broker may mark unstable.
    pub highest: i16,
    /// Lowest version of the current release's definitions, or -1 if it defines none.
    pub current_lowest: i16,
    /// Highest version of the current release's definitions, or -1 if it defines none.
    pub current_highest: i16,
    /// First flexible version (KIP-482), or -1 if none is.
    pub flexible_from: i16,
    /// Whether the highest version is still unstable in the current release.
    pub latest_unstable: bool,
}

impl ApiKey {
    /// Facts about this key, if the codec knows it.
    pub fn info(self) -> Option<&'static ApiInfo> {
        crate::generated::API_TABLE
            .binary_search_by_key(&self.0, |i| i.key.0)
            .ok()
            .map(|i| &crate::generated::API_TABLE[i])
    }

    /// Every known key, in key order.
    pub fn all() -> impl Iterator<Item = ApiKey> {
        crate::generated::API_TABLE.iter().map(|i| i.key)
    }

    /// The key's name, e.g. `Produce`; `None` for unknown keys.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|i| i.name)
    }

    /// Looks a key up by name (`Produce`) or number (`0`).
    pub fn from_name(name: &str) -> Option<ApiKey> {
        if let Ok(n) = name.parse::<i16>() {
            return Some(ApiKey(n));
        }
        crate::generated::API_TABLE
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .map(|i| i.key)
    }

    /// Whether `version` is flexible (compact types and tagged fields, KIP-482).
    pub fn is_flexible(self, version: i16) -> bool {
        self.info()
            .is_some_and(|i| i.flexible_from >= 0 && version >= i.flexible_from)
    }

    /// The request header version for a request of this key at `version`: 2 when flexible,
    /// else 1; ControlledShutdown v0 alone used header v0 (it predates the client id).
    pub fn request_header_version(self, version: i16) -> i16 {
        if self == ApiKey::CONTROLLED_SHUTDOWN && version == 0 {
            0
        } else if self.is_flexible(version) {
            2
        } else {
            1
        }
    }

    /// The response header version: 1 when flexible, else 0. ApiVersions responses always use
    /// v0, so that a client can read the answer before it knows which versions the broker
    /// supports (KIP-511).
    pub fn response_header_version(self, version: i16) -> i16 {
        if self == ApiKey::API_VERSIONS {
            0
        } else if self.is_flexible(version) {
            1
        } else {
            0
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ApiKey({})", self.0),
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Unknown({})", self.0),
        }
    }
}
