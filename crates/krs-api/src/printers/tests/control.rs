//! RBAC, certificates, admission, flow control, dynamic resource allocation and API service
//! printers.

use serde_json::{Value, json};

use super::super::Printer;
use super::super::admissionregistration::{
    ADMISSION_POLICY_BINDING, MUTATING_ADMISSION_POLICY, VALIDATING_ADMISSION_POLICY, WEBHOOK_CONFIGURATION,
};
use super::super::apiregistration::API_SERVICE;
use super::super::certificates::{CERTIFICATE_SIGNING_REQUEST, CLUSTER_TRUST_BUNDLE};
use super::super::flowcontrol::{FLOW_SCHEMA, PRIORITY_LEVEL_CONFIGURATION};
use super::super::rbac::{CLUSTER_ROLE_BINDING, ROLE_BINDING};
use super::super::resource::{NAME_AND_AGE, RESOURCE_CLAIM, RESOURCE_SLICE};
use super::{DAY, MINUTE, ago, almost_now, assert_columns, cells, check, named};

#[test]
fn role_binding_tables() {
    for (printer, kind) in
        [(&ROLE_BINDING as &dyn Printer, "roleBinding"), (&CLUSTER_ROLE_BINDING, "clusterRoleBinding")]
    {
        assert_columns(
            printer,
            &[
                "Name|string|name|0",
                "Role|string||0",
                "Age|string||0",
                "Users|string||1",
                "Groups|string||1",
                "ServiceAccounts|string||1",
            ],
        );
        assert!(printer.columns()[3].description.ends_with(kind));
        check(
            printer,
            &[
                (
                    named(
                        "binding1",
                        almost_now(),
                        json!({"subjects": [{"kind": "User", "name": "system:kube-controller-manager"}],
                        "roleRef": {"kind": "Role", "name": "extension-apiserver-authentication-reader"}}),
                    ),
                    json!([
                        "binding1",
                        "Role/extension-apiserver-authentication-reader",
                        "0s",
                        "system:kube-controller-manager",
                        "",
                        ""
                    ]),
                ),
                (
                    named(
                        "binding2",
                        almost_now(),
                        json!({"subjects": [
                        {"kind": "User", "name": "user-name"}, {"kind": "Group", "name": "group-name"},
                        {"kind": "ServiceAccount", "name": "service-account-name", "namespace": "service-account-namespace"},
                        {"kind": "User", "name": "second"},
                    ], "roleRef": {"kind": "Role", "name": "role-name"}}),
                    ),
                    json!([
                        "binding2",
                        "Role/role-name",
                        "0s",
                        "user-name, second",
                        "group-name",
                        "service-account-namespace/service-account-name"
                    ]),
                ),
            ],
        );
    }
}

#[test]
fn certificate_tables() {
    assert_columns(
        &CERTIFICATE_SIGNING_REQUEST,
        &[
            "Name|string|name|0",
            "Age|string||0",
            "SignerName|string||0",
            "Requestor|string||0",
            "RequestedDuration|string||0",
            "Condition|string||0",
        ],
    );
    let csr = |spec: Value, status: Value| named("csr", almost_now(), json!({"spec": spec, "status": status}));
    let approved = json!({"conditions": [{"type": "Approved"}]});
    check(
        &CERTIFICATE_SIGNING_REQUEST,
        &[
            (csr(json!({}), json!({})), json!(["csr", "0s", "<none>", "", "<none>", "Pending"])),
            (
                csr(json!({"username": "CSR Requestor"}), approved.clone()),
                json!(["csr", "0s", "<none>", "CSR Requestor", "<none>", "Approved"]),
            ),
            (
                csr(
                    json!({"username": "CSR Requestor", "signerName": "example.com/test-signer", "expirationSeconds": 7 * DAY + 3600}),
                    approved,
                ),
                json!(["csr", "0s", "example.com/test-signer", "CSR Requestor", "7d1h", "Approved"]),
            ),
            (
                csr(
                    json!({"username": "CSR Requestor"}),
                    json!({"conditions": [{"type": "Approved"}], "certificate": "Y2VydCBkYXRh"}),
                ),
                json!(["csr", "0s", "<none>", "CSR Requestor", "<none>", "Approved,Issued"]),
            ),
            (
                csr(json!({"username": "CSR Requestor"}), json!({"conditions": [{"type": "Denied"}]})),
                json!(["csr", "0s", "<none>", "CSR Requestor", "<none>", "Denied"]),
            ),
            (
                csr(json!({}), json!({"conditions": [{"type": "Approved"}, {"type": "Failed"}]})),
                json!(["csr", "0s", "<none>", "", "<none>", "Approved,Failed"]),
            ),
        ],
    );
    assert_columns(&CLUSTER_TRUST_BUNDLE, &["Name|string|name|0", "SignerName|string||0"]);
    let bundle = json!({"metadata": {"name": "test-cluster-trust-bundle"}, "spec": {"signerName": "test-signer-name"}});
    assert_eq!(
        Value::from(cells(&CLUSTER_TRUST_BUNDLE, &bundle)),
        json!(["test-cluster-trust-bundle", "test-signer-name"])
    );
}

