//! `kubectl get`'s tables: the columns the server returns for each kind (server-side printing)
//! are upstream's (pkg/printers/internalversion/printers.go of Kubernetes 1.34), with kubectl
//! 1.27, 1.33 and 1.37, default and `-o wide`.

#[macro_use]
mod common;

use common::Kubectl;

kubectl_scenarios!(
    workload_tables_have_upstream_columns,
    namespaced_object_tables_have_upstream_columns,
    cluster_scoped_object_tables_have_upstream_columns,
);

/// A table's header cells: kubectl separates columns by at least three spaces, and names
/// ("NOMINATED NODE") have single spaces.
fn header(out: &str) -> Vec<String> {
    let first = out.lines().next().unwrap_or_default();
    first.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect()
}

/// `get ARGS` (and `get ARGS -o wide`): asserts the header is `columns` (plus `wide`), and
/// that a row starts with `first`; returns that row's line.
fn check(k: &Kubectl, args: &[&str], columns: &[&str], wide: &[&str], first: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let out = k.ok(&all);
    assert_eq!(header(&out), columns, "kubectl get {args:?}:\n{out}");
    let row = out
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("kubectl get {args:?}: no row for {first:?}:\n{out}"))
        .to_string();

    all.extend_from_slice(&["-o", "wide"]);
    let out = k.ok(&all);
    let want: Vec<&str> = columns.iter().chain(wide).copied().collect();
    assert_eq!(header(&out), want, "kubectl get {args:?} -o wide:\n{out}");
    row
}

const POD_TEMPLATE_WIDE: &[&str] = &["CONTAINERS", "IMAGES", "SELECTOR"];

const WORKLOADS: &str = "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: nginx
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: d
  template:
    metadata:
      labels:
        app: d
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
spec:
  replicas: 0
  selector:
    matchLabels:
      app: rs
  template:
    metadata:
      labels:
        app: rs
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ss
spec:
  serviceName: ss
  selector:
    matchLabels:
      app: ss
  template:
    metadata:
      labels:
        app: ss
    spec:
      containers:
      - name: c
        image: nginx
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
spec:
  selector:
    matchLabels:
      app: ds
  template:
    metadata:
      labels:
        app: ds
    spec:
      nodeSelector:
        disk: ssd
      containers:
      - name: c
        image: nginx
---
apiVersion: batch/v1
kind: Job
metadata:
  name: j
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cj
spec:
  schedule: \"*/5 * * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: h
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: d
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: pdb
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: d
";

