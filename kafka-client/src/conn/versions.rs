//! ApiVersions negotiation (KIP-35, KIP-511): per API, the highest version both sides support.

use std::collections::HashMap;

use kafka_protocol::generated::ApiVersionsResponse;
use kafka_protocol::ApiKey;

/// The version range this client offers for `key`: from the oldest version the codec knows to
/// the newest of the current release's definitions (not an unstable one the codec may also
/// know, which a broker only advertises with `unstable.api.versions.enable`).
pub fn client_range(key: ApiKey) -> Option<(i16, i16)> {
    let info = key.info()?;
    let high = if info.current_highest >= 0 {
        info.current_highest
    } else {
        info.highest
    };
    Some((info.lowest, high))
}

/// The version ranges one broker advertised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersions {
    ranges: HashMap<i16, (i16, i16)>,
}

impl ApiVersions {
    /// The ranges of an ApiVersions response.
    pub fn from_response(resp: &ApiVersionsResponse) -> Self {
        Self {
            ranges: resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect(),
        }
    }

    /// Builds from explicit `(key, min, max)` triples (tests, fakes).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (ApiKey, i16, i16)>) -> Self {
        Self {
            ranges: ranges
                .into_iter()
                .map(|(k, lo, hi)| (k.0, (lo, hi)))
                .collect(),
        }
    }

    /// The broker's range for `key`, if it supports the API.
    pub fn broker_range(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.ranges.get(&key.0).copied()
    }

    /// The highest version both sides support, or `None` when the ranges do not overlap.
    pub fn negotiate(&self, key: ApiKey) -> Option<i16> {
        self.negotiate_within(key, i16::MAX)
    }

    /// As [`negotiate`](Self::negotiate), but no higher than `cap` (for callers that cannot
    /// fill the fields of newer versions).
    pub fn negotiate_within(&self, key: ApiKey, cap: i16) -> Option<i16> {
        let (blo, bhi) = self.broker_range(key)?;
        let (clo, chi) = client_range(key)?;
        let hi = bhi.min(chi).min(cap);
        (hi >= blo.max(clo)).then_some(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_common_version() {
        let (_, produce_hi) = client_range(ApiKey::PRODUCE).unwrap();
        let v = ApiVersions::from_ranges([
            (ApiKey::PRODUCE, 3, 100),
            (ApiKey::METADATA, 0, 4),
            (ApiKey::FETCH, 400, 500),
        ]);
        assert_eq!(v.negotiate(ApiKey::PRODUCE), Some(produce_hi));
        assert_eq!(v.negotiate(ApiKey::METADATA), Some(4));
        assert_eq!(v.negotiate_within(ApiKey::PRODUCE, 7), Some(7));
        assert_eq!(v.negotiate_within(ApiKey::PRODUCE, 2), None);
        assert_eq!(v.negotiate(ApiKey::FETCH), None);
        assert_eq!(v.negotiate(ApiKey::LIST_OFFSETS), None);
    }
}