#[test]
fn admission_tables() {
    assert_columns(&WEBHOOK_CONFIGURATION, &["Name|string|name|0", "Webhooks|integer||0", "Age|string||0"]);
    let hooks = named("hooks", ago(5 * MINUTE), json!({"webhooks": [{"name": "a"}, {"name": "b"}]}));
    assert_eq!(Value::from(cells(&WEBHOOK_CONFIGURATION, &hooks)), json!(["hooks", 2, "5m"]));

    assert_columns(
        &VALIDATING_ADMISSION_POLICY,
        &["Name|string|name|0", "Validations|integer||0", "ParamKind|string||0", "Age|string||0"],
    );
    let policy = named(
        "p",
        ago(5 * MINUTE),
        json!({"spec": {"paramKind": {"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"}, "validations": [{"expression": "true"}]}}),
    );
    assert_eq!(
        Value::from(cells(&VALIDATING_ADMISSION_POLICY, &policy)),
        json!(["p", 1, "rules.example.com/v1/ReplicaLimit", "5m"])
    );
    let policy = named("p", ago(5 * MINUTE), json!({"spec": {}}));
    assert_eq!(Value::from(cells(&VALIDATING_ADMISSION_POLICY, &policy)), json!(["p", 0, "<unset>", "5m"]));
    assert_columns(
        &MUTATING_ADMISSION_POLICY,
        &["Name|string|name|0", "Mutations|integer||0", "ParamKind|string||0", "Age|string||0"],
    );

    assert_columns(
        &ADMISSION_POLICY_BINDING,
        &["Name|string|name|0", "PolicyName|string||0", "ParamRef|string||0", "Age|string||0"],
    );
    let binding = |param: Value| {
        named("config", ago(5 * MINUTE), json!({"spec": {"policyName": "test-scale.example.com", "paramRef": param}}))
    };
    check(
        &ADMISSION_POLICY_BINDING,
        &[
            (
                binding(json!({"name": "test-scale-setting.example.com", "parameterNotFoundAction": "Deny"})),
                json!(["config", "test-scale.example.com", "*/test-scale-setting.example.com", "5m"]),
            ),
            (
                binding(json!({"name": "p", "namespace": "ns"})),
                json!(["config", "test-scale.example.com", "ns/p", "5m"]),
            ),
            (binding(Value::Null), json!(["config", "test-scale.example.com", "<unset>", "5m"])),
            (
                binding(
                    json!({"selector": {"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]}}),
                ),
                json!([
                    "config",
                    "test-scale.example.com",
                    "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}",
                    "5m"
                ]),
            ),
        ],
    );
}

#[test]
fn flow_control_tables() {
    assert_columns(
        &FLOW_SCHEMA,
        &[
            "Name|string|name|0",
            "PriorityLevel|string||0",
            "MatchingPrecedence|string||0",
            "DistinguisherMethod|string||0",
            "Age|string||0",
            "MissingPL|string||0",
        ],
    );
    let all = named(
        "all-matcher",
        almost_now(),
        json!({"spec": {"priorityLevelConfiguration": {"name": "allee"}, "matchingPrecedence": 2_147_483_647, "distinguisherMethod": {"type": "ByUser"}}}),
    );
    let some = named(
        "some-matcher",
        ago(5 * MINUTE),
        json!({"spec": {"priorityLevelConfiguration": {"name": "allee"}, "matchingPrecedence": 0, "distinguisherMethod": {"type": "ByNamespace"}},
        "status": {"conditions": [{"type": "Dangling", "status": "True"}]}}),
    );
    let exempt = named(
        "exempt",
        ago(5 * MINUTE),
        json!({"spec": {"priorityLevelConfiguration": {"name": "allee"}, "matchingPrecedence": 0}}),
    );
    check(
        &FLOW_SCHEMA,
        &[
            (all.clone(), json!(["all-matcher", "allee", 2_147_483_647, "ByUser", "0s", "?"])),
            (some.clone(), json!(["some-matcher", "allee", 0, "ByNamespace", "5m", "True"])),
            (exempt.clone(), json!(["exempt", "allee", 0, "<none>", "5m", "?"])),
        ],
    );
    // Lists are ordered by precedence, then name.
    let mut list = vec![&all, &some, &exempt];
    FLOW_SCHEMA.sort(&mut list);
    let names: Vec<&str> = list.iter().map(|o| super::super::helpers::name(o)).collect();
    assert_eq!(names, ["exempt", "some-matcher", "all-matcher"]);

    assert_columns(
        &PRIORITY_LEVEL_CONFIGURATION,
        &[
            "Name|string|name|0",
            "Type|string||0",
            "NominalConcurrencyShares|string||0",
            "Queues|string||0",
            "HandSize|string||0",
            "QueueLengthLimit|string||0",
            "Age|string||0",
        ],
    );
    check(
        &PRIORITY_LEVEL_CONFIGURATION,
        &[
            (
                named("unlimited", almost_now(), json!({"spec": {"type": "Exempt"}})),
                json!(["unlimited", "Exempt", "<none>", "<none>", "<none>", "<none>", "0s"]),
            ),
            (
                named(
                    "unqueued",
                    almost_now(),
                    json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 47, "limitResponse": {"type": "Reject"}}}}),
                ),
                json!(["unqueued", "Limited", 47, "<none>", "<none>", "<none>", "0s"]),
            ),
            (
                named(
                    "queued",
                    almost_now(),
                    json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 42,
                    "limitResponse": {"type": "Queue", "queuing": {"queues": 8, "handSize": 3, "queueLengthLimit": 4}}}}}),
                ),
                json!(["queued", "Limited", 42, 8, 3, 4, "0s"]),
            ),
        ],
    );
}

