//! The generated patch-metadata table: lookups, shapes, tags and markers of well-known fields,
//! and the table's own consistency.

use crate::merge_common;

use krs_api::merge::{Granularity, ListType, PatchStrategy, Scalar, TypeKind, kinds, lookup, structs};
use merge_common::{field_type, kind};

#[test]
fn merge_table_lookup_by_api_version_and_kind() {
    let pod = kind("v1", "Pod");
    assert_eq!(pod.as_struct().map(|s| s.definition_name()), Some("io.k8s.api.core.v1.Pod".to_string()));
    let deployment = kind("apps/v1", "Deployment");
    assert_eq!(deployment.as_struct().map(|s| s.name()), Some("Deployment"));
    assert!(lookup("apiextensions.k8s.io/v1", "CustomResourceDefinition").is_some());
    assert!(lookup("apiregistration.k8s.io/v1", "APIService").is_some());
    assert!(lookup("batch/v1", "CronJob").is_some());
    assert!(lookup("v1", "PodList").is_some());
    assert!(lookup("apps/v1", "Pod").is_none());
    assert!(lookup("example.com/v1", "Widget").is_none());
    assert!(lookup("", "").is_none());
}

#[test]
fn merge_table_kinds_are_sorted_and_resolve() {
    let all: Vec<_> = kinds().collect();
    assert!(all.len() > 300, "only {} kinds", all.len());
    for w in all.windows(2) {
        assert!((w[0].0, w[0].1) < (w[1].0, w[1].1), "{:?} / {:?}", w[0], w[1]);
    }
    for (api_version, kind_name, s) in &all {
        assert_eq!(lookup(api_version, kind_name), Some(s.as_type()));
        // Every kind has TypeMeta's members, promoted from the embedded struct.
        let api = s.field("apiVersion").expect("apiVersion");
        assert!(api.is_inlined(), "{api_version} {kind_name}");
        assert!(s.field("kind").is_some_and(|f| f.is_inlined()));
    }
}

#[test]
fn merge_table_structs_are_consistent() {
    let mut count = 0;
    for s in structs() {
        count += 1;
        assert!(!s.name().is_empty());
        assert!(s.model_package().starts_with("io.k8s."), "{}", s.model_package());
        assert_eq!(s.as_type().as_struct(), Some(s));
        let names: Vec<&str> = s.fields().map(|f| f.json_name()).collect();
        for w in names.windows(2) {
            assert!(w[0] < w[1], "{s:?}: fields {w:?} not sorted/unique");
        }
        for f in s.fields() {
            assert!(!f.json_name().is_empty(), "{s:?}");
            assert_eq!(s.field(f.json_name()), Some(f));
            let keys: Vec<&str> = f.list_map_keys().collect();
            assert_eq!(f.list_type() == Some(ListType::Map), !keys.is_empty(), "{s:?}.{}", f.json_name());
            if f.patch_merge_key().is_some() {
                assert!(f.patch_strategy().merge, "{s:?}.{}", f.json_name());
            }
            assert!(f.patch_strategy().as_str().is_some() || f.patch_strategy() == PatchStrategy::default());
        }
    }
    assert!(count > 1000, "only {count} structs");
}

#[test]
fn merge_table_pod_spec_metadata() {
    let spec = field_type(kind("v1", "Pod"), &["spec"]);
    let containers = spec.field("containers").expect("containers");
    assert_eq!(containers.patch_merge_key(), Some("name"));
    assert_eq!(containers.patch_strategy().as_str(), Some("merge"));
    assert_eq!(containers.list_type(), Some(ListType::Map));
    assert_eq!(containers.list_type().map(ListType::as_str), Some("map"));
    assert_eq!(containers.list_map_keys().collect::<Vec<_>>(), ["name"]);
    let TypeKind::List(container) = containers.ty().kind() else {
        panic!("containers is not a list");
    };
    assert_eq!(container.as_struct().map(|s| s.name()), Some("Container"));

    let ports = container.field("ports").expect("ports");
    assert_eq!(ports.patch_merge_key(), Some("containerPort"));
    assert_eq!(ports.list_map_keys().collect::<Vec<_>>(), ["containerPort", "protocol"]);
    let env = container.field("env").expect("env");
    assert_eq!(env.patch_merge_key(), Some("name"));
    assert_eq!(container.field("args").and_then(|f| f.list_type()), Some(ListType::Atomic));
    assert_eq!(container.field("image").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::String)));
    let probe = container.field("livenessProbe").expect("livenessProbe");
    assert!(probe.is_pointer());
    assert!(probe.is_omitempty());
    assert!(!container.field("name").expect("name").is_omitempty());

    let volumes = spec.field("volumes").expect("volumes");
    assert_eq!(volumes.patch_strategy().as_str(), Some("merge,retainKeys"));
    let tolerations = spec.field("tolerations").expect("tolerations");
    assert_eq!(tolerations.patch_strategy(), PatchStrategy::default());
    assert_eq!(tolerations.list_type(), Some(ListType::Atomic));
    assert_eq!(tolerations.patch_merge_key(), None);

    let node_selector = spec.field("nodeSelector").expect("nodeSelector");
    assert_eq!(node_selector.map_type(), Some(Granularity::Atomic));
    assert!(matches!(node_selector.ty().kind(), TypeKind::Map(v) if v.kind() == TypeKind::Scalar(Scalar::String)));

    // Go's encoding/json matches keys case-insensitively; upstream's patch lookup does too.
    let s = spec.as_struct().expect("struct");
    assert_eq!(s.field_case_insensitive("CONTAINERS"), Some(containers));
    assert_eq!(s.field_case_insensitive("nodeſelector"), Some(node_selector));
    assert_eq!(s.field("CONTAINERS"), None);
}

