//! The resources krs serves (crates/krs-api's built-in catalog), as the API server hands them
//! to krs-openapi. The crate does not depend on krs-api, so the tests carry their own copy.

use krs_openapi::ResourceDoc;

const ALL: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const NO_COLLECTION: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
const CREATE: &[&str] = &["create"];
const GET_LIST: &[&str] = &["get", "list"];
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
const CONNECT: &[&str] = &["create", "get"];

type Sub = (&'static str, &'static str, &'static str, &'static str, &'static [&'static str]);

/// `(group, version, resource, kind, namespaced, verbs, subresources)`; a subresource of the
/// resource's own kind names it with an empty kind.
type Row = (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str], &'static [Sub]);

const STATUS: Sub = ("status", "", "", "", GET_PATCH_UPDATE);
const SCALE: Sub = ("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

const ROWS: &[Row] = &[
    ("", "v1", "bindings", "Binding", true, CREATE, &[]),
    ("", "v1", "componentstatuses", "ComponentStatus", false, GET_LIST, &[]),
    ("", "v1", "configmaps", "ConfigMap", true, ALL, &[]),
    ("", "v1", "endpoints", "Endpoints", true, ALL, &[]),
    ("", "v1", "events", "Event", true, ALL, &[]),
    ("", "v1", "limitranges", "LimitRange", true, ALL, &[]),
    ("", "v1", "namespaces", "Namespace", false, NO_COLLECTION, &[("finalize", "", "", "", &["update"]), STATUS]),
    ("", "v1", "nodes", "Node", false, ALL, &[("proxy", "", "v1", "NodeProxyOptions", PROXY), STATUS]),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, ALL, &[STATUS]),
    ("", "v1", "persistentvolumes", "PersistentVolume", false, ALL, &[STATUS]),
    (
        "",
        "v1",
        "pods",
        "Pod",
        true,
        ALL,
        &[
            ("attach", "", "v1", "PodAttachOptions", CONNECT),
            ("binding", "", "v1", "Binding", CREATE),
            ("ephemeralcontainers", "", "", "", GET_PATCH_UPDATE),
            ("eviction", "policy", "v1", "Eviction", CREATE),
            ("exec", "", "v1", "PodExecOptions", CONNECT),
            ("log", "", "", "", &["get"]),
            ("portforward", "", "v1", "PodPortForwardOptions", CONNECT),
            ("proxy", "", "v1", "PodProxyOptions", PROXY),
            ("resize", "", "", "", GET_PATCH_UPDATE),
            STATUS,
        ],
    ),
    ("", "v1", "podtemplates", "PodTemplate", true, ALL, &[]),
    ("", "v1", "replicationcontrollers", "ReplicationController", true, ALL, &[SCALE, STATUS]),
    ("", "v1", "resourcequotas", "ResourceQuota", true, ALL, &[STATUS]),
    ("", "v1", "secrets", "Secret", true, ALL, &[]),
    (
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        ALL,
        &[("token", "authentication.k8s.io", "v1", "TokenRequest", CREATE)],
    ),
    ("", "v1", "services", "Service", true, ALL, &[("proxy", "", "v1", "ServiceProxyOptions", PROXY), STATUS]),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        ALL,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        false,
        ALL,
        &[STATUS],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
        ALL,
        &[],
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        ALL,
        &[],
    ),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, ALL, &[STATUS]),
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", false, ALL, &[STATUS]),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", true, ALL, &[]),
    ("apps", "v1", "daemonsets", "DaemonSet", true, ALL, &[STATUS]),
    ("apps", "v1", "deployments", "Deployment", true, ALL, &[SCALE, STATUS]),
    ("apps", "v1", "replicasets", "ReplicaSet", true, ALL, &[SCALE, STATUS]),
    ("apps", "v1", "statefulsets", "StatefulSet", true, ALL, &[SCALE, STATUS]),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, CREATE, &[]),
    ("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, CREATE, &[]),
    ("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", true, CREATE, &[]),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, CREATE, &[]),
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false, CREATE, &[]),
    ("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false, CREATE, &[]),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, ALL, &[STATUS]),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, ALL, &[STATUS]),
    ("batch", "v1", "cronjobs", "CronJob", true, ALL, &[STATUS]),
    ("batch", "v1", "jobs", "Job", true, ALL, &[STATUS]),
    (
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        false,
        ALL,
        &[("approval", "", "", "", GET_PATCH_UPDATE), STATUS],
    ),
    ("coordination.k8s.io", "v1", "leases", "Lease", true, ALL, &[]),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, ALL, &[]),
    ("events.k8s.io", "v1", "events", "Event", true, ALL, &[]),
    ("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", false, ALL, &[STATUS]),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        false,
        ALL,
        &[STATUS],
    ),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, ALL, &[]),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", true, ALL, &[STATUS]),
    ("networking.k8s.io", "v1", "ipaddresses", "IPAddress", false, ALL, &[]),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, ALL, &[]),
    ("networking.k8s.io", "v1", "servicecidrs", "ServiceCIDR", false, ALL, &[STATUS]),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false, ALL, &[]),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, ALL, &[STATUS]),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, ALL, &[]),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, ALL, &[]),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, ALL, &[]),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true, ALL, &[]),
    ("resource.k8s.io", "v1", "deviceclasses", "DeviceClass", false, ALL, &[]),
    ("resource.k8s.io", "v1", "resourceclaims", "ResourceClaim", true, ALL, &[STATUS]),
    ("resource.k8s.io", "v1", "resourceclaimtemplates", "ResourceClaimTemplate", true, ALL, &[]),
    ("resource.k8s.io", "v1", "resourceslices", "ResourceSlice", false, ALL, &[]),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, ALL, &[]),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", false, ALL, &[]),
    ("storage.k8s.io", "v1", "csinodes", "CSINode", false, ALL, &[]),
    ("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", true, ALL, &[]),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, ALL, &[]),
    ("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", false, ALL, &[STATUS]),
    ("storage.k8s.io", "v1", "volumeattributesclasses", "VolumeAttributesClass", false, ALL, &[]),
];

/// Every served resource.
pub fn resources() -> Vec<ResourceDoc> {
    ROWS.iter()
        .map(|(group, version, resource, kind, namespaced, verbs, subresources)| ResourceDoc {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            kind: kind.to_string(),
            namespaced: *namespaced,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            subresources: subresources
                .iter()
                .map(|(name, sub_group, sub_version, sub_kind, sub_verbs)| {
                    let (g, v, k) = if sub_kind.is_empty() {
                        (*group, *version, *kind)
                    } else {
                        (*sub_group, *sub_version, *sub_kind)
                    };
                    (
                        name.to_string(),
                        g.to_string(),
                        v.to_string(),
                        k.to_string(),
                        sub_verbs.iter().map(|v| v.to_string()).collect(),
                    )
                })
                .collect(),
        })
        .collect()
}
