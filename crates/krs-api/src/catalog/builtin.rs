//! The built-in resources that krs serves: every GA group/version/resource of Kubernetes 1.34,
//! with upstream's names, scopes, verbs, short names, categories and subresources.
//!
//! This table is the one place that lists built-in resources. Routing, discovery, OpenAPI and
//! RBAC resource names are derived from it; per-kind behaviour is the strategy named on the row
//! (the generic strategy when none is named).

use super::{Builtin, Sub, Verbs};
use crate::strategy::core::{
    configmap, endpoints, event, limitrange, namespace, persistentvolume, persistentvolumeclaim, resourcequota, secret,
    service, serviceaccount,
};
use crate::strategy::{apps, batch, core as core_strategy};
use crate::strategy::{autoscaling, coordination, discovery, events, networking, policy, rbac, scheduling, storage};

/// Everything but deletecollection (namespaces).
const NO_COLLECTION: Verbs = Verbs::ALL.without(Verbs::DELETECOLLECTION);
const CREATE: Verbs = Verbs::CREATE;
const GET_LIST: Verbs = Verbs::GET.with(Verbs::LIST);
const GET_PATCH_UPDATE: Verbs = Verbs::GET.with(Verbs::PATCH).with(Verbs::UPDATE);
const PROXY: Verbs = Verbs::CREATE.with(Verbs::DELETE).with(Verbs::GET).with(Verbs::PATCH).with(Verbs::UPDATE);
const CONNECT: Verbs = Verbs::CREATE.with(Verbs::GET);