fn workload_tables_have_upstream_columns(k: &Kubectl) {
    let k = k.in_new_namespace("workloads");
    k.ok_stdin(&["create", "-f", "-"], WORKLOADS);

    let pod = check(
        &k,
        &["pods"],
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        "p",
    );
    assert_eq!(pod.split_whitespace().take(4).collect::<Vec<_>>(), ["p", "0/1", "Pending", "0"], "{pod}");
    let d = check(&k, &["deployments"], &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], POD_TEMPLATE_WIDE, "d");
    assert_eq!(d.split_whitespace().take(4).collect::<Vec<_>>(), ["d", "0/2", "0", "0"], "{d}");
    check(&k, &["replicasets"], &["NAME", "DESIRED", "CURRENT", "READY", "AGE"], POD_TEMPLATE_WIDE, "rs");
    check(&k, &["statefulsets"], &["NAME", "READY", "AGE"], &["CONTAINERS", "IMAGES"], "ss");
    let ds = check(
        &k,
        &["daemonsets"],
        &["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
        POD_TEMPLATE_WIDE,
        "ds",
    );
    assert!(ds.contains("disk=ssd"), "{ds}");
    check(&k, &["jobs"], &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], POD_TEMPLATE_WIDE, "j");
    let cj = check(
        &k,
        &["cronjobs"],
        &["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
        POD_TEMPLATE_WIDE,
        "cj",
    );
    assert!(cj.contains("*/5 * * * *"), "{cj}");
    check(&k, &["hpa"], &["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], &[], "h");
    check(&k, &["pdb"], &["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"], &[], "pdb");
}

const NAMESPACED: &str = "apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  selector:
    app: d
  ports:
  - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  a: \"1\"
  b: \"2\"
---
apiVersion: v1
kind: Secret
metadata:
  name: sec
stringData:
  pw: x
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ep
subsets:
- addresses:
  - ip: 10.0.0.1
  ports:
  - port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: eps
addressType: IPv4
endpoints:
- addresses:
  - 10.0.0.1
ports:
- port: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing
spec:
  rules:
  - host: foo.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: s
            port:
              number: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np
spec:
  podSelector:
    matchLabels:
      app: d
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: l
spec:
  holderIdentity: me
---
apiVersion: v1
kind: LimitRange
metadata:
  name: lr
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: rq
spec:
  hard:
    pods: \"10\"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: pvc
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Event
metadata:
  name: ev
involvedObject:
  kind: Pod
  name: p
  namespace: objects
reason: Tested
message: hello there
type: Normal
source:
  component: e2e
firstTimestamp: \"2024-01-01T00:00:00Z\"
lastTimestamp: \"2024-01-01T00:00:00Z\"
count: 1
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: r
rules:
- apiGroups: [\"\"]
  resources: [pods]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: r
subjects:
- kind: ServiceAccount
  name: sa
  namespace: objects
";

fn namespaced_object_tables_have_upstream_columns(k: &Kubectl) {
    let k = k.in_new_namespace("objects");
    k.ok_stdin(&["create", "-f", "-"], NAMESPACED);

    let s = check(&k, &["services"], &["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], &["SELECTOR"], "s");
    let cells: Vec<&str> = s.split_whitespace().collect();
    assert_eq!((cells[1], cells[3], cells[4]), ("ClusterIP", "<none>", "80/TCP"), "{s}");
    let cm = check(&k, &["configmaps", "cm"], &["NAME", "DATA", "AGE"], &[], "cm");
    assert_eq!(cm.split_whitespace().nth(1), Some("2"), "{cm}");
    let sec = check(&k, &["secrets"], &["NAME", "TYPE", "DATA", "AGE"], &[], "sec");
    assert_eq!(sec.split_whitespace().take(3).collect::<Vec<_>>(), ["sec", "Opaque", "1"], "{sec}");
    check(&k, &["serviceaccounts", "sa"], &["NAME", "SECRETS", "AGE"], &[], "sa");
    let ep = check(&k, &["endpoints", "ep"], &["NAME", "ENDPOINTS", "AGE"], &[], "ep");
    assert!(ep.contains("10.0.0.1:80"), "{ep}");
    check(&k, &["endpointslices", "eps"], &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &[], "eps");
    let ing = check(&k, &["ingresses"], &["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], &[], "ing");
    assert!(ing.contains("foo.example.com"), "{ing}");
    check(&k, &["networkpolicies"], &["NAME", "POD-SELECTOR", "AGE"], &[], "np");
    let lease = check(&k, &["leases"], &["NAME", "HOLDER", "AGE"], &[], "l");
    assert_eq!(lease.split_whitespace().nth(1), Some("me"), "{lease}");
    check(&k, &["limitranges"], &["NAME", "CREATED AT"], &[], "lr");
    check(&k, &["resourcequotas"], &["NAME", "AGE", "REQUEST", "LIMIT"], &[], "rq");
    check(
        &k,
        &["pvc"],
        &["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"],
        &["VOLUMEMODE"],
        "pvc",
    );
    let out = k.ok(&["get", "events"]);
    assert_eq!(header(&out), ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{out}");
    assert!(out.lines().any(|l| l.contains("Normal") && l.contains("pod/p") && l.contains("hello there")), "{out}");
    let out = k.ok(&["get", "events", "-o", "wide"]);
    assert_eq!(
        header(&out),
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"],
        "{out}"
    );
    check(&k, &["roles"], &["NAME", "CREATED AT"], &[], "r");
    check(&k, &["rolebindings"], &["NAME", "ROLE", "AGE"], &["USERS", "GROUPS", "SERVICEACCOUNTS"], "rb");
}

const CLUSTER_SCOPED: &str = "apiVersion: v1
kind: Node
metadata:
  name: n1
  labels:
    node-role.kubernetes.io/control-plane: \"\"
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv1
spec:
  capacity:
    storage: 1Gi
  accessModes:
  - ReadWriteOnce
  hostPath:
    path: /tmp/pv1
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: pc
value: 1000
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: sc
provisioner: example.com/x
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cr-e2e
rules:
- apiGroups: [\"\"]
  resources: [pods]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb-e2e
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cr-e2e
subjects:
- kind: User
  name: alice
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
";

fn cluster_scoped_object_tables_have_upstream_columns(k: &Kubectl) {
    k.ok_stdin(&["create", "-f", "-"], CLUSTER_SCOPED);
    k.ok(&["create", "namespace", "columns"]);

    let ns = check(&k.in_namespace("columns"), &["namespace", "columns"], &["NAME", "STATUS", "AGE"], &[], "columns");
    assert_eq!(ns.split_whitespace().nth(1), Some("Active"), "{ns}");
    let node = check(
        k,
        &["nodes"],
        &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        &["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
        "n1",
    );
    assert_eq!(node.split_whitespace().take(3).collect::<Vec<_>>(), ["n1", "Unknown", "control-plane"], "{node}");
    let pv = check(
        k,
        &["pv"],
        &[
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ],
        &["VOLUMEMODE"],
        "pv1",
    );
    assert_eq!(pv.split_whitespace().take(5).collect::<Vec<_>>(), ["pv1", "1Gi", "RWO", "Retain", "Pending"], "{pv}");
    check(k, &["priorityclasses"], &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], &[], "pc");
    check(
        k,
        &["storageclasses"],
        &["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
        &[],
        "sc",
    );
    check(k, &["clusterroles", "cr-e2e"], &["NAME", "CREATED AT"], &[], "cr-e2e");
    check(
        k,
        &["clusterrolebindings", "crb-e2e"],
        &["NAME", "ROLE", "AGE"],
        &["USERS", "GROUPS", "SERVICEACCOUNTS"],
        "crb-e2e",
    );
    check(k, &["crds"], &["NAME", "CREATED AT"], &[], "widgets.example.com");
}
