//! Property test: for random messages of every type and version, decode(encode(m)) == m and the
//! second encoding is byte-identical to the first.

use bytes::BytesMut;
use kafka_protocol::codec::Reader;
use kafka_protocol::{ApiKey, RequestBody, ResponseBody};

use crate::random;

const SAMPLES: u64 = 40;

#[test]
fn random_messages_round_trip_at_every_version() {
    let mut checked = 0usize;
    for key in ApiKey::all() {
        let info = key.info().expect("known key");
        for version in info.lowest..=info.highest {
            for seed in 0..SAMPLES {
                let data = random::bytes(seed * 7919 + key.0 as u64 * 31 + version as u64, 8192);
                let mut u = arbitrary::Unstructured::new(&data);
                let req = RequestBody::arbitrary_for(key, &mut u, version).expect("arbitrary");
                let mut w = BytesMut::new();
                req.encode(&mut w, version)
                    .unwrap_or_else(|e| panic!("{key} request v{version}: {e}"));
                let bytes = w.freeze();
                let mut r = Reader::from_bytes(&bytes);
                let back = RequestBody::decode(key, &mut r, version)
                    .unwrap_or_else(|e| panic!("{key} request v{version}: {e}"));
                assert!(r.is_empty(), "{key} request v{version}: trailing bytes");
                assert_eq!(back, req, "{key} request v{version} seed {seed}");
                let mut w2 = BytesMut::new();
                back.encode(&mut w2, version).expect("re-encode");
                assert_eq!(&w2[..], &bytes[..]);

                let resp = ResponseBody::arbitrary_for(key, &mut u, version).expect("arbitrary");
                let mut w = BytesMut::new();
                resp.encode(&mut w, version)
                    .unwrap_or_else(|e| panic!("{key} response v{version}: {e}"));
                let bytes = w.freeze();
                let mut r = Reader::from_bytes(&bytes);
                let back = ResponseBody::decode(key, &mut r, version)
                    .unwrap_or_else(|e| panic!("{key} response v{version}: {e}"));
                assert!(r.is_empty());
                assert_eq!(back, resp, "{key} response v{version} seed {seed}");
                checked += 2;
            }
        }
    }
    println!("round trip: {checked} random messages");
    let pairs: usize = ApiKey::all()
        .map(|k| k.info().map_or(0, |i| (i.highest - i.lowest + 1) as usize))
        .sum();
    assert_eq!(
        pairs, 361,
        "API key and version pairs, old versions included"
    );
    assert_eq!(checked, 2 * pairs * SAMPLES as usize);
}