const STATUS: Sub = Sub::same_kind("status", GET_PATCH_UPDATE);
const SCALE: Sub = Sub::other_kind("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

/// One row per served group/version/resource.
pub(super) static BUILTIN: &[Builtin] = &[
    // core/v1
    Builtin::new("", "v1", "bindings", "Binding").verbs(CREATE).virtual_resource(),
    Builtin::new("", "v1", "componentstatuses", "ComponentStatus")
        .cluster()
        .verbs(GET_LIST)
        .short(&["cs"])
        .virtual_resource(),
    Builtin::new("", "v1", "configmaps", "ConfigMap").strategy(&configmap::CONFIG_MAP).short(&["cm"]),
    Builtin::new("", "v1", "endpoints", "Endpoints")
        .deprecated("v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice")
        .strategy(&endpoints::ENDPOINTS)
        .short(&["ep"])
        .storage("services/endpoints"),
    Builtin::new("", "v1", "events", "Event").strategy(&event::EVENT).short(&["ev"]).storage("events"),
    Builtin::new("", "v1", "limitranges", "LimitRange").strategy(&limitrange::LIMIT_RANGE).short(&["limits"]),
    Builtin::new("", "v1", "namespaces", "Namespace")
        .strategy(&namespace::NAMESPACE)
        .cluster()
        .verbs(NO_COLLECTION)
        .short(&["ns"])
        .subs(&[Sub::same_kind("finalize", Verbs::UPDATE), STATUS]),
    Builtin::new("", "v1", "nodes", "Node")
        .strategy(&core_strategy::node::NODE)
        .cluster()
        .short(&["no"])
        .storage("minions")
        .subs(&[Sub::connect("proxy", "NodeProxyOptions", PROXY), STATUS]),
    Builtin::new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
        .strategy(&persistentvolumeclaim::PERSISTENT_VOLUME_CLAIM)
        .short(&["pvc"])
        .subs(&[STATUS]),
    Builtin::new("", "v1", "persistentvolumes", "PersistentVolume")
        .strategy(&persistentvolume::PERSISTENT_VOLUME)
        .cluster()
        .short(&["pv"])
        .subs(&[STATUS]),
    Builtin::new("", "v1", "pods", "Pod")
        .strategy(&core_strategy::pod::POD)
        .short(&["po"])
        .all()
        .generation()
        .returns_deleted()
        .subs(&[
            Sub::connect("attach", "PodAttachOptions", CONNECT),
            Sub::other_kind("binding", "", "v1", "Binding", CREATE),
            Sub::same_kind("ephemeralcontainers", GET_PATCH_UPDATE),
            Sub::other_kind("eviction", "policy", "v1", "Eviction", CREATE),
            Sub::connect("exec", "PodExecOptions", CONNECT),
            Sub::same_kind("log", Verbs::GET),
            Sub::connect("portforward", "PodPortForwardOptions", CONNECT),
            Sub::connect("proxy", "PodProxyOptions", PROXY),
            Sub::same_kind("resize", GET_PATCH_UPDATE),
            STATUS,
        ]),
    Builtin::new("", "v1", "podtemplates", "PodTemplate").strategy(&core_strategy::podtemplate::POD_TEMPLATE),
    Builtin::new("", "v1", "replicationcontrollers", "ReplicationController")
        .strategy(&core_strategy::replicationcontroller::REPLICATION_CONTROLLER)
        .short(&["rc"])
        .all()
        .generation()
        .storage("controllers")
        .subs(&[SCALE, STATUS]),
    Builtin::new("", "v1", "resourcequotas", "ResourceQuota")
        .strategy(&resourcequota::RESOURCE_QUOTA)
        .short(&["quota"])
        .subs(&[STATUS]),
    Builtin::new("", "v1", "secrets", "Secret").strategy(&secret::SECRET),
    Builtin::new("", "v1", "serviceaccounts", "ServiceAccount")
        .strategy(&serviceaccount::SERVICE_ACCOUNT)
        .short(&["sa"])
        .returns_deleted()
        .subs(&[Sub::other_kind("token", "authentication.k8s.io", "v1", "TokenRequest", CREATE)]),
    Builtin::new("", "v1", "services", "Service")
        .strategy(&service::SERVICE)
        .short(&["svc"])
        .all()
        .returns_deleted()
        .storage("services/specs")
        .subs(&[Sub::connect("proxy", "ServiceProxyOptions", PROXY), STATUS]),
    // admissionregistration.k8s.io/v1
    Builtin::new("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration")
        .cluster()
        .categories(&["api-extensions"]),
    Builtin::new("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy")
        .cluster()
        .categories(&["api-extensions"])
        .generation()
        .subs(&[STATUS]),
    Builtin::new(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
    )
    .cluster()
    .categories(&["api-extensions"])
    .generation(),
    Builtin::new(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
    )
    .cluster()
    .categories(&["api-extensions"]),
    // apiextensions.k8s.io/v1
    Builtin::new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition")
        .cluster()
        .short(&["crd", "crds"])
        .categories(&["api-extensions"])
        .generation()
        .storage("apiextensions.k8s.io/customresourcedefinitions")
        .subs(&[STATUS]),
    // apiregistration.k8s.io/v1
    Builtin::new("apiregistration.k8s.io", "v1", "apiservices", "APIService")
        .cluster()
        .categories(&["api-extensions"])
        .storage("apiregistration.k8s.io/apiservices")
        .subs(&[STATUS]),
    // apps/v1
    Builtin::new("apps", "v1", "controllerrevisions", "ControllerRevision").strategy(&apps::CONTROLLER_REVISION),
    Builtin::new("apps", "v1", "daemonsets", "DaemonSet")
        .strategy(&apps::DAEMON_SET)
        .short(&["ds"])
        .all()
        .generation()
        .subs(&[STATUS]),
    Builtin::new("apps", "v1", "deployments", "Deployment")
        .strategy(&apps::DEPLOYMENT)
        .short(&["deploy"])
        .all()
        .generation()
        .subs(&[SCALE, STATUS]),
    Builtin::new("apps", "v1", "replicasets", "ReplicaSet")
        .strategy(&apps::REPLICA_SET)
        .short(&["rs"])
        .all()
        .generation()
        .subs(&[SCALE, STATUS]),
    Builtin::new("apps", "v1", "statefulsets", "StatefulSet")
        .strategy(&apps::STATEFUL_SET)
        .short(&["sts"])
        .all()
        .generation()
        .subs(&[SCALE, STATUS]),
    // authentication.k8s.io/v1
    Builtin::new("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview")
        .cluster()
        .verbs(CREATE)
        .virtual_resource(),
    Builtin::new("authentication.k8s.io", "v1", "tokenreviews", "TokenReview")
        .cluster()
        .verbs(CREATE)
        .virtual_resource(),
    // authorization.k8s.io/v1
    Builtin::new("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview")
        .verbs(CREATE)
        .virtual_resource(),
    Builtin::new("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview")
        .cluster()
        .verbs(CREATE)
        .virtual_resource(),
    Builtin::new("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview")
        .cluster()
        .verbs(CREATE)
        .virtual_resource(),
    Builtin::new("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview")
        .cluster()
        .verbs(CREATE)
        .virtual_resource(),
    // autoscaling/v1 and v2 share one storage (v2 is the storage version)
    Builtin::new("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
        .strategy(&autoscaling::HORIZONTAL_POD_AUTOSCALER)
        .short(&["hpa"])
        .all()
        .generation()
        .subs(&[STATUS]),
    Builtin::new("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
        .strategy(&autoscaling::HORIZONTAL_POD_AUTOSCALER)
        .short(&["hpa"])
        .all()
        .generation()
        .stored_as("autoscaling", "v2")
        .subs(&[STATUS]),
    // batch/v1
    Builtin::new("batch", "v1", "cronjobs", "CronJob")
        .strategy(&batch::CRON_JOB)
        .short(&["cj"])
        .all()
        .generation()
        .subs(&[STATUS]),
    Builtin::new("batch", "v1", "jobs", "Job").strategy(&batch::JOB).all().generation().subs(&[STATUS]),
    // certificates.k8s.io/v1
    Builtin::new("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest")
        .cluster()
        .short(&["csr"])
        .subs(&[Sub::same_kind("approval", GET_PATCH_UPDATE), STATUS]),
    // coordination.k8s.io/v1
    Builtin::new("coordination.k8s.io", "v1", "leases", "Lease").strategy(&coordination::LEASE),
    // discovery.k8s.io/v1
    Builtin::new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice").strategy(&discovery::ENDPOINT_SLICE),
    // events.k8s.io/v1 shares the core events' storage (core/v1 is the storage version)
    Builtin::new("events.k8s.io", "v1", "events", "Event")
        .strategy(&events::EVENTS)
        .short(&["ev"])
        .storage("events")
        .stored_as("", "v1"),
    // flowcontrol.apiserver.k8s.io/v1
    Builtin::new("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema")
        .cluster()
        .generation()
        .subs(&[STATUS]),
    Builtin::new("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration")
        .cluster()
        .generation()
        .subs(&[STATUS]),
    // networking.k8s.io/v1
    Builtin::new("networking.k8s.io", "v1", "ingressclasses", "IngressClass")
        .strategy(&networking::INGRESS_CLASS)
        .cluster(),
    Builtin::new("networking.k8s.io", "v1", "ingresses", "Ingress")
        .strategy(&networking::INGRESS)
        .short(&["ing"])
        .generation()
        .storage("ingress")
        .subs(&[STATUS]),
    Builtin::new("networking.k8s.io", "v1", "ipaddresses", "IPAddress")
        .strategy(&networking::IP_ADDRESS)
        .cluster()
        .short(&["ip"]),
    Builtin::new("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
        .strategy(&networking::NETWORK_POLICY)
        .short(&["netpol"])
        .generation(),
    Builtin::new("networking.k8s.io", "v1", "servicecidrs", "ServiceCIDR")
        .strategy(&networking::SERVICE_CIDR)
        .cluster()
        .subs(&[STATUS]),
    // node.k8s.io/v1
    Builtin::new("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass").cluster(),
    // policy/v1
    Builtin::new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
        .strategy(&policy::POD_DISRUPTION_BUDGET)
        .short(&["pdb"])
        .generation()
        .subs(&[STATUS]),
    // rbac.authorization.k8s.io/v1
    Builtin::new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding")
        .strategy(&rbac::CLUSTER_ROLE_BINDING)
        .cluster(),
    Builtin::new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole")
        .strategy(&rbac::CLUSTER_ROLE)
        .cluster(),
    Builtin::new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding").strategy(&rbac::ROLE_BINDING),
    Builtin::new("rbac.authorization.k8s.io", "v1", "roles", "Role").strategy(&rbac::ROLE),
    // resource.k8s.io/v1
    Builtin::new("resource.k8s.io", "v1", "deviceclasses", "DeviceClass").cluster().generation(),
    Builtin::new("resource.k8s.io", "v1", "resourceclaims", "ResourceClaim").subs(&[STATUS]),
    Builtin::new("resource.k8s.io", "v1", "resourceclaimtemplates", "ResourceClaimTemplate"),
    Builtin::new("resource.k8s.io", "v1", "resourceslices", "ResourceSlice").cluster().generation(),
    // scheduling.k8s.io/v1
    Builtin::new("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass")
        .strategy(&scheduling::PRIORITY_CLASS)
        .cluster()
        .short(&["pc"]),
    // storage.k8s.io/v1
    Builtin::new("storage.k8s.io", "v1", "csidrivers", "CSIDriver").strategy(&storage::CSI_DRIVER).cluster(),
    Builtin::new("storage.k8s.io", "v1", "csinodes", "CSINode").strategy(&storage::CSI_NODE).cluster(),
    Builtin::new("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity")
        .strategy(&storage::CSI_STORAGE_CAPACITY),
    Builtin::new("storage.k8s.io", "v1", "storageclasses", "StorageClass")
        .strategy(&storage::STORAGE_CLASS)
        .cluster()
        .short(&["sc"])
        .returns_deleted(),
    Builtin::new("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment")
        .strategy(&storage::VOLUME_ATTACHMENT)
        .cluster()
        .subs(&[STATUS]),
    Builtin::new("storage.k8s.io", "v1", "volumeattributesclasses", "VolumeAttributesClass")
        .strategy(&storage::VOLUME_ATTRIBUTES_CLASS)
        .cluster()
        .short(&["vac"]),
];
