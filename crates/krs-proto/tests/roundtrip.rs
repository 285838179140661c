//! Representative objects of the kinds with special mappings (inlined structs, quantities,
//! IntOrString, base64, timestamps, raw JSON, schema unions): JSON -> protobuf -> JSON gives
//! the original back, plus only the zero values Go's JSON would add, and re-encoding that
//! gives the same bytes.

use serde_json::{Value, json};

use krs_proto::{decode_object, encode_object};

/// True for values that Go's zero-filling may add: null, "", 0, false, [] and objects of them.
fn zero_like(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "0",
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(zero_like),
    }
}

/// `got` equals `want` except for extra zero-like object members.
fn covers(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let gv = g.get(k).unwrap_or_else(|| panic!("{path}.{k} missing; got {got}"));
                covers(gv, wv, &format!("{path}.{k}"));
            }
            for (k, gv) in g {
                assert!(w.contains_key(k) || zero_like(gv), "{path}.{k}: unexpected {gv}");
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: {got} vs {want}");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                covers(gv, wv, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

fn round_trip(obj: Value) -> Value {
    let body = encode_object(&obj).unwrap_or_else(|e| panic!("encode {}: {e}", obj["kind"]));
    let back = decode_object(&body).unwrap_or_else(|e| panic!("decode {}: {e}", obj["kind"]));
    covers(&back, &obj, "");
    assert_eq!(encode_object(&back).unwrap(), body, "re-encoding {}", obj["kind"]);
    back
}

fn meta(name: &str) -> Value {
    json!({
        "name": name, "namespace": "prod", "uid": "6f1c2a4e-1b1d-4c55-9d6e-2c7d2f9a0b11",
        "resourceVersion": "42", "generation": 3, "creationTimestamp": "2024-05-06T07:08:09Z",
        "labels": {"app": "web", "tier": "frontend"}, "annotations": {"note": "ünïcode ✓ \"quoted\""},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                             "uid": "u-1", "controller": true, "blockOwnerDeletion": true}],
        "finalizers": ["example.com/cleanup"],
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                           "time": "2024-05-06T07:08:09Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {".": {}}}}]
    })
}

fn pod_spec() -> Value {
    json!({
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0", "readOnly": true}},
            {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.txt", "mode": 420}],
                                          "defaultMode": 292, "optional": false}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"audience": "api", "expirationSeconds": 3600, "path": "token"}}]}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": ""}}
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"], "resources": {},
                            "restartPolicy": "Always"}],
        "containers": [{
            "name": "web", "image": "nginx:1.27", "command": ["nginx"], "args": ["-g", "daemon off;"], "workingDir": "/",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                      {"containerPort": 9090, "hostPort": 9090, "protocol": "UDP", "hostIP": "0.0.0.0"}],
            "env": [{"name": "A", "value": "1"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "CPU", "valueFrom": {"resourceFieldRef": {"containerName": "web", "resource": "limits.cpu", "divisor": "1m"}}},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw", "optional": true}}}],
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi", "nvidia.com/gpu": "1"},
                          "requests": {"cpu": "250m", "memory": "64Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true, "subPath": "x"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                          "httpHeaders": [{"name": "X", "value": "y"}]},
                              "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3},
            "readinessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 2},
            "startupProbe": {"exec": {"command": ["true"]}, "successThreshold": 1, "terminationGracePeriodSeconds": 0},
            "lifecycle": {"preStop": {"sleep": {"seconds": 5}}, "postStart": {"exec": {"command": ["echo"]}}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsUser": 1000, "runAsNonRoot": true, "allowPrivilegeEscalation": false,
                                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                                "seccompProfile": {"type": "RuntimeDefault"}, "readOnlyRootFilesystem": true,
                                "privileged": false}
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "activeDeadlineSeconds": 600,
        "dnsPolicy": "ClusterFirst", "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "web",
        "automountServiceAccountToken": false, "nodeName": "node-1", "hostNetwork": true,
        "securityContext": {"fsGroup": 2000, "runAsGroup": 3000, "supplementalGroups": [4, 5],
                            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]},
        "imagePullSecrets": [{"name": "regcred"}], "hostname": "web-0", "subdomain": "web",
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]}
        },
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                        {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        "priorityClassName": "high", "priority": -5,
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
        "enableServiceLinks": false, "preemptionPolicy": "Never", "overhead": {"cpu": "10m"},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                       "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}],
        "setHostnameAsFQDN": false, "hostUsers": false
    })
}

