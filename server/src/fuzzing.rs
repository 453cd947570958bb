//! The check a fuzz target runs: one request, with an arbitrary path and
//! body, through the real router (no socket), and the protocol's promises
//! checked on the answer. Unstable: only for `fuzz/` and this crate's
//! tests (feature `fuzzing`).

// A checker: its job is to panic when a promise is broken.
#![allow(clippy::panic)]

use crate::metrics::Metrics;
use crate::routes::{router, App};
use axum::body::Body;
use axum::http::{Method, Request, Uri};
use http_body_util::BodyExt;
use hyper::service::Service as _;
use hyper_util::service::TowerToHyperService;
use killswitch::store::Store;
use killswitch::FlagSet;
use std::sync::Arc;
use std::time::Duration;

/// The flags requests are evaluated against: one of each kind of answer,
/// and `killed`, whose every successful answer must be `false`.
pub const FLAGS: &str = r#"[
  {"flag_key": "killed", "enabled": true, "kill_switch": true, "rollout_percentage": 100},
  {"flag_key": "off", "enabled": false},
  {"flag_key": "half", "enabled": true, "rollout_percentage": 50,
   "targeting_rules": {"allow_list": ["email endsWith \"@internal.com\""],
                       "deny_list": ["plan == \"free\""]}},
  {"flag_key": "needs_killed", "enabled": true, "requires": ["killed"], "rollout_percentage": 100}
]"#;

/// A router over [`FLAGS`] with a small body limit, and a runtime to
/// drive it.
pub struct Harness {
    service: TowerToHyperService<axum::Router>,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    /// Builds the harness.
    pub fn new() -> Harness {
        let flags = FlagSet::from_json(FLAGS).unwrap_or_default();
        let app = Arc::new(App {
            store: Arc::new(Store::new(flags)),
            metrics: Metrics::new(),
            tokens: None,
            max_body_bytes: 4096,
            body_read_timeout: Duration::from_secs(5),
            max_nesting_depth: 32,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot build a runtime: {e}"));
        Harness {
            service: TowerToHyperService::new(router(app)),
            runtime,
        }
    }

    /// The fuzz target's input: `path NUL body`, or without a NUL a body
    /// for `/ofrep/v1/evaluate/flags/killed`; see [`Harness::check`].
    pub fn check_input(&self, data: &[u8]) {
        match data.iter().position(|&b| b == 0) {
            Some(nul) => self.check(&data[..nul], &data[nul + 1..]),
            None => self.check(b"/ofrep/v1/evaluate/flags/killed", data),
        }
    }

    /// Sends `POST path` with `body` and checks the answer; panics when a
    /// promise is broken. A path that is no valid URI is skipped (hyper
    /// refuses it before the router).
    pub fn check(&self, path: &[u8], body: &[u8]) {
        let Ok(uri) = Uri::try_from(path) else {
            return;
        };
        let Ok(request) = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .body(Body::from(body.to_vec()))
        else {
            return;
        };
        let (status, content_type, bytes) = self.runtime.block_on(async {
            let Ok(response) = self.service.call(request).await;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            (status, content_type, bytes)
        });
        assert!(
            [200, 304, 400, 401, 404, 405, 408, 413].contains(&status),
            "unexpected status {status}"
        );
        if status == 304 {
            assert!(bytes.is_empty());
            return;
        }
        assert_eq!(content_type.as_deref(), Some("application/json"));
        let answer: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {bytes:?}"));
        if status != 200 {
            let code = answer["errorCode"].as_str().unwrap_or_default();
            assert!(
                [
                    "PARSE_ERROR",
                    "INVALID_CONTEXT",
                    "FLAG_NOT_FOUND",
                    "GENERAL"
                ]
                .contains(&code),
                "bad errorCode in {answer}"
            );
            assert!(answer["errorDetails"].is_string(), "{answer}");
            return;
        }
        let evaluations = match answer.get("flags") {
            Some(flags) => flags.as_array().cloned().unwrap_or_default(),
            None => vec![answer.clone()],
        };
        for e in &evaluations {
            let value = e["value"]
                .as_bool()
                .unwrap_or_else(|| panic!("no value: {e}"));
            assert_eq!(e["variant"], if value { "on" } else { "off" }, "{e}");
            let reason = e["reason"].as_str().unwrap_or_default();
            assert!(
                ["DISABLED", "TARGETING_MATCH", "SPLIT", "DEFAULT"].contains(&reason),
                "{e}"
            );
            if e["key"] == "killed" || e["key"] == "off" || e["key"] == "needs_killed" {
                assert!(!value, "a killed or disabled flag answered true: {e}");
            }
        }
    }
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seeds() {
        let harness = Harness::new();
        let single = b"/ofrep/v1/evaluate/flags/killed".as_slice();
        for body in [
            &b""[..],
            b"{}",
            br#"{"context": {"targetingKey": "u1"}}"#,
            br#"{"context": {"targetingKey": "u1", "user_id": "u2"}}"#,
            br#"{"context": {"targetingKey": 1}}"#,
            br#"{"context": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
            b"\xff\xfe",
            b"[",
        ] {
            harness.check(single, body);
            harness.check(b"/ofrep/v1/evaluate/flags", body);
        }
        harness.check(b"/ofrep/v1/evaluate/flags/%FF%FE", b"{}");
        harness.check(b"/ofrep/v1/evaluate/flags/nope", b"{}");
        harness.check(b"/nope", b"{}");
        harness.check(&[b'a'; 5000], &[b'{'; 5000]);
    }

    /// The fuzz target's committed seeds and saved crashes pass.
    #[test]
    fn fuzz_seeds_and_regressions() {
        let harness = Harness::new();
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut inputs = 0;
        for dir in [fuzz.join("seeds/serve"), fuzz.join("regressions")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let ours = dir.ends_with("seeds/serve") || name.starts_with("serve-");
                if ours && path.is_file() {
                    harness.check_input(&std::fs::read(&path).unwrap());
                    inputs += 1;
                }
            }
        }
        assert!(inputs >= 3, "the seeds in fuzz/seeds/serve are missing");
    }

    proptest! {
        #[test]
        fn arbitrary_requests_keep_the_promises(
            path in prop_oneof![
                Just("/ofrep/v1/evaluate/flags".to_string()),
                "/ofrep/v1/evaluate/flags/(killed|off|half|needs_killed|[a-z%0-9]{0,6})",
                "/[ -~]{0,40}",
            ],
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                r#"\{"context": \{("(targetingKey|user_id|email|plan)": ("[a-z@.]{0,8}"|[0-9]{1,3}|true|null|\[\]), ?){0,3}\}\}"#
                    .prop_map(String::into_bytes),
            ],
        ) {
            Harness::new().check(path.as_bytes(), &body);
        }
    }
}
