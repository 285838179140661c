//! krs-kinds: the built-in Kubernetes kinds as typed objects.
//!
//! Every built-in kind that the API server stores or accepts is a k8s-openapi type. This crate
//! puts them all behind one object-safe [`Object`] trait and one table, [`KINDS`], that maps a
//! group/version/kind to functions decoding it from JSON. Decoding into the typed struct is what
//! drops unknown fields of built-in kinds, as upstream's decoder drops them; the callback of
//! [`KindCodec::decode_json`] reports each dropped field so that `fieldValidation=Strict|Warn` can
//! refuse or warn.
//!
//! All serde code for the ~80 kinds is instantiated here and nowhere else, so that crates which
//! change often (strategies, the API server) don't recompile it. Per-kind code elsewhere gets the
//! concrete type back with [`downcast_ref`]/[`downcast_mut`].

pub mod shape;

use std::any::Any;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

pub use k8s_openapi;

/// A Kubernetes object with ObjectMeta: a built-in kind or (later) a custom resource.
pub trait Object: Any + Send + Sync + fmt::Debug {
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;
    /// The object's JSON, with apiVersion and kind.
    fn to_json(&self) -> Vec<u8>;
    /// The object as a JSON value, with apiVersion and kind.
    fn to_value(&self) -> serde_json::Value;
    /// Appends the object's [`shape`] to `out`; false if it does not serialize.
    fn write_shape(&self, out: &mut Vec<u8>) -> bool;
    fn clone_object(&self) -> Box<dyn Object>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;

    /// Whether the kind has a `spec` (the desired state that `metadata.generation` counts).
    fn has_spec(&self) -> bool;
    /// Whether the kind has a `status`.
    fn has_status(&self) -> bool;
    /// True when both objects have the same spec (always true for kinds without one, and when
    /// `other` is of another type).
    fn spec_equal(&self, other: &dyn Object) -> bool;
    /// True when both objects have the same status (as `spec_equal`).
    fn status_equal(&self, other: &dyn Object) -> bool;
    /// Empties the status (what a create through the main resource does).
    fn reset_status(&mut self);
    /// Takes `other`'s status (an update through the main resource keeps the stored status).
    fn copy_status_from(&mut self, other: &dyn Object);
    /// Takes `other`'s spec (an update through the status subresource keeps the stored spec).
    fn copy_spec_from(&mut self, other: &dyn Object);
}

/// Implements [`Object`] for a k8s-openapi type. `spec` and `status` name the parts the kind has.
macro_rules! impl_object {
    (@common $ty:ty) => {
        fn meta(&self) -> &ObjectMeta {
            k8s_openapi::Metadata::metadata(self)
        }
        fn meta_mut(&mut self) -> &mut ObjectMeta {
            k8s_openapi::Metadata::metadata_mut(self)
        }
        fn to_json(&self) -> Vec<u8> {
            // Serializing a k8s-openapi struct into memory cannot fail: every map key is a string.
            serde_json::to_vec(self).unwrap_or_default()
        }
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
        fn write_shape(&self, out: &mut Vec<u8>) -> bool {
            $crate::shape::write(self, out).is_ok()
        }
        fn clone_object(&self) -> Box<dyn Object> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    };
    (@spec $ty:ty, yes) => {
        fn has_spec(&self) -> bool {
            true
        }
        fn spec_equal(&self, other: &dyn Object) -> bool {
            other.as_any().downcast_ref::<$ty>().is_none_or(|o| o.spec == self.spec)
        }
        fn copy_spec_from(&mut self, other: &dyn Object) {
            if let Some(o) = other.as_any().downcast_ref::<$ty>() {
                self.spec = o.spec.clone();
            }
        }
    };
    (@spec $ty:ty, no) => {
        fn has_spec(&self) -> bool {
            false
        }
        fn spec_equal(&self, _other: &dyn Object) -> bool {
            true
        }
        fn copy_spec_from(&mut self, _other: &dyn Object) {}
    };
    (@status $ty:ty, yes) => {
        fn has_status(&self) -> bool {
            true
        }
        fn status_equal(&self, other: &dyn Object) -> bool {
            other.as_any().downcast_ref::<$ty>().is_none_or(|o| o.status == self.status)
        }
        fn reset_status(&mut self) {
            self.status = Default::default();
        }
        fn copy_status_from(&mut self, other: &dyn Object) {
            if let Some(o) = other.as_any().downcast_ref::<$ty>() {
                self.status = o.status.clone();
            }
        }
    };
    (@status $ty:ty, no) => {
        fn has_status(&self) -> bool {
            false
        }
        fn status_equal(&self, _other: &dyn Object) -> bool {
            true
        }
        fn reset_status(&mut self) {}
        fn copy_status_from(&mut self, _other: &dyn Object) {}
    };
    ($ty:ty, spec: $spec:ident, status: $status:ident) => {
        impl Object for $ty {
            impl_object!(@common $ty);
            impl_object!(@spec $ty, $spec);
            impl_object!(@status $ty, $status);
        }
    };
}