#[test]
fn pod_with_inlined_volume_sources_probes_quantities_and_timestamps() {
    let mut meta = meta("web-0");
    meta["deletionTimestamp"] = json!("2024-05-07T00:00:00Z");
    meta["deletionGracePeriodSeconds"] = json!(30);
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec(),
        "status": {
            "phase": "Running", "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}], "podIP": "10.1.0.5",
            "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}], "startTime": "2024-05-06T07:08:10Z", "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-06T07:09:00Z"}],
            "containerStatuses": [{
                "name": "web", "ready": true, "restartCount": 1, "image": "nginx:1.27", "imageID": "sha256:abc",
                "containerID": "containerd://def", "started": true,
                "state": {"running": {"startedAt": "2024-05-06T07:08:30Z"}},
                "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "OOMKilled",
                                             "startedAt": "2024-05-06T07:08:11Z", "finishedAt": "2024-05-06T07:08:29Z",
                                             "containerID": "containerd://abc"}},
                "allocatedResources": {"cpu": "250m"}
            }]
        }
    });
    let back = round_trip(pod);
    // The inlined VolumeSource and ProbeHandler are flattened into their parents.
    assert_eq!(back["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "data-web-0");
    assert_eq!(back["spec"]["containers"][0]["readinessProbe"]["tcpSocket"]["port"], 8080);
    assert_eq!(back["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"], "http");
    // Pointers keep their zero values; a non-pointer zero Time is null, as in Go.
    assert_eq!(back["spec"]["automountServiceAccountToken"], false);
    assert_eq!(back["spec"]["containers"][0]["startupProbe"]["terminationGracePeriodSeconds"], 0);
    assert_eq!(back["spec"]["hostNetwork"], true);
}

#[test]
fn deployment_with_zero_replicas_and_int_or_string_surge() {
    for (surge, unavailable) in [(json!("25%"), json!(1)), (json!(2), json!("10%")), (json!(0), json!(-1))] {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
            "spec": {
                "replicas": 0, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "minReadySeconds": 5,
                "paused": true,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                "template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": null}, "spec": pod_spec()}
            },
            // DeploymentStatus' counters are non-pointer omitempty: Go's JSON drops their zeros.
            "status": {"observedGeneration": 3, "replicas": 1, "unavailableReplicas": 1,
                       "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                                       "message": "m", "lastUpdateTime": "2024-05-06T07:08:09Z",
                                       "lastTransitionTime": "2024-05-06T07:08:09Z"}]}
        });
        let back = round_trip(d);
        assert_eq!(back["spec"]["replicas"], 0);
        assert_eq!(back["spec"]["strategy"]["rollingUpdate"]["maxSurge"], surge);
    }
}

#[test]
fn secret_and_config_map_binary_data() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": meta("s"), "type": "kubernetes.io/tls", "immutable": true,
        "data": {"tls.crt": "LS0tLS1CRUdJTg==", "empty": "", "bin": "AP8A/w=="}, "stringData": {"plain": "text"}
    }));
    let back = round_trip(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("c"), "immutable": false,
        "data": {"a": "b", "multi": "line1\nline2\n"}, "binaryData": {"blob": "3q2+7w=="}
    }));
    assert_eq!(back["immutable"], false);
    // Unpadded base64 is accepted and comes back padded.
    let body = encode_object(&json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "AP8"}})).unwrap();
    assert_eq!(decode_object(&body).unwrap()["data"]["k"], "AP8=");
}

