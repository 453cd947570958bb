//! The provider through the real `open-feature` client: every conformance
//! vector, the kill switch with a caller default of `true`, and the OFREP
//! service's error mapping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use killswitch::FlagSet;
use killswitch_openfeature::KillswitchProvider;
use open_feature::{
    Client, EvaluationContext, EvaluationContextFieldValue, EvaluationErrorCode, EvaluationReason,
    FlagMetadataValue, OpenFeature, StructValue, Value,
};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The shared vectors (`tests/conformance/vectors.json`, written by the
/// engine) when the tree has them, else the JavaScript package's own small
/// file in the same schema.
fn vectors_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("tests/conformance/vectors.json");
    if shared.exists() {
        shared
    } else {
        root.join("bindings/js/test/conformance/vectors.json")
    }
}

async fn client(name: &str, provider: KillswitchProvider) -> Client {
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider(name, provider).await;
    api.create_named_client(name)
}

/// A conformance context (OFREP's shape) as an OpenFeature one: nested
/// objects, lists and `null` go as `serde_json::Value` structs.
fn context_of(json: &serde_json::Map<String, Json>) -> EvaluationContext {
    let mut ctx = EvaluationContext::default();
    for (key, value) in json {
        let field = match value {
            Json::String(s) if key == "targetingKey" => {
                ctx.targeting_key = Some(s.clone());
                continue;
            }
            Json::String(s) => EvaluationContextFieldValue::String(s.clone()),
            Json::Bool(b) => EvaluationContextFieldValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => EvaluationContextFieldValue::Int(i),
                None => EvaluationContextFieldValue::Float(n.as_f64().unwrap()),
            },
            other => EvaluationContextFieldValue::new_struct(other.clone()),
        };
        ctx.custom_fields.insert(key.clone(), field);
    }
    ctx
}

/// Whether an OpenFeature value is the JSON value (numbers by value; the
/// provider leaves out nested `null`s, which OpenFeature cannot hold).
fn same(json: &Json, value: &Value) -> bool {
    match (json, value) {
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::String(a), Value::String(b)) => a == b,
        (Json::Number(a), Value::Int(b)) => a.as_i64() == Some(*b),
        (Json::Number(a), Value::Float(b)) => a.as_f64() == Some(*b),
        (Json::Array(a), Value::Array(b)) => {
            let a: Vec<&Json> = a.iter().filter(|x| !x.is_null()).collect();
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Json::Object(a), Value::Struct(b)) => same_struct(a, b),
        _ => false,
    }
}

fn same_struct(json: &serde_json::Map<String, Json>, value: &StructValue) -> bool {
    let present = json.iter().filter(|(_, v)| !v.is_null());
    present.clone().count() == value.fields.len()
        && present
            .clone()
            .all(|(k, v)| value.fields.get(k).is_some_and(|x| same(v, x)))
}

fn bucket_of(metadata: &open_feature::FlagMetadata) -> Option<i64> {
    match metadata.values.get("bucket") {
        Some(FlagMetadataValue::Int(b)) => Some(*b),
        _ => None,
    }
}

#[tokio::test]
async fn every_conformance_vector_through_the_openfeature_client() {
    let path = vectors_path();
    let vectors: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let config = path.with_file_name(vectors["config"].as_str().unwrap());
    let now = killswitch::parse_time(vectors["now"].as_str().unwrap()).unwrap();
    let provider = KillswitchProvider::new(FlagSet::load(&config).unwrap()).with_clock(move || now);
    let client = client("conformance", provider).await;
    let cases = vectors["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 100,
        "{} cases in {}",
        cases.len(),
        path.display()
    );
    for case in cases {
        let flag = case["flag"].as_str().unwrap();
        let ctx = context_of(case["context"].as_object().unwrap());
        let label = format!("{flag} for {} ({})", case["context"], path.display());
        let expected = &case["value"];
        // (value, variant, reason, metadata) of the typed getter for the value's type.
        let (value, variant, reason, metadata) = match expected {
            Json::Bool(_) => {
                let d = client
                    .get_bool_details(flag, Some(&ctx), None)
                    .await
                    .expect(&label);
                (Value::Bool(d.value), d.variant, d.reason, d.flag_metadata)
            }
            Json::String(_) => {
                let d = client
                    .get_string_details(flag, Some(&ctx), None)
                    .await
                    .expect(&label);
                (Value::String(d.value), d.variant, d.reason, d.flag_metadata)
            }
            Json::Number(n) if n.is_i64() => {
                let d = client
                    .get_int_details(flag, Some(&ctx), None)
                    .await
                    .expect(&label);
                (Value::Int(d.value), d.variant, d.reason, d.flag_metadata)
            }
            Json::Number(_) => {
                let d = client
                    .get_float_details(flag, Some(&ctx), None)
                    .await
                    .expect(&label);
                (Value::Float(d.value), d.variant, d.reason, d.flag_metadata)
            }
            Json::Object(_) => {
                let d = client
                    .get_struct_details::<StructValue>(flag, Some(&ctx), None)
                    .await
                    .expect(&label);
                (Value::Struct(d.value), d.variant, d.reason, d.flag_metadata)
            }
            // OpenFeature's Rust values have no null, and a struct is not a
            // list: both are a type mismatch, never a silent default.
            Json::Null | Json::Array(_) => {
                let err = client
                    .get_struct_details::<StructValue>(flag, Some(&ctx), None)
                    .await
                    .expect_err(&label);
                assert_eq!(err.code, EvaluationErrorCode::TypeMismatch, "{label}");
                continue;
            }
        };
        assert!(same(expected, &value), "{label}: value {value:?}");
        assert_eq!(variant.as_deref(), case["variant"].as_str(), "{label}");
        assert_eq!(
            reason.map(|r| r.to_string()).as_deref(),
            case["reason"].as_str(),
            "{label}"
        );
        assert_eq!(bucket_of(&metadata), case["bucket"].as_i64(), "{label}");
        if let Some(engine_reason) = case.get("engine_reason").and_then(Json::as_str) {
            assert_eq!(
                metadata.values.get("reason"),
                Some(&FlagMetadataValue::String(engine_reason.to_owned())),
                "{label}"
            );
        }
    }
}