impl Clone for Box<dyn Object> {
    fn clone(&self) -> Self {
        self.clone_object()
    }
}

/// The concrete type of an object, when it is a `K`.
pub fn downcast_ref<K: 'static>(obj: &dyn Object) -> Option<&K> {
    obj.as_any().downcast_ref::<K>()
}

/// The concrete type of an object, when it is a `K`.
pub fn downcast_mut<K: 'static>(obj: &mut dyn Object) -> Option<&mut K> {
    obj.as_any_mut().downcast_mut::<K>()
}

/// Reports a field that decoding dropped, as a dotted path (`spec.template.foo`, `data[0]`).
pub type UnknownFieldSink<'a> = &'a mut dyn FnMut(String);

/// The result of decoding an object.
pub type Decoded = Result<Box<dyn Object>, serde_json::Error>;

/// How to decode one kind.
pub struct KindCodec {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// `group/version`, or `version` for the core group.
    pub api_version: &'static str,
    pub namespaced: bool,
    decode_slice: fn(&[u8], UnknownFieldSink<'_>) -> Decoded,
    decode_trusted: fn(&[u8]) -> Decoded,
    decode_value: fn(serde_json::Value, UnknownFieldSink<'_>) -> Decoded,
    new_default: fn() -> Box<dyn Object>,
}

impl fmt::Debug for KindCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KindCodec({}, {})", self.api_version, self.kind)
    }
}

impl KindCodec {
    /// Decodes JSON bytes; unknown fields are dropped and reported to `unknown`.
    pub fn decode_json(
        &self,
        bytes: &[u8],
        unknown: UnknownFieldSink<'_>,
    ) -> Result<Box<dyn Object>, serde_json::Error> {
        (self.decode_slice)(bytes, unknown)
    }

    /// Decodes JSON bytes this server wrote (the store's objects): unknown fields are dropped
    /// without being looked for, which makes the decode about a fifth cheaper.
    pub fn decode_stored_json(&self, bytes: &[u8]) -> Result<Box<dyn Object>, serde_json::Error> {
        (self.decode_trusted)(bytes)
    }

    /// Decodes a JSON value; unknown fields are dropped and reported to `unknown`.
    pub fn decode_value(
        &self,
        value: serde_json::Value,
        unknown: UnknownFieldSink<'_>,
    ) -> Result<Box<dyn Object>, serde_json::Error> {
        (self.decode_value)(value, unknown)
    }

    /// An empty object of this kind (apiVersion and kind set when serialized).
    pub fn new_object(&self) -> Box<dyn Object> {
        (self.new_default)()
    }
}

fn decode_slice<K: Object + DeserializeOwned>(
    bytes: &[u8],
    unknown: UnknownFieldSink<'_>,
) -> Result<Box<dyn Object>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let obj: K = serde_ignored::deserialize(&mut de, |path| unknown(field_path(&path)))?;
    de.end()?;
    Ok(Box::new(obj))
}

fn decode_trusted<K: Object + DeserializeOwned>(bytes: &[u8]) -> Result<Box<dyn Object>, serde_json::Error> {
    Ok(Box::new(serde_json::from_slice::<K>(bytes)?))
}

fn decode_value<K: Object + DeserializeOwned>(
    value: serde_json::Value,
    unknown: UnknownFieldSink<'_>,
) -> Result<Box<dyn Object>, serde_json::Error> {
    let obj: K = serde_ignored::deserialize(value, |path| unknown(field_path(&path)))?;
    Ok(Box::new(obj))
}

/// Formats a dropped field's location as upstream's strict decoder does: `spec.containers[0].foo`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    fn walk(path: &Path<'_>, out: &mut String) {
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, out);
                out.push_str(&format!("[{index}]"));
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
                walk(parent, out)
            }
        }
    }
    let mut out = String::new();
    walk(path, &mut out);
    out
}

fn new_default<K: Object + Default>() -> Box<dyn Object> {
    Box::new(K::default())
}

trait IsNamespaced {
    const NAMESPACED: bool;
}
impl IsNamespaced for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl IsNamespaced for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}
// Kinds that only exist as subresource bodies (Scale, Eviction, TokenRequest) belong to
// namespaced parents.
impl IsNamespaced for k8s_openapi::SubResourceScope {
    const NAMESPACED: bool = true;
}

