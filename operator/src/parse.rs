//! Reading Exposures from YAML text (the CLI's `validate` and `render`): multi-document YAML →
//! `Exposure`, with every schema problem reported by field path in plain words.
//!
//! Files given to the CLI never passed the API server, so this does what the server would do
//! with the CRD's OpenAPI schema — type checks, enums, required fields, null pruning — and one
//! thing it would not: unknown fields are errors here (the server prunes them silently, which
//! hides typos such as `replica:`). Cross-field rules are `validate`'s job.

use std::sync::OnceLock;

use exposure_crd::Exposure;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;

use crate::validate::FieldError;

/// The field named by errors about a document as a whole (YAML syntax, not a mapping).
pub const DOCUMENT_FIELD: &str = "(document)";

const API_VERSION: &str = "exposure.dev/v1alpha1";
const KIND: &str = "Exposure";

/// One non-empty YAML document of the input.
#[derive(Clone, Debug)]
pub struct ParsedDocument {
    /// 0-based position in the stream; skipped empty documents count, so this is the number
    /// of `---` separators before the document.
    pub index: usize,
    pub result: Result<Exposure, Vec<FieldError>>,
    /// When `result` holds schema errors: the document with the offending values dropped, if
    /// the rest still makes an Exposure — so cross-field validation can report its problems
    /// too, in the same run.
    pub salvaged: Option<Exposure>,
}

/// Parses `---`-separated YAML documents; empty documents (nothing, or only comments) are
/// skipped. Never panics: any problem becomes a `FieldError` of its document.
pub fn parse_exposures(text: &str) -> Vec<ParsedDocument> {
    let mut parsed = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        match Yaml::deserialize(document) {
            Ok(Yaml::Null) => {}
            Ok(value) => {
                let (result, salvaged) = parse_document(value);
                parsed.push(ParsedDocument {
                    index,
                    result,
                    salvaged,
                });
            }
            Err(error) => {
                // The scanner cannot resync after a syntax error: the rest of the stream is lost
                // (and serde_yaml would repeat the error forever).
                let result = Err(vec![FieldError::new(DOCUMENT_FIELD, error.to_string())]);
                parsed.push(ParsedDocument {
                    index,
                    result,
                    salvaged: None,
                });
                break;
            }
        }
    }
    parsed
}

/// Checks one YAML document against the Exposure schema and deserializes it.
pub fn parse_value(value: Yaml) -> Result<Exposure, Vec<FieldError>> {
    parse_document(value).0
}

/// The parse result, and the salvaged rest of the document when the schema check failed.
fn parse_document(mut value: Yaml) -> (Result<Exposure, Vec<FieldError>>, Option<Exposure>) {
    // `<<: *anchor` merge keys, as kubectl supports them.
    if let Err(error) = value.apply_merge() {
        return (
            Err(vec![FieldError::new(DOCUMENT_FIELD, error.to_string())]),
            None,
        );
    }
    let value = untag(value);
    let Yaml::Mapping(root) = &value else {
        let message = format!(
            "expected a mapping (an {KIND} object), got {}",
            describe(&value)
        );
        return (Err(vec![FieldError::new(DOCUMENT_FIELD, message)]), None);
    };
    // A document of another kind would drown in unknown-field errors: say only that.
    let identity_errors: Vec<FieldError> = [("apiVersion", API_VERSION), ("kind", KIND)]
        .into_iter()
        .filter_map(
            |(field, expected)| match root.get(field).map(|v| untag(v.clone())) {
                Some(Yaml::String(actual)) if actual == expected => None,
                None | Some(Yaml::Null) => Some(FieldError::new(
                    field,
                    format!("required; expected {expected}"),
                )),
                Some(other) => Some(FieldError::new(
                    field,
                    format!("expected {expected}, got {}", describe_plain(&other)),
                )),
            },
        )
        .collect();
    if !identity_errors.is_empty() {
        return (Err(identity_errors), None);
    }

    let mut checker = Checker { errors: Vec::new() };
    let mut json = checker.convert(value, root_schema(), "");
    if let Json::Object(object) = &mut json {
        // The server fills in metadata; a missing name is reported by `validate`.
        object
            .entry("metadata")
            .or_insert_with(|| Json::Object(Map::new()));
    }
    if !checker.errors.is_empty() {
        // Offending values were converted to null; without them the rest may still parse.
        prune_nulls(&mut json);
        return (Err(checker.errors), serde_json::from_value(json).ok());
    }
    let result =
        serde_path_to_error::deserialize(json).map_err(|error| vec![from_serde_error(&error)]);
    (result, None)
}