#[test]
fn custom_resource_definition_schema_with_unions_and_extensions() {
    let schema = json!({
        "type": "object", "description": "Thing", "required": ["spec"],
        "x-kubernetes-validations": [{"rule": "self.spec.replicas >= 0", "message": "negative", "reason": "FieldValueInvalid",
                                      "fieldPath": ".spec.replicas", "optionalOldSelf": true}],
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10.5, "default": 1,
                             "exclusiveMaximum": true, "multipleOf": 0.5},
                "mode": {"type": "string", "enum": ["a", "b", null], "pattern": "^[ab]$", "maxLength": 1, "nullable": true,
                         "example": "a"},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "maxItems": 5,
                         "uniqueItems": true},
                "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false},
                "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "granular"},
                "open": {"type": "object", "additionalProperties": true},
                "closed": {"type": "object", "additionalProperties": false},
                "embedded": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                         "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "dep": {"type": "object", "dependencies": {"a": ["b", "c"], "d": {"required": ["e"]}},
                        "patternProperties": {"^x-": {"type": "string"}}, "not": {"type": "null"},
                        "allOf": [{"minProperties": 1}], "oneOf": [{"required": ["a"]}, {"required": ["d"]}]},
                "ref": {"$ref": "#/definitions/r", "$schema": "http://json-schema.org/draft-04/schema#",
                        "id": "urn:r", "title": "R", "externalDocs": {"description": "d", "url": "https://example.com"}},
                "defs": {"definitions": {"r": {"type": "string"}}}
            }},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean", "default": false}}}
        }
    });
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com", "creationTimestamp": "2024-05-06T07:08:09Z"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "things", "singular": "thing", "kind": "Thing", "listKind": "ThingList",
                      "shortNames": ["th"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true, "deprecated": true, "deprecationWarning": "use v2",
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                 "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                "additionalPrinterColumns": [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "priority": 1}],
                "selectableFields": [{"jsonPath": ".spec.mode"}]
            }],
            "conversion": {"strategy": "Webhook", "webhook": {
                "clientConfig": {"service": {"namespace": "ns", "name": "conv", "path": "/convert", "port": 443}, "caBundle": "Y2E="},
                "conversionReviewVersions": ["v1"]}},
            "preserveUnknownFields": true
        },
        "status": {
            "conditions": [{"type": "Established", "status": "True", "lastTransitionTime": "2024-05-06T07:08:10Z",
                            "reason": "InitialNamesAccepted", "message": "ok"}],
            "acceptedNames": {"plural": "things", "kind": "Thing"}, "storedVersions": ["v1"]
        }
    });
    let back = round_trip(crd);
    let spec = &back["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(spec["open"]["additionalProperties"], true);
    assert_eq!(spec["closed"]["additionalProperties"], false);
    assert_eq!(spec["tuple"]["items"][1]["type"], "integer");
    assert_eq!(spec["dep"]["dependencies"]["a"], json!(["b", "c"]));
    assert_eq!(spec["mode"]["enum"], json!(["a", "b", null]));
}