macro_rules! kinds {
    ($($ty:ty => [spec: $spec:ident, status: $status:ident]),* $(,)?) => {
        $(impl_object!($ty, spec: $spec, status: $status);)*

        /// Every built-in kind, typed.
        pub static KINDS: &[KindCodec] = &[
            $(KindCodec {
                group: <$ty as k8s_openapi::Resource>::GROUP,
                version: <$ty as k8s_openapi::Resource>::VERSION,
                kind: <$ty as k8s_openapi::Resource>::KIND,
                api_version: <$ty as k8s_openapi::Resource>::API_VERSION,
                namespaced: <<$ty as k8s_openapi::Resource>::Scope as IsNamespaced>::NAMESPACED,
                decode_slice: decode_slice::<$ty>,
                decode_trusted: decode_trusted::<$ty>,
                decode_value: decode_value::<$ty>,
                new_default: new_default::<$ty>,
            },)*
        ];
    };
}

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions_v1;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration_v1;

kinds! {
    api::core::v1::Binding => [spec: no, status: no],
    api::core::v1::ComponentStatus => [spec: no, status: no],
    api::core::v1::ConfigMap => [spec: no, status: no],
    api::core::v1::Endpoints => [spec: no, status: no],
    api::core::v1::Event => [spec: no, status: no],
    api::core::v1::LimitRange => [spec: yes, status: no],
    api::core::v1::Namespace => [spec: yes, status: yes],
    api::core::v1::Node => [spec: yes, status: yes],
    api::core::v1::PersistentVolume => [spec: yes, status: yes],
    api::core::v1::PersistentVolumeClaim => [spec: yes, status: yes],
    api::core::v1::Pod => [spec: yes, status: yes],
    api::core::v1::PodTemplate => [spec: no, status: no],
    api::core::v1::ReplicationController => [spec: yes, status: yes],
    api::core::v1::ResourceQuota => [spec: yes, status: yes],
    api::core::v1::Secret => [spec: no, status: no],
    api::core::v1::Service => [spec: yes, status: yes],
    api::core::v1::ServiceAccount => [spec: no, status: no],
    api::admissionregistration::v1::MutatingWebhookConfiguration => [spec: no, status: no],
    api::admissionregistration::v1::ValidatingAdmissionPolicy => [spec: yes, status: yes],
    api::admissionregistration::v1::ValidatingAdmissionPolicyBinding => [spec: yes, status: no],
    api::admissionregistration::v1::ValidatingWebhookConfiguration => [spec: no, status: no],
    apiextensions_v1::CustomResourceDefinition => [spec: yes, status: yes],
    apiregistration_v1::APIService => [spec: yes, status: yes],
    api::apps::v1::ControllerRevision => [spec: no, status: no],
    api::apps::v1::DaemonSet => [spec: yes, status: yes],
    api::apps::v1::Deployment => [spec: yes, status: yes],
    api::apps::v1::ReplicaSet => [spec: yes, status: yes],
    api::apps::v1::StatefulSet => [spec: yes, status: yes],
    api::authentication::v1::SelfSubjectReview => [spec: no, status: yes],
    api::authentication::v1::TokenRequest => [spec: yes, status: yes],
    api::authentication::v1::TokenReview => [spec: yes, status: yes],
    api::authorization::v1::LocalSubjectAccessReview => [spec: yes, status: yes],
    api::authorization::v1::SelfSubjectAccessReview => [spec: yes, status: yes],
    api::authorization::v1::SelfSubjectRulesReview => [spec: yes, status: yes],
    api::authorization::v1::SubjectAccessReview => [spec: yes, status: yes],
    api::autoscaling::v1::HorizontalPodAutoscaler => [spec: yes, status: yes],
    api::autoscaling::v1::Scale => [spec: yes, status: yes],
    api::autoscaling::v2::HorizontalPodAutoscaler => [spec: yes, status: yes],
    api::batch::v1::CronJob => [spec: yes, status: yes],
    api::batch::v1::Job => [spec: yes, status: yes],
    api::certificates::v1::CertificateSigningRequest => [spec: yes, status: yes],
    api::coordination::v1::Lease => [spec: yes, status: no],
    api::discovery::v1::EndpointSlice => [spec: no, status: no],
    api::events::v1::Event => [spec: no, status: no],
    api::flowcontrol::v1::FlowSchema => [spec: yes, status: yes],
    api::flowcontrol::v1::PriorityLevelConfiguration => [spec: yes, status: yes],
    api::networking::v1::IPAddress => [spec: yes, status: no],
    api::networking::v1::Ingress => [spec: yes, status: yes],
    api::networking::v1::IngressClass => [spec: yes, status: no],
    api::networking::v1::NetworkPolicy => [spec: yes, status: no],
    api::networking::v1::ServiceCIDR => [spec: yes, status: yes],
    api::node::v1::RuntimeClass => [spec: no, status: no],
    api::policy::v1::Eviction => [spec: no, status: no],
    api::policy::v1::PodDisruptionBudget => [spec: yes, status: yes],
    api::rbac::v1::ClusterRole => [spec: no, status: no],
    api::rbac::v1::ClusterRoleBinding => [spec: no, status: no],
    api::rbac::v1::Role => [spec: no, status: no],
    api::rbac::v1::RoleBinding => [spec: no, status: no],
    api::resource::v1::DeviceClass => [spec: yes, status: no],
    api::resource::v1::ResourceClaim => [spec: yes, status: yes],
    api::resource::v1::ResourceClaimTemplate => [spec: yes, status: no],
    api::resource::v1::ResourceSlice => [spec: yes, status: no],
    api::scheduling::v1::PriorityClass => [spec: no, status: no],
    api::storage::v1::CSIDriver => [spec: yes, status: no],
    api::storage::v1::CSINode => [spec: yes, status: no],
    api::storage::v1::CSIStorageCapacity => [spec: no, status: no],
    api::storage::v1::StorageClass => [spec: no, status: no],
    api::storage::v1::VolumeAttachment => [spec: yes, status: yes],
    api::storage::v1::VolumeAttributesClass => [spec: no, status: no],
}

