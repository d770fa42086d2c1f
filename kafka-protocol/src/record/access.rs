//! Typed access to the record batches inside the messages that carry them: the partitions of a
//! Produce request, a Fetch response and a ShareFetch response. The generated messages keep their
//! `records` field as shared bytes (so decoding a message never decompresses anything); these
//! accessors walk the batches of that field lazily.

use bytes::Bytes;

use super::{BatchIter, DecodeOptions};
use crate::generated::{fetch_response, produce_request, share_fetch_response};

fn batches_of(records: &Option<Bytes>, opts: DecodeOptions) -> BatchIter {
    // A null records field holds no batch, the same as an empty one.
    BatchIter::with_options(records.clone().unwrap_or_default(), opts)
}

impl produce_request::PartitionProduceData {
    /// The batches this partition carries, decoded lazily with default options.
    pub fn batches(&self) -> BatchIter {
        self.batches_with(DecodeOptions::default())
    }

    /// The batches this partition carries, decoded lazily with `opts`.
    pub fn batches_with(&self, opts: DecodeOptions) -> BatchIter {
        batches_of(&self.records, opts)
    }
}

impl fetch_response::PartitionData {
    /// The batches returned for this partition. A Fetch response may end with a truncated batch;
    /// the iterator reports it through [`BatchIter::truncated`] instead of failing.
    pub fn batches(&self) -> BatchIter {
        self.batches_with(DecodeOptions::default())
    }

    /// The batches returned for this partition, decoded with `opts`.
    pub fn batches_with(&self, opts: DecodeOptions) -> BatchIter {
        batches_of(&self.records, opts)
    }
}

impl share_fetch_response::PartitionData {
    /// The batches returned for this share-group partition (KIP-932).
    pub fn batches(&self) -> BatchIter {
        self.batches_with(DecodeOptions::default())
    }

    /// The batches returned for this share-group partition, decoded with `opts`.
    pub fn batches_with(&self, opts: DecodeOptions) -> BatchIter {
        batches_of(&self.records, opts)
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use crate::codec::Reader;
    use crate::generated::{FetchResponse, ProduceRequest};
    use crate::message::Message;
    use crate::record::{Batch, Compression, RecordBatchBuilder};

    fn batch(values: &[&str], compression: Compression) -> bytes::Bytes {
        let mut b = RecordBatchBuilder::new(compression);
        for v in values {
            assert_eq!(
                b.append(0, None, Some(v.as_bytes()), &[]).expect("append"),
                crate::record::AppendResult::Appended
            );
        }
        b.build().expect("build")
    }

    fn values(batches: impl Iterator<Item = Result<Batch, crate::DecodeError>>) -> Vec<String> {
        let mut out = Vec::new();
        for b in batches {
            match b.expect("batch") {
                Batch::V2(batch) => {
                    for r in batch.records().expect("records") {
                        let r = r.expect("record");
                        out.push(
                            String::from_utf8(r.value.expect("value").to_vec()).expect("utf8"),
                        );
                    }
                }
                Batch::Legacy(_) => panic!("expected v2"),
            }
        }
        out
    }

    #[test]
    fn produce_and_fetch_records_are_typed_batches() {
        let mut blob = BytesMut::new();
        blob.extend_from_slice(&batch(&["a", "b"], Compression::Lz4));
        blob.extend_from_slice(&batch(&["c"], Compression::None));
        let blob = blob.freeze();

        let request = ProduceRequest {
            topic_data: vec![crate::generated::produce_request::TopicProduceData {
                name: "t".into(),
                partition_data: vec![crate::generated::produce_request::PartitionProduceData {
                    index: 0,
                    records: Some(blob.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let bytes = request.encode_to_bytes(9).expect("encode");
        let back = ProduceRequest::decode(&mut Reader::from_bytes(&bytes), 9).expect("decode");
        assert_eq!(
            values(back.topic_data[0].partition_data[0].batches()),
            ["a", "b", "c"]
        );

        // A fetch response whose last batch is cut short: complete batches come out, the tail is
        // reported.
        let cut = blob.slice(..blob.len() - 3);
        let response = FetchResponse {
            responses: vec![crate::generated::fetch_response::FetchableTopicResponse {
                topic: "t".into(),
                partitions: vec![crate::generated::fetch_response::PartitionData {
                    records: Some(cut),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let partition = &response.responses[0].partitions[0];
        let mut it = partition.batches();
        assert_eq!(values(it.by_ref()), ["a", "b"]);
        assert!(it.truncated().is_some());
        assert_eq!(
            values(crate::generated::fetch_response::PartitionData::default().batches()),
            Vec::<String>::new()
        );
    }
}
