//! Upstream's objectmeta_test.go and generic name checks, as facts about this port.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), ..Default::default() }
}

fn owner(kind: &str, name: &str, uid: &str, controller: Option<bool>) -> OwnerReference {
    OwnerReference {
        api_version: "customresourceVersion".into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller,
        block_owner_deletion: None,
    }
}

fn time(secs: i64) -> Time {
    let ts: k8s_openapi::jiff::Timestamp = match k8s_openapi::jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts,
        Err(e) => panic!("bad test timestamp: {e}"),
    };
    Time(ts)
}

fn strings(errs: &ErrorList) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

#[test]
fn generate_name_is_validated_with_the_prefix_flag() {
    fn name_fn(s: &str, prefix: bool) -> Vec<String> {
        if s == "test" || !prefix {
            return Vec::new();
        }
        vec!["name-gen".into()]
    }
    let m = ObjectMeta { generate_name: Some("foo".into()), ..meta("test") };
    let errs = validate_object_meta(&m, false, name_fn, &Path::new("field"));
    assert_eq!(strings(&errs), vec![r#"field.generateName: Invalid value: "foo": name-gen"#]);
}

#[test]
fn namespace_rules() {
    let m = ObjectMeta { namespace: Some("foo.bar".into()), ..meta("test") };
    let errs = validate_object_meta(&m, true, name_is_dns_subdomain, &Path::new("field"));
    assert_eq!(strings(&errs), vec![r#"field.namespace: Invalid value: "foo.bar": must not contain dots"#]);
    let long = ObjectMeta { namespace: Some("A".repeat(64)), ..meta("test") };
    let errs = validate_object_meta(&long, true, name_is_dns_subdomain, &Path::new("field"));
    assert_eq!(errs.len(), 2);
    assert!(errs.iter().all(|e| e.to_string().contains("Invalid value")));
    let errs = validate_object_meta(&meta("test"), true, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(strings(&errs), vec!["metadata.namespace: Required value"]);
    let m = ObjectMeta { namespace: Some("default".into()), ..meta("test") };
    let errs = validate_object_meta(&m, false, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(strings(&errs), vec!["metadata.namespace: Forbidden: not allowed on this type"]);
}

#[test]
fn name_required_and_validated() {
    let errs = validate_object_meta(&ObjectMeta::default(), false, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(strings(&errs), vec!["metadata.name: Required value: name or generateName is required"]);
    let errs = validate_object_meta(&meta("Foo"), false, name_is_dns_subdomain, &Path::new("metadata"));
    assert_eq!(
        strings(&errs),
        vec![
            "metadata.name: Invalid value: \"Foo\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
    let m = ObjectMeta { generate_name: Some("foo-".into()), ..meta("test") };
    assert!(validate_object_meta(&m, false, name_is_dns_subdomain, &Path::new("field")).is_empty());
    let m = ObjectMeta { generation: Some(-1), ..meta("test") };
    assert_eq!(
        strings(&validate_object_meta(&m, false, name_is_dns_subdomain, &Path::new("metadata"))),
        vec!["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]
    );
}

#[test]
fn owner_references() {
    let p = Path::new("field");
    let ok = [owner("customresourceKind", "name", "1", None)];
    assert!(validate_owner_references(&ok, &p).is_empty());
    let event = OwnerReference { api_version: "v1".into(), ..owner("Event", "name", "1", None) };
    assert_eq!(
        strings(&validate_owner_references(&[event], &p)),
        vec![
            r#"field: Invalid value: {"apiVersion":"v1","kind":"Event","name":"name","uid":"1"}: /v1, Kind=Event is disallowed from being an owner"#
        ]
    );
    let one_controller = [
        owner("customresourceKind", "name", "1", Some(true)),
        owner("customresourceKind", "name", "2", Some(false)),
        owner("customresourceKind", "name", "3", None),
    ];
    assert!(validate_owner_references(&one_controller, &p).is_empty());
    let two_controllers = [
        owner("customresourceKind1", "name", "1", Some(false)),
        owner("customresourceKind2", "name", "2", Some(true)),
        owner("customresourceKind3", "name", "3", Some(true)),
        owner("customresourceKind4", "name", "4", None),
    ];
    let errs = validate_owner_references(&two_controllers, &p);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].to_string().ends_with(
        "Only one reference can have Controller set to true. Found \"true\" in references for customresourceKind2/name and customresourceKind3/name"
    ));
    let empty = OwnerReference::default();
    assert_eq!(
        strings(&validate_owner_references(&[empty], &p)),
        vec![
            r#"field.apiVersion: Invalid value: "": version must not be empty"#,
            r#"field.kind: Invalid value: "": must not be empty"#,
            r#"field.name: Invalid value: "": must not be empty"#,
            r#"field.uid: Invalid value: "": must not be empty"#,
        ]
    );
}

#[test]
fn finalizers() {
    let p = Path::new("field");
    let std: Vec<String> = vec!["kubernetes".into(), "orphan".into(), "example.com/x".into()];
    assert!(validate_finalizers(&std, &p).is_empty());
    assert!(is_standard_finalizer_name("foregroundDeletion") && !is_standard_finalizer_name("example.com/x"));
    let both: Vec<String> = vec!["orphan".into(), "foregroundDeletion".into()];
    assert_eq!(
        strings(&validate_finalizers(&both, &p)),
        vec![
            r#"field: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set"#
        ]
    );
    assert_eq!(validate_finalizers(&["a/b/c".to_string()], &p).len(), 1);
}

#[test]
fn update_finalizers_during_deletion() {
    let p = Path::new("field");
    let deleting = |f: &[&str]| ObjectMeta {
        resource_version: Some("1".into()),
        deletion_timestamp: Some(time(0)),
        finalizers: Some(f.iter().map(|s| s.to_string()).collect()),
        ..meta("test")
    };
    let errs = validate_object_meta_update(&deleting(&["x/a", "y/b"]), &deleting(&["x/a"]), &p);
    assert_eq!(
        strings(&errs),
        vec![
            r#"field.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"y/b"}"#
        ]
    );
    let errs = validate_object_meta_update(&deleting(&["x/b"]), &deleting(&["x/a"]), &p);
    assert!(errs.to_string().contains("x/b"));
    assert!(validate_object_meta_update(&deleting(&["x/a"]), &deleting(&["x/a", "y/b"]), &p).is_empty());
    let live = |f: &[&str]| ObjectMeta {
        resource_version: Some("1".into()),
        finalizers: Some(f.iter().map(|s| s.to_string()).collect()),
        ..meta("test")
    };
    assert!(validate_object_meta_update(&live(&["x/a", "y/b"]), &live(&["x/a"]), &p).is_empty());
}

#[test]
fn update_immutable_fields() {
    let p = Path::new("field");
    let base = ObjectMeta { resource_version: Some("1".into()), ..meta("test") };
    let with_created = ObjectMeta { creation_timestamp: Some(time(10)), ..base.clone() };
    assert_eq!(validate_object_meta_update(&base, &with_created, &p).len(), 1);
    assert_eq!(validate_object_meta_update(&with_created, &base, &p).len(), 1);
    let later = ObjectMeta { creation_timestamp: Some(time(11)), ..base.clone() };
    assert_eq!(
        strings(&validate_object_meta_update(&with_created, &later, &p)),
        vec![r#"field.creationTimestamp: Invalid value: "1970-01-01T00:00:10Z": field is immutable"#]
    );

    let deleted = |secs: Option<i64>, grace: Option<i64>| ObjectMeta {
        deletion_timestamp: secs.map(time),
        deletion_grace_period_seconds: grace,
        ..base.clone()
    };
    let cases = [
        (deleted(None, None), deleted(None, None), vec![]),
        (deleted(Some(1000), Some(30)), deleted(Some(1000), Some(30)), vec![]),
        (
            deleted(Some(1000), None),
            deleted(None, None),
            vec![r#"field.deletionTimestamp: Invalid value: "1970-01-01T00:16:40Z": field is immutable"#],
        ),
        (
            deleted(None, None),
            deleted(Some(1000), None),
            vec!["field.deletionTimestamp: Invalid value: null: field is immutable"],
        ),
        (
            deleted(Some(2000), None),
            deleted(Some(1000), None),
            vec![r#"field.deletionTimestamp: Invalid value: "1970-01-01T00:33:20Z": field is immutable"#],
        ),
        (
            deleted(None, Some(30)),
            deleted(None, None),
            vec!["field.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
        ),
        (
            deleted(None, None),
            deleted(None, Some(30)),
            vec!["field.deletionGracePeriodSeconds: Invalid value: null: field is immutable"],
        ),
        (
            deleted(None, Some(40)),
            deleted(None, Some(30)),
            vec!["field.deletionGracePeriodSeconds: Invalid value: 40: field is immutable"],
        ),
    ];
    for (new, old, want) in cases {
        assert_eq!(strings(&validate_object_meta_update(&new, &old, &p)), want);
    }

    let renamed = ObjectMeta {
        name: Some("other".into()),
        namespace: Some("ns2".into()),
        uid: Some("u2".into()),
        ..base.clone()
    };
    let original = ObjectMeta { namespace: Some("ns1".into()), uid: Some("u1".into()), ..base.clone() };
    assert_eq!(
        strings(&validate_object_meta_update(&renamed, &original, &Path::new("metadata"))),
        vec![
            r#"metadata.name: Invalid value: "other": field is immutable"#,
            r#"metadata.namespace: Invalid value: "ns2": field is immutable"#,
            r#"metadata.uid: Invalid value: "u2": field is immutable"#,
        ]
    );
}

#[test]
fn update_requires_resource_version_and_monotonic_generation() {
    let p = Path::new("field");
    assert_eq!(
        strings(&validate_object_meta_update(&meta("test"), &meta("test"), &p)),
        vec![r#"field.resourceVersion: Invalid value: "": must be specified for an update"#]
    );
    let generation = |g: i64| ObjectMeta { resource_version: Some("1".into()), generation: Some(g), ..meta("test") };
    assert_eq!(
        strings(&validate_object_meta_update(&generation(4), &generation(5), &p)),
        vec!["field.generation: Invalid value: 4: must not be decremented"]
    );
    assert!(validate_object_meta_update(&generation(2), &generation(1), &p).is_empty());
    assert!(validate_object_meta_update(&generation(5), &generation(5), &p).is_empty());
}

#[test]
fn annotations() {
    let p = Path::new("field");
    let limit = TOTAL_ANNOTATION_SIZE_LIMIT_B as usize;
    let ok: Vec<BTreeMap<String, String>> = vec![
        [("simple".into(), "bar".into())].into(),
        [("now-with-dashes".into(), "bar".into())].into(),
        [("1-starts-with-num".into(), "bar".into())].into(),
        [("1234".into(), "bar".into())].into(),
        [("simple/simple".into(), "bar".into())].into(),
        [("now.with.dots/simple".into(), "bar".into())].into(),
        [("1.2.3.4/5678".into(), "bar".into())].into(),
        [("UpperCase123".into(), "bar".into())].into(),
        [("a".into(), "b".repeat(limit - 1))].into(),
        [("a".into(), "b".repeat(limit / 2 - 1)), ("c".into(), "d".repeat(limit / 2 - 1))].into(),
    ];
    for a in &ok {
        assert!(validate_annotations(a, &p).is_empty());
    }
    let name_errors: Vec<(String, &str)> = vec![
        ("nospecialchars^=@".into(), "name part must consist of"),
        ("cantendwithadash-".into(), "name part must consist of"),
        ("only/one/slash".into(), "a qualified name must consist of"),
        ("a".repeat(254), "must be no more than"),
    ];
    for (key, want) in name_errors {
        let errs = validate_annotations(&[(key, "bar".to_string())].into(), &p);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains(want), "{}", errs[0].detail);
    }
    let too_big: BTreeMap<String, String> = [("a".into(), "b".repeat(limit))].into();
    assert_eq!(
        strings(&validate_annotations(&too_big, &p)),
        vec!["field: Too long: may not be more than 262144 bytes"]
    );
    assert_eq!(
        validate_annotations_size(&too_big).map_err(|e| e.to_string()),
        Err("annotations size 262145 is larger than limit 262144".to_string())
    );
    let halves: BTreeMap<String, String> =
        [("a".into(), "b".repeat(limit / 2)), ("c".into(), "d".repeat(limit / 2))].into();
    assert_eq!(validate_annotations(&halves, &p).len(), 1);
}

#[test]
fn name_functions() {
    // A trailing dash of a generateName is masked: upstream replaces the last two characters.
    assert!(name_is_dns_subdomain("foo-", true).is_empty());
    assert!(!name_is_dns_subdomain("foo-", false).is_empty());
    assert!(name_is_dns_label("a-", true).is_empty());
    assert!(!name_is_dns1035_label("1a-", true).is_empty());
    assert!(name_is_dns1035_label("ab-", true).is_empty());
    assert_eq!(validate_path_segment_name(".", false), vec!["may not be '.'".to_string()]);
    assert_eq!(validate_path_segment_name("..", false), vec!["may not be '..'".to_string()]);
    assert_eq!(
        validate_path_segment_name("a/b%c", false),
        vec!["may not contain '/'".to_string(), "may not contain '%'".to_string()]
    );
    assert!(validate_path_segment_name("..", true).is_empty());
    assert!(validate_path_segment_name("system:admin", false).is_empty());
    assert!(validate_namespace_name("kube-system", false).is_empty());
    assert!(validate_service_account_name("a.b", false).is_empty());
}