/// The codec of a built-in kind.
pub fn lookup(group: &str, version: &str, kind: &str) -> Option<&'static KindCodec> {
    KINDS.iter().find(|k| k.group == group && k.version == version && k.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_an_empty_object() {
        for codec in KINDS {
            let obj = codec.new_object();
            let json = obj.to_json();
            let mut unknown = Vec::new();
            let back =
                codec.decode_json(&json, &mut |p| unknown.push(p)).unwrap_or_else(|e| panic!("{}: {e}", codec.kind));
            assert_eq!(back.to_json(), json, "{}", codec.kind);
            assert!(unknown.is_empty(), "{}: {unknown:?}", codec.kind);
            let stored = codec.decode_stored_json(&json).unwrap_or_else(|e| panic!("{}: {e}", codec.kind));
            assert_eq!(stored.to_json(), json, "{}", codec.kind);
            let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(v["kind"], codec.kind);
            assert_eq!(v["apiVersion"], codec.api_version);
        }
    }

    #[test]
    fn unknown_fields_are_dropped_and_reported_with_their_path() {
        let codec = lookup("", "v1", "ConfigMap").unwrap();
        let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","bogus":1},"data":{"k":"v"},"extra":true}"#;
        let mut unknown = Vec::new();
        let obj = codec.decode_json(body, &mut |p| unknown.push(p)).unwrap();
        assert_eq!(obj.meta().name.as_deref(), Some("a"));
        unknown.sort();
        assert_eq!(unknown, vec!["extra".to_string(), "metadata.bogus".to_string()]);
        let cm = downcast_ref::<api::core::v1::ConfigMap>(&*obj).unwrap();
        assert_eq!(cm.data.as_ref().unwrap()["k"], "v");
        // The store's own objects are decoded the same way, without looking for them.
        let stored = codec.decode_stored_json(body).unwrap();
        assert_eq!(stored.to_json(), obj.to_json());
        assert!(codec.decode_stored_json(br#"{"apiVersion":"v1","kind":"Secret"}"#).is_err());
    }

    #[test]
    fn a_mismatched_kind_is_refused() {
        let codec = lookup("", "v1", "ConfigMap").unwrap();
        let err = codec.decode_json(br#"{"apiVersion":"v1","kind":"Secret"}"#, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("Secret"), "{err}");
    }

    #[test]
    fn scope_follows_the_resource() {
        assert!(lookup("", "v1", "Pod").unwrap().namespaced);
        assert!(!lookup("", "v1", "Node").unwrap().namespaced);
        assert!(!lookup("rbac.authorization.k8s.io", "v1", "ClusterRole").unwrap().namespaced);
    }
}

#[cfg(test)]
mod spec_status_tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus};

    fn deployment(replicas: i32, ready: i32) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec { replicas: Some(replicas), ..Default::default() }),
            status: Some(DeploymentStatus { ready_replicas: Some(ready), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn spec_and_status_are_compared_and_copied_separately() {
        let a = deployment(1, 0);
        let mut b = deployment(2, 5);
        assert!(!a.spec_equal(&b));
        assert!(!a.status_equal(&b));
        b.copy_spec_from(&a);
        assert!(a.spec_equal(&b));
        assert!(!a.status_equal(&b));
        b.copy_status_from(&a);
        assert!(a.status_equal(&b));
        b.reset_status();
        assert!(b.status.is_none());
        assert!(b.has_spec() && b.has_status());
    }

    #[test]
    fn kinds_without_spec_always_compare_equal() {
        let a = api::core::v1::ConfigMap::default();
        let b = api::core::v1::ConfigMap { immutable: Some(true), ..Default::default() };
        assert!(a.spec_equal(&b));
        assert!(!a.has_spec());
    }
}