fn prune_nulls(value: &mut Json) {
    match value {
        Json::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        Json::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// The CRD's openAPIV3Schema plus the fields every object has (apiVersion, kind, metadata).
fn root_schema() -> Option<&'static Json> {
    static SCHEMA: OnceLock<Option<Json>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let crd = exposure_crd::crd();
            let version = crd
                .spec
                .versions
                .iter()
                .find(|v| v.name == exposure_crd::VERSION)?;
            let schema = version.schema.as_ref()?.open_api_v3_schema.as_ref()?;
            let mut schema = serde_json::to_value(schema).ok()?;
            let properties = schema.get_mut("properties")?.as_object_mut()?;
            properties.insert("apiVersion".into(), serde_json::json!({"type": "string"}));
            properties.insert("kind".into(), serde_json::json!({"type": "string"}));
            properties.insert("metadata".into(), object_meta_schema());
            Some(schema)
        })
        .as_ref()
}

/// The ObjectMeta fields a manifest may carry (`kubectl get -o yaml` output included); the
/// nested structures are type-checked by deserialization.
fn object_meta_schema() -> Json {
    let string = serde_json::json!({"type": "string"});
    let string_map =
        serde_json::json!({"type": "object", "additionalProperties": {"type": "string"}});
    let free = serde_json::json!({"x-kubernetes-preserve-unknown-fields": true});
    serde_json::json!({
        "type": "object",
        "properties": {
            "name": string, "generateName": string, "namespace": string, "uid": string,
            "resourceVersion": string, "selfLink": string,
            "creationTimestamp": string, "deletionTimestamp": string,
            "generation": {"type": "integer", "format": "int64"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": string_map, "annotations": string_map,
            "finalizers": {"type": "array", "items": string},
            "ownerReferences": free, "managedFields": free,
        }
    })
}

/// YAML → JSON conversion that checks each value against its schema on the way, so errors
/// come out in document order.
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn error(&mut self, field: &str, message: String) {
        let field = if field.is_empty() {
            DOCUMENT_FIELD
        } else {
            field
        };
        self.errors.push(FieldError::new(field, message));
    }

    /// Converts `value` at `path`; `schema` None means anything goes.
    fn convert(&mut self, value: Yaml, schema: Option<&Json>, path: &str) -> Json {
        let value = untag(value);
        let Some(schema) = schema.filter(|s| !flag(s, "x-kubernetes-preserve-unknown-fields"))
        else {
            return self.convert_unchecked(value, path);
        };
        if value.is_null() {
            if !flag(schema, "nullable")
                && (schema.get("type").is_some() || flag(schema, "x-kubernetes-int-or-string"))
            {
                self.error(
                    path,
                    format!("expected {}, got null", expected_words(schema)),
                );
            }
            return Json::Null;
        }
        if flag(schema, "x-kubernetes-int-or-string") {
            if !matches!(value, Yaml::String(_)) && !is_integer(&value) {
                self.error(
                    path,
                    format!("expected an integer or a string, got {}", describe(&value)),
                );
            }
            return self.convert_unchecked(value, path);
        }
        match (schema.get("type").and_then(Json::as_str), value) {
            (Some("object"), Yaml::Mapping(mapping)) => self.convert_object(mapping, schema, path),
            (Some("array"), Yaml::Sequence(items)) => Json::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        self.convert(item, schema.get("items"), &format!("{path}[{i}]"))
                    })
                    .collect(),
            ),
            (Some("string"), Yaml::String(text)) => {
                let allowed = enum_values(schema);
                if !allowed.is_empty() && !allowed.contains(&text.as_str()) {
                    self.error(
                        path,
                        format!("{} is not one of {}", quote(&text), allowed.join(", ")),
                    );
                    return Json::Null;
                }
                Json::String(text)
            }
            (Some("integer"), value @ Yaml::Number(_)) if is_integer(&value) => {
                self.check_integer_format(&value, schema, path);
                self.convert_unchecked(value, path)
            }
            (Some("number"), value @ Yaml::Number(_))
            | (Some("boolean"), value @ Yaml::Bool(_))
            | (None, value) => self.convert_unchecked(value, path),
            (Some(_), value) => {
                self.error(
                    path,
                    format!(
                        "expected {}, got {}",
                        expected_words(schema),
                        describe(&value)
                    ),
                );
                Json::Null
            }
        }
    }

    fn convert_object(&mut self, mapping: serde_yaml::Mapping, schema: &Json, path: &str) -> Json {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let mut object = Map::new();
        for (key, child) in mapping {
            let Some(key) = self.key_string(key, path) else {
                continue;
            };
            let child = untag(child);
            if let Some(property) = properties.and_then(|p| p.get(&key)) {
                // The API server prunes nulls of non-nullable fields before validating.
                if child.is_null() && !flag(property, "nullable") {
                    continue;
                }
                let value = self.convert(child, Some(property), &field_path(path, &key));
                object.insert(key, value);
            } else if let Some(value_schema) = additional.filter(|a| a.is_object()) {
                let value = self.convert(child, Some(value_schema), &format!("{path}[{key}]"));
                object.insert(key, value);
            } else if additional.and_then(Json::as_bool) == Some(true) {
                let value = self.convert_unchecked(child, &format!("{path}[{key}]"));
                object.insert(key, value);
            } else {
                let known = properties
                    .map(|p| p.keys().map(String::as_str).collect::<Vec<_>>())
                    .unwrap_or_default();
                let message = match closest(&key, &known) {
                    Some(suggestion) => format!("unknown field; did you mean {suggestion}?"),
                    None => "unknown field".to_string(),
                };
                self.error(&field_path(path, &key), message);
            }
        }
        let required = schema
            .get("required")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for name in required.iter().filter_map(Json::as_str) {
            if !object.contains_key(name) {
                self.error(&field_path(path, name), "required".to_string());
            }
        }
        Json::Object(object)
    }

    fn check_integer_format(&mut self, value: &Yaml, schema: &Json, path: &str) {
        let bits_ok = match schema.get("format").and_then(Json::as_str) {
            Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Some("int64") => value.as_i64().is_some(),
            _ => true,
        };
        if !bits_ok {
            let bits = if schema.get("format").and_then(Json::as_str) == Some("int32") {
                32
            } else {
                64
            };
            self.error(
                path,
                format!("{} does not fit in a {bits}-bit integer", describe(value)),
            );
        }
    }

    /// Mapping keys become strings the way kubectl's YAML→JSON does (`80:` → `"80"`).
    fn key_string(&mut self, key: Yaml, path: &str) -> Option<String> {
        match untag(key) {
            Yaml::String(text) => Some(text),
            Yaml::Number(number) => Some(number.to_string()),
            Yaml::Bool(flag) => Some(flag.to_string()),
            Yaml::Null => Some("null".to_string()),
            other => {
                self.error(
                    path,
                    format!("mapping keys must be strings, got {}", describe(&other)),
                );
                None
            }
        }
    }

    /// Plain YAML → JSON, for values no schema describes.
    fn convert_unchecked(&mut self, value: Yaml, path: &str) -> Json {
        match untag(value) {
            Yaml::Null => Json::Null,
            Yaml::Bool(flag) => Json::Bool(flag),
            Yaml::Number(number) => {
                if let Some(n) = number.as_i64() {
                    Json::from(n)
                } else if let Some(n) = number.as_u64() {
                    Json::from(n)
                } else if let Some(n) = number.as_f64().and_then(serde_json::Number::from_f64) {
                    Json::Number(n)
                } else {
                    self.error(path, format!("expected a finite number, got {number}"));
                    Json::Null
                }
            }
            Yaml::String(text) => Json::String(text),
            Yaml::Sequence(items) => Json::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.convert_unchecked(item, &format!("{path}[{i}]")))
                    .collect(),
            ),
            Yaml::Mapping(mapping) => {
                let mut object = Map::new();
                for (key, child) in mapping {
                    if let Some(key) = self.key_string(key, path) {
                        let value = self.convert_unchecked(child, &format!("{path}[{key}]"));
                        object.insert(key, value);
                    }
                }
                Json::Object(object)
            }
            // `untag` removed every tag.
            Yaml::Tagged(_) => Json::Null,
        }
    }
}