#[test]
fn events_and_leases_with_micro_time() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Event", "metadata": meta("e.1"),
        "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web-0", "uid": "u", "apiVersion": "v1",
                           "resourceVersion": "1", "fieldPath": "spec.containers{web}"},
        "reason": "Pulled", "message": "pulled", "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-05-06T07:08:09Z", "lastTimestamp": "2024-05-06T07:08:19Z", "count": 2, "type": "Normal",
        "eventTime": "2024-05-06T07:08:09.123456Z",
        "series": {"count": 2, "lastObservedTime": "2024-05-06T07:08:19.000001Z"},
        "action": "Pull", "reportingComponent": "kubelet", "reportingInstance": "node-1"
    }));
    round_trip(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("e.2"),
        "eventTime": "2024-05-06T07:08:09.000000Z", "reportingController": "c", "reportingInstance": "i",
        "action": "A", "reason": "R", "regarding": {"kind": "Pod", "name": "p"}, "note": "n", "type": "Warning",
        "deprecatedFirstTimestamp": "2024-05-06T07:08:09Z", "deprecatedCount": 1
    }));
    let back = round_trip(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta("l"),
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40, "acquireTime": "2024-05-06T07:08:09.500000Z",
                 "renewTime": "2024-05-06T07:08:49.999999Z", "leaseTransitions": 0}
    }));
    assert_eq!(back["spec"]["leaseTransitions"], 0);
    // MicroTime keeps microseconds only; Time keeps seconds only.
    let body = encode_object(&json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"creationTimestamp": "2024-05-06T07:08:09.999Z"},
        "spec": {"renewTime": "2024-05-06T09:08:09.1234567+02:00"}}))
    .unwrap();
    let back = decode_object(&body).unwrap();
    assert_eq!(back["spec"]["renewTime"], "2024-05-06T07:08:09.123456Z");
    assert_eq!(back["metadata"]["creationTimestamp"], "2024-05-06T07:08:09Z");
}

#[test]
fn controller_revision_raw_extension_and_status() {
    let back = round_trip(json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta("web-5d8f"), "revision": 3,
        "data": {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}, "n": [1, 2.5, null, true]}
    }));
    assert_eq!(back["data"]["n"], json!([1, 2.5, null, true]));
    let back = round_trip(json!({
        "apiVersion": "v1", "kind": "Status", "metadata": {"resourceVersion": "7", "continue": "c"},
        "status": "Failure", "message": "Deployment.apps \"web\" is invalid", "reason": "Invalid", "code": 422,
        "details": {"name": "web", "group": "apps", "kind": "deployments", "uid": "u", "retryAfterSeconds": 5,
                    "causes": [{"reason": "FieldValueInvalid", "message": "must be >= 0", "field": "spec.replicas"}]}
    }));
    assert_eq!(back["code"], 422);
}