#[test]
fn resource_tables() {
    assert_columns(&NAME_AND_AGE, &["Name|string|name|0", "Age|string||0"]);
    check(
        &NAME_AND_AGE,
        &[
            (named("test-deviceclass", ago(5 * MINUTE), json!({})), json!(["test-deviceclass", "5m"])),
            (
                json!({"metadata": {"name": "test-resourceclaimtemplate"}}),
                json!(["test-resourceclaimtemplate", "<unknown>"]),
            ),
        ],
    );
    assert_columns(&RESOURCE_CLAIM, &["Name|string|name|0", "State|string||0", "Age|string||0"]);
    let spec = json!({"devices": {"requests": [{"name": "deviceRequest", "exactly": {"deviceClassName": "deviceClass", "allocationMode": "ExactCount", "count": 1}}]}});
    check(
        &RESOURCE_CLAIM,
        &[
            (
                named("test-resourceclaim", ago(5 * MINUTE), json!({"spec": spec})),
                json!(["test-resourceclaim", "pending", "5m"]),
            ),
            (
                json!({"metadata": {"name": "test-resourceclaim"}, "spec": spec}),
                json!(["test-resourceclaim", "pending", "<unknown>"]),
            ),
            (
                named(
                    "test-resourceclaim",
                    ago(5 * MINUTE),
                    json!({"spec": spec, "status": {"allocation": {}, "reservedFor": [{"resource": "pods", "name": "pod-test", "uid": "pod-test"}]}}),
                ),
                json!(["test-resourceclaim", "allocated,reserved", "5m"]),
            ),
            (
                json!({"metadata": {"name": "test-resourceclaim", "creationTimestamp": ago(5 * MINUTE), "deletionTimestamp": ago(0)}, "spec": spec}),
                json!(["test-resourceclaim", "deleted", "5m"]),
            ),
        ],
    );
    assert_columns(
        &RESOURCE_SLICE,
        &["Name|string|name|0", "Node|string||0", "Driver|string||0", "Pool|string||0", "Age|string||0"],
    );
    let slice = named(
        "test-resourceslice",
        ago(5 * MINUTE),
        json!({"spec": {"nodeName": "nodeName", "driver": "driverName", "pool": {"name": "poolName", "resourceSliceCount": 1}}}),
    );
    assert_eq!(
        Value::from(cells(&RESOURCE_SLICE, &slice)),
        json!(["test-resourceslice", "nodeName", "driverName", "poolName", "5m"])
    );
}

#[test]
fn api_service_table() {
    assert_columns(&API_SERVICE, &["Name|string|name|0", "Service|string||0", "Available|string||0", "Age|string||0"]);
    check(
        &API_SERVICE,
        &[
            (
                named(
                    "v1.apps",
                    ago(3 * DAY),
                    json!({"spec": {"group": "apps", "version": "v1"}, "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}}),
                ),
                json!(["v1.apps", "Local", "True", "3d"]),
            ),
            (
                named(
                    "v1beta1.metrics.k8s.io",
                    ago(3 * DAY),
                    json!({"spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
                    "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}}),
                ),
                json!(["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (MissingEndpoints)", "3d"]),
            ),
            (named("v1.x", ago(3 * DAY), json!({"spec": {}})), json!(["v1.x", "Local", "Unknown", "3d"])),
        ],
    );
}
