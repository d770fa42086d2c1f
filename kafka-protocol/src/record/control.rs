//! Control records (KIP-98): the records of a control batch. The key is
//! `version: int16, type: int16`; for transaction markers (types 0 = abort, 1 = commit) the
//! value is `EndTxnMarker`: `version: int16, coordinatorEpoch: int32`. Other types (KIP-595
//! leader change, KIP-630 snapshot header/footer, KIP-853 KRaft version and voters) are kept as
//! raw value bytes with their type id.

use bytes::{BufMut, Bytes, BytesMut};

use super::record::Record;
use crate::error::{DecodeError, DecodeErrorKind};

/// The type id in a control record's key (`ControlRecordType` in Java).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// 0: transaction abort marker.
    Abort,
    /// 1: transaction commit marker.
    Commit,
    /// 2: KRaft leader change (KIP-595).
    LeaderChange,
    /// 3: KRaft snapshot header (KIP-630).
    SnapshotHeader,
    /// 4: KRaft snapshot footer (KIP-630).
    SnapshotFooter,
    /// 5: KRaft version (KIP-853).
    KRaftVersion,
    /// 6: KRaft voters (KIP-853).
    KRaftVoters,
    /// A type id this codec does not know.
    Unknown(i16),
}

impl ControlRecordType {
    /// The type for a wire id.
    pub fn from_id(id: i16) -> Self {
        match id {
            0 => Self::Abort,
            1 => Self::Commit,
            2 => Self::LeaderChange,
            3 => Self::SnapshotHeader,
            4 => Self::SnapshotFooter,
            5 => Self::KRaftVersion,
            6 => Self::KRaftVoters,
            other => Self::Unknown(other),
        }
    }

    /// The wire id.
    pub fn id(self) -> i16 {
        match self {
            Self::Abort => 0,
            Self::Commit => 1,
            Self::LeaderChange => 2,
            Self::SnapshotHeader => 3,
            Self::SnapshotFooter => 4,
            Self::KRaftVersion => 5,
            Self::KRaftVoters => 6,
            Self::Unknown(id) => id,
        }
    }
}

/// A control record, typed. The [`Record`] it came from stays the lossless form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControlRecord {
    /// A transaction marker (types 0 and 1).
    EndTransaction {
        /// True for commit (type 1), false for abort (type 0).
        commit: bool,
        /// The `EndTxnMarker` value version (0 today).
        version: i16,
        /// The transaction coordinator's epoch.
        coordinator_epoch: i32,
    },
    /// Any other control type, with its value bytes unparsed.
    Other {
        /// The type from the key.
        kind: ControlRecordType,
        /// The value as stored.
        value: Option<Bytes>,
    },
}

#[cold]
fn invalid(why: &str) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Records(why.to_owned()), 0).in_field("control_record")
}

impl ControlRecord {
    /// Parses the key and value of a record from a control batch. Like Java's
    /// `ControlRecordType.parseTypeId`, the key needs at least 4 bytes and a non-negative
    /// version; a newer key version is read as version 0.
    pub fn parse(record: &Record) -> Result<Self, DecodeError> {
        let key = record
            .key
            .as_deref()
            .ok_or_else(|| invalid("control record without a key"))?;
        let [v0, v1, t0, t1, ..] = *key else {
            return Err(invalid("control record key shorter than 4 bytes"));
        };
        if i16::from_be_bytes([v0, v1]) < 0 {
            return Err(invalid("negative control record key version"));
        }
        let kind = ControlRecordType::from_id(i16::from_be_bytes([t0, t1]));
        match kind {
            ControlRecordType::Abort | ControlRecordType::Commit => {
                // EndTransactionMarker.deserializeValue: version >= 0, then the coordinator
                // epoch; a newer version is read as the highest known, extra fields ignored.
                let value = record
                    .value
                    .as_deref()
                    .ok_or_else(|| invalid("transaction marker without a value"))?;
                let [a, b, c, d, e, f, ..] = *value else {
                    return Err(invalid("transaction marker value shorter than 6 bytes"));
                };
                let version = i16::from_be_bytes([a, b]);
                if version < 0 {
                    return Err(invalid("negative transaction marker version"));
                }
                Ok(Self::EndTransaction {
                    commit: kind == ControlRecordType::Commit,
                    version,
                    coordinator_epoch: i32::from_be_bytes([c, d, e, f]),
                })
            }
            kind => Ok(Self::Other {
                kind,
                value: record.value.clone(),
            }),
        }
    }

    /// A commit or abort marker of version 0.
    pub fn end_transaction(commit: bool, coordinator_epoch: i32) -> Self {
        Self::EndTransaction {
            commit,
            version: 0,
            coordinator_epoch,
        }
    }

    /// The control type.
    pub fn kind(&self) -> ControlRecordType {
        match self {
            Self::EndTransaction { commit: true, .. } => ControlRecordType::Commit,
            Self::EndTransaction { commit: false, .. } => ControlRecordType::Abort,
            Self::Other { kind, .. } => *kind,
        }
    }

    /// The record key: key version 0 and the type id.
    pub fn key(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(4);
        b.put_i16(0);
        b.put_i16(self.kind().id());
        b.freeze()
    }

    /// The record value.
    pub fn value(&self) -> Option<Bytes> {
        match self {
            Self::EndTransaction {
                version,
                coordinator_epoch,
                ..
            } => {
                let mut b = BytesMut::with_capacity(6);
                b.put_i16(*version);
                b.put_i32(*coordinator_epoch);
                Some(b.freeze())
            }
            Self::Other { value, .. } => value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&'static [u8]>, value: Option<&'static [u8]>) -> Record {
        Record {
            offset: 0,
            timestamp: 0,
            timestamp_delta: 0,
            attributes: 0,
            sequence: -1,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: vec![],
        }
    }

    #[test]
    fn markers_and_raw_types() {
        let commit =
            ControlRecord::parse(&record(Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 4]))).unwrap();
        assert_eq!(commit, ControlRecord::end_transaction(true, 4));
        assert_eq!(&commit.key()[..], &[0, 0, 0, 1]);
        assert_eq!(commit.value().as_deref(), Some(&[0u8, 0, 0, 0, 0, 4][..]));
        let lc = ControlRecord::parse(&record(Some(&[0, 0, 0, 2]), Some(&[9, 9]))).unwrap();
        assert_eq!(lc.kind(), ControlRecordType::LeaderChange);
        assert_eq!(lc.value().as_deref(), Some(&[9u8, 9][..]));
        let unknown = ControlRecord::parse(&record(Some(&[0, 1, 0, 99]), None)).unwrap();
        assert_eq!(unknown.kind(), ControlRecordType::Unknown(99));
    }

    #[test]
    fn malformed_keys_and_values() {
        for (k, v) in [
            (None, None),
            (Some(&[0u8, 0, 0][..]), None),
            (Some(&[0x80, 0, 0, 1][..]), Some(&[0u8, 0, 0, 0, 0, 0][..])),
            (Some(&[0, 0, 0, 0][..]), None),
            (Some(&[0, 0, 0, 0][..]), Some(&[0u8, 0, 0][..])),
            (
                Some(&[0, 0, 0, 0][..]),
                Some(&[0xffu8, 0xff, 0, 0, 0, 0][..]),
            ),
        ] {
            assert!(ControlRecord::parse(&record(k, v)).is_err(), "{k:?} {v:?}");
        }
    }
}