#[test]
fn other_kinds_with_named_slices_maps_and_bytes() {
    round_trip(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": meta("svc"),
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 30080},
                           {"name": "m", "port": 9090, "targetPort": 9091, "protocol": "TCP", "appProtocol": "h2c"}],
                 "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": true,
                 "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000, "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP",
                                                "ports": [{"port": 80, "protocol": "TCP", "error": "e"}]}]}}
    }));
    round_trip(json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "csr"},
        "spec": {"request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K", "signerName": "kubernetes.io/kube-apiserver-client",
                 "expirationSeconds": 3600, "usages": ["client auth"], "username": "alice", "uid": "1", "groups": ["dev"],
                 "extra": {"scopes": ["a", "b"], "empty": []}},
        "status": {"certificate": "Y2VydA==", "conditions": [{"type": "Approved", "status": "True", "reason": "OK",
                   "lastUpdateTime": "2024-05-06T07:08:09Z", "lastTransitionTime": "2024-05-06T07:08:09Z"}]}
    }));
    round_trip(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {},
        "spec": {"token": "t", "audiences": ["api"]},
        "status": {"authenticated": true, "user": {"username": "system:serviceaccount:ns:sa", "uid": "u",
                   "groups": ["system:serviceaccounts"], "extra": {"authentication.kubernetes.io/pod-name": ["p"]}},
                   "audiences": ["api"]}
    }));
    round_trip(json!({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"service": {"namespace": "kube-system", "name": "metrics-server", "port": 443}, "group": "metrics.k8s.io",
                 "version": "v1beta1", "insecureSkipTLSVerify": true, "caBundle": "Y2E=", "groupPriorityMinimum": 100,
                 "versionPriority": 100},
        "status": {"conditions": [{"type": "Available", "status": "True", "lastTransitionTime": "2024-05-06T07:08:09Z"}]}
    }));
    round_trip(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("hpa"),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                             {"type": "Pods", "pods": {"metric": {"name": "qps", "selector": {"matchLabels": {"a": "b"}}},
                                                        "target": {"type": "AverageValue", "averageValue": "1k"}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                              "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}], "tolerance": "50m"}}},
        "status": {"currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "2024-05-06T07:08:09Z"}
    }));
    round_trip(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "view"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"], "resourceNames": ["a"]},
                  {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-view": "true"}}]}
    }));
    round_trip(json!({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                 "storageClassName": "fast", "volumeMode": "Filesystem",
                 "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1", "fsType": "ext4", "volumeAttributes": {"a": "b"},
                         "nodePublishSecretRef": {"name": "s", "namespace": "ns"}},
                 "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "ns", "name": "c"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]}]}}},
        "status": {"phase": "Bound", "lastPhaseTransitionTime": "2024-05-06T07:08:09Z"}
    }));
    // A PVC's storageClassName is a pointer: "" is meaningful and survives.
    let back = round_trip(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("c"),
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}},
                 "dataSourceRef": {"kind": "VolumeSnapshot", "name": "snap", "apiGroup": "snapshot.storage.k8s.io"}},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "allocatedResourceStatuses": {"storage": "ControllerResizeInProgress"}}
    }));
    assert_eq!(back["spec"]["storageClassName"], "");
    round_trip(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
        "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3"}, "reclaimPolicy": "Delete",
        "allowVolumeExpansion": true, "volumeBindingMode": "WaitForFirstConsumer", "mountOptions": ["noatime"],
        "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}]
    }));
    round_trip(json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("cj"),
        "spec": {"schedule": "*/5 * * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid", "suspend": false,
                 "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, "startingDeadlineSeconds": 100,
                 "jobTemplate": {"metadata": {"labels": {"a": "b"}}, "spec": {
                     "parallelism": 2, "completions": 4, "backoffLimit": 6, "completionMode": "Indexed", "ttlSecondsAfterFinished": 0,
                     "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, 2]}}]},
                     "template": {"spec": pod_spec()}}}},
        "status": {"lastScheduleTime": "2024-05-06T07:08:09Z", "active": [{"kind": "Job", "name": "j"}]}
    }));
    round_trip(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("np"),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                              "ports": [{"protocol": "TCP", "port": 8000, "endPort": 9000}, {"port": "http"}]}],
                 "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"a": "b"}}}]}]}
    }));
}

#[test]
fn meta_kinds_options_and_lists() {
    round_trip(json!({"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                      "preconditions": {"uid": "u", "resourceVersion": "1"}, "propagationPolicy": "Foreground",
                      "dryRun": ["All"], "orphanDependents": false}));
    round_trip(json!({"apiVersion": "apps/v1", "kind": "CreateOptions", "dryRun": ["All"], "fieldManager": "m",
                      "fieldValidation": "Strict"}));
    round_trip(json!({"apiVersion": "v1", "kind": "APIResourceList", "groupVersion": "apps/v1",
                      "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
                                     "verbs": ["create", "get"], "shortNames": ["deploy"], "categories": ["all"]},
                                    {"name": "deployments/scale", "singularName": "", "namespaced": true, "kind": "Scale",
                                     "group": "autoscaling", "version": "v1", "verbs": []}]}));
    let list = round_trip(json!({
        "apiVersion": "v1", "kind": "ConfigMapList",
        "metadata": {"resourceVersion": "100", "continue": "abc", "remainingItemCount": 0},
        "items": [{"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}},
                  {"metadata": {"name": "b", "namespace": "default"}, "binaryData": {"k": "AA=="}}]
    }));
    // Items of a list carry no apiVersion/kind (as in Go's typed lists).
    assert!(list["items"][0].get("kind").is_none());
    assert_eq!(list["metadata"]["remainingItemCount"], 0);
}
