//! Every CEL rule of the CRD has a twin in the operator's `validate`: the spec that breaks the
//! rule is rejected by `validate` with the same message, at the field the rule points to (or
//! below it). No rule lives in one place only: every rule has a case, every case a rule.
//! `e2e_cel` proves the API server gives the same message for the same specs.

mod cel_cases;

use cel_cases::{exposure_yaml, CASES};
use exposure_crd::cel::RULES;
use exposure_crd::Exposure;
use exposure_operator::cluster::{ClusterInfo, KubeVersion};
use exposure_operator::validate::validate;

#[test]
fn every_rule_has_one_case_and_every_case_a_rule() {
    for rule in RULES {
        let cases = CASES.iter().filter(|c| c.rule == rule.name).count();
        assert_eq!(cases, 1, "CEL rule {} has {cases} cases", rule.name);
    }
    for case in CASES {
        assert!(
            RULES.iter().any(|r| r.name == case.rule),
            "case for unknown rule {}",
            case.rule
        );
    }
}

#[test]
fn validate_rejects_each_case_with_the_rule_message() {
    // 1.24: grpc and every field of the cases are known, glusterfs still in tree.
    let cluster = ClusterInfo::new(KubeVersion::new(1, 24));
    for case in CASES {
        let exposure: Exposure = serde_yaml::from_str(&exposure_yaml(case, "web", "shop"))
            .unwrap_or_else(|e| panic!("case {}: {e}", case.rule));
        let errors = validate(&exposure, &cluster).expect_err(case.rule);
        let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let same = |m: &str| {
            m == case.message
                || m.starts_with(&format!("{} (", case.message))
                || m.starts_with(&format!("{}: ", case.message))
        };
        assert!(
            errors
                .iter()
                .any(|e| e.field == case.field && same(&e.message)),
            "case {}: expected `{}: {}`, got {found:#?}",
            case.rule,
            case.field,
            case.message
        );
        let rule = RULES.iter().find(|r| r.name == case.rule).expect("rule");
        let field = strip_indexes(case.field);
        let points_at = rule.at.iter().any(|at| {
            let at = format!("{at}{}", rule.field_path.unwrap_or(""));
            field.starts_with(&strip_indexes(&at))
        });
        assert!(
            points_at,
            "case {}: the rule points at {:?}{:?}, the operator at {}",
            case.rule, rule.at, rule.field_path, case.field
        );
    }
}

/// `spec.storage[0].glusterfs` and `spec.storage[].glusterfs` → `spec.storage.glusterfs`.
fn strip_indexes(path: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            _ if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}