const CONFIG: &str = r##"[
    {"flag_key": "killed", "enabled": true, "kill_switch": true, "rollout_percentage": 100},
    {"flag_key": "checkout", "enabled": true, "rollout_percentage": 100},
    {"flag_key": "colour", "enabled": true, "kill_switch": true, "rollout_percentage": 100,
     "variants": {"blue": "#1f6feb", "grey": "#8c959f"}, "off_variant": "grey", "on_variant": "blue"},
    {"flag_key": "page_size", "enabled": true, "rollout_percentage": 100,
     "variants": {"small": 10, "large": 50}, "off_variant": "small", "on_variant": "large"}
]"##;

#[tokio::test]
async fn a_killed_flag_is_its_off_value_with_disabled_never_the_default() {
    let client = client(
        "kill",
        KillswitchProvider::new(FlagSet::from_json(CONFIG).unwrap()),
    )
    .await;
    let ctx = EvaluationContext::default().with_targeting_key("user_123");
    let d = client
        .get_bool_details("killed", Some(&ctx), None)
        .await
        .unwrap();
    assert!(!d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Disabled));
    assert_eq!(d.variant.as_deref(), Some("off"));
    // What a caller with a default of `true` gets: `false`.
    assert!(!client
        .get_bool_value("killed", Some(&ctx), None)
        .await
        .unwrap_or(true));
    let colour = client
        .get_string_details("colour", Some(&ctx), None)
        .await
        .unwrap();
    assert_eq!(
        (colour.value.as_str(), colour.variant.as_deref()),
        ("#8c959f", Some("grey"))
    );
    assert_eq!(colour.reason, Some(EvaluationReason::Disabled));
}

#[tokio::test]
async fn errors_map_as_the_ofrep_service_maps_them() {
    let client = client(
        "errors",
        KillswitchProvider::new(FlagSet::from_json(CONFIG).unwrap()),
    )
    .await;
    let ctx = EvaluationContext::default().with_targeting_key("u1");
    let code = |r: Result<_, open_feature::EvaluationError>| r.map(|_: ()| ()).unwrap_err().code;
    let missing = client
        .get_bool_value("nope", Some(&ctx), None)
        .await
        .map(|_| ());
    assert_eq!(code(missing), EvaluationErrorCode::FlagNotFound);
    let mismatch = client
        .get_string_value("checkout", Some(&ctx), None)
        .await
        .map(|_| ());
    assert_eq!(code(mismatch), EvaluationErrorCode::TypeMismatch);
    assert_eq!(
        client
            .get_int_value("page_size", Some(&ctx), None)
            .await
            .unwrap(),
        50
    );
    assert_eq!(
        client
            .get_float_value("page_size", Some(&ctx), None)
            .await
            .unwrap(),
        50.0
    );
    let conflict = ctx.clone().with_custom_field("user_id", "u2");
    let invalid = client
        .get_bool_value("checkout", Some(&conflict), None)
        .await
        .map(|_| ());
    assert_eq!(code(invalid), EvaluationErrorCode::InvalidContext);
    let no_key = client
        .get_bool_details("checkout", Some(&EvaluationContext::default()), None)
        .await
        .unwrap();
    assert!(!no_key.value);
    assert_eq!(no_key.reason, Some(EvaluationReason::Default));
}
