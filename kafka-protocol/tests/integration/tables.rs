//! The API key and error code tables, checked against the Java reference's own tables
//! (`ApiMessageType` and `Errors` of kafka-clients).

use kafka_protocol::{ApiKey, ErrorCode};
use serde_json::Value;

use crate::oracle::Oracle;

fn json_answer(oracle: &mut Oracle, command: &str) -> Vec<Value> {
    let line = oracle.ask(command);
    match serde_json::from_str::<Value>(&line) {
        Ok(Value::Array(items)) => items,
        _ => panic!("oracle answered {command} with {line}"),
    }
}

fn check_apis(oracle: &mut Oracle, current: bool) -> usize {
    let mut checked = 0;
    for api in json_answer(oracle, "apis") {
        let key = ApiKey(api["key"].as_i64().expect("key") as i16);
        let info = key
            .info()
            .unwrap_or_else(|| panic!("Java {} knows key {}", oracle.kafka_version, key.0));
        if current {
            // Names come from the current release (3.9's ListClientMetricsResources is 4.x's
            // ListConfigResources, key 74).
            assert_eq!(
                info.name,
                api["name"].as_str().expect("name"),
                "name of {}",
                key.0
            );
        }
        let lowest = api["lowest"].as_i64().expect("lowest") as i16;
        let highest = api["highest"].as_i64().expect("highest") as i16;
        if highest < 0 {
            // The release defines no version of this key any more (KIP-896 removed it).
            if current {
                assert_eq!(info.current_highest, -1, "{key:?}");
            }
            continue;
        }
        if current {
            assert_eq!(
                (info.current_lowest, info.current_highest),
                (lowest, highest),
                "{key:?}"
            );
            assert_eq!(
                info.latest_unstable,
                api["latest_version_unstable"].as_bool().unwrap_or(false),
                "{key:?}"
            );
        } else {
            assert!(info.lowest <= lowest, "{key:?} lowest");
        }
        let req_headers = api["request_header_versions"].as_array().expect("array");
        let resp_headers = api["response_header_versions"].as_array().expect("array");
        for (i, version) in (lowest..=highest).enumerate() {
            assert_eq!(
                i64::from(key.request_header_version(version)),
                req_headers[i].as_i64().expect("int"),
                "{key:?} v{version} request header"
            );
            assert_eq!(
                i64::from(key.response_header_version(version)),
                resp_headers[i].as_i64().expect("int"),
                "{key:?} v{version} response header"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn api_keys_match_the_java_reference() {
    let current = check_apis(&mut Oracle::start("4.3.1"), true);
    let legacy = check_apis(&mut Oracle::start("3.9.1"), false);
    println!("api table: header versions of {current} (4.3.1) and {legacy} (3.9.1) key-version pairs agree");
    assert_eq!(ApiKey::all().count(), 93);
    assert!(current >= 302);
}

#[test]
fn error_codes_match_the_java_reference() {
    let errors = json_answer(&mut Oracle::start("4.3.1"), "errors");
    assert_eq!(
        errors.len(),
        ErrorCode::all().count(),
        "same number of codes"
    );
    for e in errors {
        let code = ErrorCode(e["code"].as_i64().expect("code") as i16);
        assert_eq!(code.name(), e["name"].as_str(), "name of {}", code.0);
        assert_eq!(
            code.is_retriable(),
            e["retriable"].as_bool().expect("bool"),
            "{code:?} retriable"
        );
    }
}