#[test]
fn merge_table_object_meta_and_leaf_types() {
    let meta = field_type(kind("v1", "ConfigMap"), &["metadata"]);
    assert_eq!(
        meta.as_struct().map(|s| s.definition_name()),
        Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".to_string())
    );
    let finalizers = meta.field("finalizers").expect("finalizers");
    assert!(finalizers.patch_strategy().merge);
    assert_eq!(finalizers.list_type(), Some(ListType::Set));
    let owners = meta.field("ownerReferences").expect("ownerReferences");
    assert_eq!(owners.patch_merge_key(), Some("uid"));
    let owner = owners.ty().element().and_then(|t| t.as_struct()).expect("OwnerReference");
    assert_eq!(owner.struct_type(), Some(Granularity::Atomic));
    assert_eq!(meta.field("managedFields").and_then(|f| f.list_type()), Some(ListType::Atomic));
    let created = meta.field("creationTimestamp").expect("creationTimestamp");
    assert_eq!(created.ty().kind(), TypeKind::Scalar(Scalar::Time));
    let managed = meta.field("managedFields").and_then(|f| f.ty().element()).expect("ManagedFieldsEntry");
    assert_eq!(managed.field("fieldsV1").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::FieldsV1)));
    assert_eq!(managed.field("time").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::Time)));

    let data = field_type(kind("v1", "Secret"), &[]).field("data").expect("data");
    assert!(matches!(data.ty().kind(), TypeKind::Map(v) if v.kind() == TypeKind::Scalar(Scalar::Bytes)));

    let requests = field_type(kind("v1", "Pod"), &["spec"]).field("overhead").expect("overhead");
    assert!(matches!(requests.ty().kind(), TypeKind::Map(v) if v.kind() == TypeKind::Scalar(Scalar::Quantity)));

    let port = field_type(kind("v1", "Service"), &["spec"])
        .field("ports")
        .and_then(|f| f.ty().element())
        .expect("ServicePort");
    assert_eq!(port.field("targetPort").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::IntOrString)));

    let revision = kind("apps/v1", "ControllerRevision");
    assert_eq!(revision.field("data").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::RawExtension)));
}

#[test]
fn merge_table_deployment_and_crd_metadata() {
    let spec = field_type(kind("apps/v1", "Deployment"), &["spec"]);
    let strategy = spec.field("strategy").expect("strategy");
    assert_eq!(strategy.patch_strategy().as_str(), Some("retainKeys"));
    let selector = spec.field("selector").expect("selector");
    assert_eq!(selector.struct_type(), Some(Granularity::Atomic));
    assert!(selector.is_pointer());

    let pdb = field_type(kind("policy/v1", "PodDisruptionBudget"), &["spec"]);
    assert_eq!(pdb.field("selector").map(|f| f.patch_strategy().as_str()), Some(Some("replace")));

    // A field's +structType overrides its type's: claimRef is granular, ObjectReference atomic.
    let claim_ref = field_type(kind("v1", "PersistentVolume"), &["spec"]).field("claimRef").expect("claimRef");
    assert_eq!(claim_ref.struct_type(), Some(Granularity::Granular));
    assert_eq!(claim_ref.ty().as_struct().and_then(|s| s.struct_type()), Some(Granularity::Atomic));

    let crd = kind("apiextensions.k8s.io/v1", "CustomResourceDefinition");
    let schema = field_type(crd, &["spec", "versions"])
        .element()
        .map(|v| field_type(v, &["schema", "openAPIV3Schema"]))
        .expect("openAPIV3Schema");
    assert_eq!(
        schema.as_struct().map(|s| s.definition_name()),
        Some("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps".to_string())
    );
    assert!(matches!(
        schema.field("properties").map(|f| f.ty().kind()),
        Some(TypeKind::Map(v)) if v == schema
    ));
    assert_eq!(schema.field("items").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::SchemaOrArray)));
    assert_eq!(schema.field("default").map(|f| f.ty().kind()), Some(TypeKind::Scalar(Scalar::Json)));

    let csr = field_type(kind("certificates.k8s.io/v1", "CertificateSigningRequest"), &["spec"]);
    let extra = csr.field("extra").expect("extra");
    assert!(matches!(extra.ty().kind(), TypeKind::Map(v) if matches!(v.kind(), TypeKind::List(_))));
}