/// Drops YAML tags (`!!str`, `!Custom`): JSON has none and kubectl ignores them.
fn untag(value: Yaml) -> Yaml {
    match value {
        Yaml::Tagged(tagged) => untag(tagged.value),
        other => other,
    }
}

fn flag(schema: &Json, name: &str) -> bool {
    schema.get(name).and_then(Json::as_bool) == Some(true)
}

fn is_integer(value: &Yaml) -> bool {
    matches!(value, Yaml::Number(n) if n.is_i64() || n.is_u64())
}

fn enum_values(schema: &Json) -> Vec<&str> {
    schema
        .get("enum")
        .and_then(Json::as_array)
        .map(|values| values.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn expected_words(schema: &Json) -> &'static str {
    if flag(schema, "x-kubernetes-int-or-string") {
        return "an integer or a string";
    }
    match schema.get("type").and_then(Json::as_str) {
        Some("object") => "an object",
        Some("array") => "a list",
        Some("integer") => "an integer",
        Some("number") => "a number",
        Some("boolean") => "a boolean",
        _ => "a string",
    }
}

/// `"three"`, `5`, `true`, `null`, `a list`, `an object` — what an error says it got.
fn describe(value: &Yaml) -> String {
    match value {
        Yaml::String(text) => quote(text),
        other => describe_plain(other),
    }
}

/// Like `describe`, but strings unquoted (`got Service`).
fn describe_plain(value: &Yaml) -> String {
    match value {
        Yaml::Null => "null".to_string(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Number(number) => number.to_string(),
        Yaml::String(text) => truncate(text),
        Yaml::Sequence(_) => "a list".to_string(),
        Yaml::Mapping(_) => "an object".to_string(),
        Yaml::Tagged(tagged) => describe_plain(&tagged.value),
    }
}

fn quote(text: &str) -> String {
    serde_json::to_string(&truncate(text)).unwrap_or_default()
}

/// Long values are cut in messages; the path already says where they are.
fn truncate(text: &str) -> String {
    const LIMIT: usize = 60;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

fn field_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The known field most like an unknown one: same letters ignoring case, or at most two edits.
fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let lowered = unknown.to_lowercase();
    known
        .iter()
        .map(|candidate| {
            (
                edit_distance(&lowered, &candidate.to_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).clamp(1, 2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance where swapping two neighbours counts as one edit (`sepc` → `spec`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // distances[i][j]: between a[..i] and b[..j].
    let mut distances = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in distances.iter_mut().enumerate() {
        row[0] = i;
    }
    distances[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (distances[i - 1][j] + 1)
                .min(distances[i][j - 1] + 1)
                .min(distances[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(distances[i - 2][j - 2] + 1);
            }
            distances[i][j] = best;
        }
    }
    distances[a.len()][b.len()]
}

/// serde's message, in the words the schema checks use. Only reached for what the schema
/// pass cannot see (e.g. inside `ownerReferences`).
fn from_serde_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path = error.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = error.inner().to_string();
    let field_or_document = |field: String| {
        if field.is_empty() {
            DOCUMENT_FIELD.to_string()
        } else {
            field
        }
    };
    if let Some(field) = between(&message, "missing field `", "`") {
        return FieldError::new(field_or_document(field_path(&path, field)), "required");
    }
    if let (Some(variant), Some(rest)) = (
        between(&message, "unknown variant `", "`"),
        message.split_once("expected "),
    ) {
        let allowed: Vec<&str> = rest.1.split('`').skip(1).step_by(2).collect();
        return FieldError::new(
            field_or_document(path),
            format!("{} is not one of {}", quote(variant), allowed.join(", ")),
        );
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((got, expected)) = message
            .strip_prefix(prefix)
            .and_then(|m| m.split_once(", expected "))
        {
            let got = got.replace('`', "");
            let got = got
                .strip_prefix("string ")
                .or_else(|| got.split_once(' ').map(|(_, v)| v))
                .unwrap_or(&got);
            return FieldError::new(
                field_or_document(path),
                format!("expected {}, got {got}", serde_expected_words(expected)),
            );
        }
    }
    FieldError::new(field_or_document(path), message)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let after = text.split_once(start)?.1;
    Some(after.split_once(end)?.0)
}

fn serde_expected_words(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "an integer" => "an integer",
        "a sequence" => "a list",
        "a boolean" => "a boolean",
        "a string" => "a string",
        "a map" => "an object",
        other if other.starts_with("struct ") => "an object",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata:\n  name: web\n";

    /// Errors of a one-document text, as `field: message` lines.
    fn errors(text: &str) -> Vec<String> {
        let documents = parse_exposures(text);
        assert_eq!(documents.len(), 1, "{documents:?}");
        match &documents[0].result {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    fn spec_errors(spec: &str) -> Vec<String> {
        errors(&format!("{HEADER}spec:\n{spec}"))
    }

    #[test]
    fn parses_a_full_document() {
        let text = format!(
            "{HEADER}  namespace: shop\nspec:\n  image: nginx:1.25\n  replicas: 2\n  ports:\n  - name: http\n    containerPort: 8080\n    protocol: UDP\n  storage:\n  - name: data\n    mountPath: /data\n    size: 1\n  visibility:\n    type: NodePort\n"
        );
        let documents = parse_exposures(&text);
        let exposure = documents[0].result.as_ref().expect("valid document");
        assert_eq!(exposure.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(exposure.spec.replicas, Some(2));
        assert_eq!(exposure.spec.ports[0].protocol, exposure_crd::Protocol::Udp);
        assert_eq!(exposure.spec.storage[0].size.0, "1");
        assert_eq!(
            exposure.spec.visibility.type_,
            exposure_crd::VisibilityType::NodePort
        );
    }

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let one = format!("{HEADER}spec:\n  image: a\n");
        let text = format!("---\n# only a comment\n---\n{one}---\n---\n{one}\n---\n");
        let documents = parse_exposures(&text);
        assert_eq!(
            documents.iter().map(|d| d.index).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert!(documents.iter().all(|d| d.result.is_ok()));
        assert!(parse_exposures("").is_empty());
        assert!(parse_exposures("# nothing\n").is_empty());
    }

    #[test]
    fn reports_yaml_syntax_errors_per_document() {
        let documents = parse_exposures("spec: [unclosed\n");
        assert_eq!(documents.len(), 1);
        let errors = documents[0].result.as_ref().expect_err("syntax error");
        assert_eq!(errors[0].field, DOCUMENT_FIELD);
        assert!(
            errors[0].message.contains("line 1"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_document_must_be_a_mapping() {
        assert_eq!(
            errors("- a\n- b\n"),
            vec!["(document): expected a mapping (an Exposure object), got a list"]
        );
        assert_eq!(
            errors("hello\n"),
            vec!["(document): expected a mapping (an Exposure object), got \"hello\""]
        );
    }

    #[test]
    fn checks_api_version_and_kind() {
        assert_eq!(
            errors("apiVersion: v1\nkind: Service\nspec:\n  bogus: 1\n"),
            vec![
                "apiVersion: expected exposure.dev/v1alpha1, got v1",
                "kind: expected Exposure, got Service"
            ]
        );
        assert_eq!(
            errors("kind: Exposure\nspec: {}\n"),
            vec!["apiVersion: required; expected exposure.dev/v1alpha1"]
        );
        assert_eq!(
            errors("apiVersion: exposure.dev/v1alpha1\nspec: {}\n"),
            vec!["kind: required; expected Exposure"]
        );
        assert_eq!(
            errors("apiVersion: exposure.dev/v1alpha1\nkind: [Exposure]\n"),
            vec!["kind: expected Exposure, got a list"]
        );
    }

    #[test]
    fn spec_is_required_and_metadata_may_be_missing() {
        assert_eq!(
            errors("apiVersion: exposure.dev/v1alpha1\nkind: Exposure\n"),
            vec!["spec: required"]
        );
        let documents =
            parse_exposures("apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nspec: {}\n");
        let exposure = documents[0]
            .result
            .as_ref()
            .expect("metadata is optional in a file");
        assert_eq!(exposure.metadata.name, None);
    }

    #[test]
    fn schema_errors_keep_the_rest_for_cross_field_checks() {
        let docs = parse_exposures(
            "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: web}\nspec: {image: nginx, replicas: -1, ports: [{containerPort: 80, protocol: HTTP}]}\n",
        );
        assert!(docs[0].result.is_err());
        let rest = docs[0].salvaged.as_ref().expect("salvaged");
        assert_eq!(rest.spec.replicas, Some(-1));
        assert_eq!(rest.spec.ports[0].container_port, 80);
        assert_eq!(
            rest.spec.ports[0].protocol,
            exposure_crd::Protocol::Tcp,
            "the bad value is dropped"
        );
        let fine = parse_exposures("apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: web}\nspec: {image: nginx}\n");
        assert!(fine[0].result.is_ok() && fine[0].salvaged.is_none());
    }

    #[test]
    fn unknown_enum_value() {
        assert_eq!(
            spec_errors("  ports:\n  - containerPort: 80\n    protocol: HTTP\n"),
            vec!["spec.ports[0].protocol: \"HTTP\" is not one of TCP, UDP, SCTP"]
        );
        assert_eq!(
            spec_errors("  ports:\n  - containerPort: 80\n    protocol: SCTP\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wrong_types() {
        assert_eq!(
            spec_errors("  replicas: three\n"),
            vec!["spec.replicas: expected an integer, got \"three\""]
        );
        assert_eq!(
            spec_errors("  replicas: \"3\"\n"),
            vec!["spec.replicas: expected an integer, got \"3\""]
        );
        assert_eq!(
            spec_errors("  replicas: 1.5\n"),
            vec!["spec.replicas: expected an integer, got 1.5"]
        );
        assert_eq!(
            spec_errors("  image: [a]\n"),
            vec!["spec.image: expected a string, got a list"]
        );
        assert_eq!(
            spec_errors("  headless: yes\n"),
            vec!["spec.headless: expected a boolean, got \"yes\""]
        );
        assert_eq!(
            spec_errors("  ports: {}\n"),
            vec!["spec.ports: expected a list, got an object"]
        );
        assert_eq!(
            spec_errors("  visibility: Internal\n"),
            vec!["spec.visibility: expected an object, got \"Internal\""]
        );
        assert_eq!(
            spec_errors("  replicas: 3\n  headless: true\n  image: a\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn integers_must_fit_their_format() {
        assert_eq!(
            spec_errors("  replicas: 99999999999\n"),
            vec!["spec.replicas: 99999999999 does not fit in a 32-bit integer"]
        );
        assert_eq!(
            spec_errors("  replicas: 2147483647\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn int_or_string_fields() {
        let probe = |port: &str| {
            spec_errors(&format!(
                "  probes:\n    liveness:\n      tcpSocket:\n        port: {port}\n"
            ))
        };
        assert_eq!(probe("8080"), Vec::<String>::new());
        assert_eq!(probe("http"), Vec::<String>::new());
        assert_eq!(
            probe("1.5"),
            vec!["spec.probes.liveness.tcpSocket.port: expected an integer or a string, got 1.5"]
        );
        assert_eq!(
            probe("[1]"),
            vec![
                "spec.probes.liveness.tcpSocket.port: expected an integer or a string, got a list"
            ]
        );
    }

    #[test]
    fn missing_required_fields() {
        assert_eq!(
            spec_errors("  ports:\n  - name: http\n"),
            vec!["spec.ports[0].containerPort: required"]
        );
        assert_eq!(
            spec_errors("  storage:\n  - name: data\n"),
            vec![
                "spec.storage[0].mountPath: required",
                "spec.storage[0].size: required"
            ]
        );
    }

    #[test]
    fn unknown_fields_with_suggestions() {
        assert_eq!(
            spec_errors("  replica: 3\n"),
            vec!["spec.replica: unknown field; did you mean replicas?"]
        );
        assert_eq!(
            spec_errors("  ports:\n  - containerport: 80\n"),
            vec![
                "spec.ports[0].containerport: unknown field; did you mean containerPort?",
                "spec.ports[0].containerPort: required"
            ]
        );
        assert_eq!(
            spec_errors("  frobnicate: 3\n"),
            vec!["spec.frobnicate: unknown field"]
        );
        assert_eq!(
            errors(&format!("{HEADER}  namesapce: x\nspec: {{}}\n")),
            vec!["metadata.namesapce: unknown field; did you mean namespace?"]
        );
        assert_eq!(
            errors(&format!("{HEADER}sepc: {{}}\n")),
            vec!["sepc: unknown field; did you mean spec?", "spec: required"]
        );
    }

    #[test]
    fn maps_and_free_fields_take_any_key() {
        let spec = "  podLabels:\n    app.kubernetes.io/name: web\n  quota:\n    hard:\n      pods: 3\n      requests.storage: 10Gi\n";
        assert_eq!(spec_errors(spec), Vec::<String>::new());
        let meta = format!("{HEADER}  ownerReferences:\n  - anything: goes\n    deep: {{x: 1}}\n  labels:\n    a: b\nspec: {{}}\n");
        assert_eq!(errors(&meta), Vec::<String>::new());
        // ownerReferences is only type-checked by deserialization, whose message is translated.
        assert_eq!(
            errors(&format!("{HEADER}  ownerReferences: 5\nspec: {{}}\n")),
            vec!["metadata.ownerReferences: expected a list, got 5"]
        );
        assert_eq!(
            spec_errors("  podLabels:\n    app: [x]\n"),
            vec!["spec.podLabels[app]: expected a string, got a list"]
        );
    }

    #[test]
    fn errors_come_in_document_order() {
        assert_eq!(
            spec_errors("  zeta: 1\n  replicas: x\n  alpha: 2\n"),
            vec![
                "spec.zeta: unknown field",
                "spec.replicas: expected an integer, got \"x\"",
                "spec.alpha: unknown field",
            ]
        );
    }

    #[test]
    fn nulls_are_pruned_like_the_api_server_does() {
        let documents = parse_exposures(&format!(
            "{HEADER}spec:\n  ports: null\n  image: ~\n  visibility: null\n"
        ));
        let exposure = documents[0].result.as_ref().expect("nulls are pruned");
        assert!(exposure.spec.ports.is_empty());
        assert_eq!(exposure.spec.image, None);
        assert_eq!(
            spec_errors("  ports:\n  - null\n"),
            vec!["spec.ports[0]: expected an object, got null"]
        );
    }

    #[test]
    fn yaml_features_kubectl_accepts() {
        let text = format!(
            "{HEADER}spec:\n  image: !!str nginx\n  ports:\n  - &p\n    containerPort: 80\n    name: a\n  - <<: *p\n    name: b\n  podLabels:\n    80: x\n"
        );
        let documents = parse_exposures(&text);
        let exposure = documents[0]
            .result
            .as_ref()
            .expect("tags, anchors, merges and numeric keys");
        assert_eq!(exposure.spec.ports[1].container_port, 80);
        assert_eq!(exposure.spec.ports[1].name.as_deref(), Some("b"));
        assert_eq!(
            exposure.spec.pod_labels.get("80").map(String::as_str),
            Some("x")
        );
        assert_eq!(
            spec_errors("  podLabels:\n    [a]: x\n"),
            vec!["spec.podLabels: mapping keys must be strings, got a list"]
        );
        assert_eq!(
            spec_errors("  podLabels:\n    a: .nan\n"),
            vec!["spec.podLabels[a]: expected a string, got .nan"]
        );
    }

    #[test]
    fn translates_serde_messages() {
        let error = serde_path_to_error::deserialize::<_, exposure_crd::PortSpec>(
            serde_json::json!({"containerPort": "x"}),
        )
        .expect_err("wrong type");
        assert_eq!(
            from_serde_error(&error).to_string(),
            "containerPort: expected an integer, got \"x\""
        );
        let error = serde_path_to_error::deserialize::<_, exposure_crd::PortSpec>(
            serde_json::json!({"containerPort": 1, "protocol": "HTTP"}),
        )
        .expect_err("unknown variant");
        assert_eq!(
            from_serde_error(&error).to_string(),
            "protocol: \"HTTP\" is not one of TCP, UDP, SCTP"
        );
        let error =
            serde_path_to_error::deserialize::<_, exposure_crd::PortSpec>(serde_json::json!({}))
                .expect_err("missing");
        assert_eq!(
            from_serde_error(&error).to_string(),
            "containerPort: required"
        );
    }

    #[test]
    fn suggestion_distance() {
        assert_eq!(closest("replica", &["replicas", "image"]), Some("replicas"));
        assert_eq!(closest("IMAGE", &["replicas", "image"]), Some("image"));
        assert_eq!(closest("xyz", &["replicas", "image"]), None);
        assert_eq!(closest("sepc", &["spec", "status"]), Some("spec"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }
}
