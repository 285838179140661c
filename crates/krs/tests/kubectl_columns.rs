//! `kubectl get`'s tables: the columns the server returns for each kind (server-side printing)
//! are upstream's (pkg/printers/internalversion/printers.go of Kubernetes 1.34), with kubectl
//! 1.27, 1.33 and 1.37, default and `-o wide`.

use crate::common;

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

/// Column mismatches, collected so one run reports every kind that differs.
#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn header(&mut self, what: &str, out: &str, want: &[&str]) {
        let got = header(out);
        if got != want {
            self.0.push(format!("kubectl get {what}: columns {got:?}, upstream has {want:?}:\n{out}"));
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// The row's first cells are `want`.
    fn cells(&mut self, row: &str, want: &[&str]) {
        let got: Vec<&str> = row.split_whitespace().take(want.len()).collect();
        self.check(got == want, || format!("row {row:?}: cells {got:?}, expected {want:?}"));
    }

    fn contains(&mut self, row: &str, want: &str) {
        self.check(row.contains(want), || format!("row {row:?} has no {want:?}"));
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "{} mismatches:\n{}", self.0.len(), self.0.join("\n"));
    }
}

/// `get ARGS` (and `get ARGS -o wide`): records whether the header is `columns` (plus `wide`);
/// returns the line of the row whose first cell is `first`.
fn check(k: &Kubectl, m: &mut Mismatches, args: &[&str], columns: &[&str], wide: &[&str], first: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let out = k.ok(&all);
    m.header(&args.join(" "), &out, columns);
    let row = out
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("kubectl get {args:?}: no row for {first:?}:\n{out}"))
        .to_string();

    all.extend_from_slice(&["-o", "wide"]);
    let out = k.ok(&all);
    let want: Vec<&str> = columns.iter().chain(wide).copied().collect();
    m.header(&format!("{} -o wide", args.join(" ")), &out, &want);
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
    let mut m = Mismatches::default();

    let pod = check(
        &k,
        &mut m,
        &["pods"],
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        "p",
    );
    m.cells(&pod, &["p", "0/1", "Pending", "0"]);
    let d = check(
        &k,
        &mut m,
        &["deployments"],
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        POD_TEMPLATE_WIDE,
        "d",
    );
    m.cells(&d, &["d", "0/2", "0", "0"]);
    check(&k, &mut m, &["replicasets"], &["NAME", "DESIRED", "CURRENT", "READY", "AGE"], POD_TEMPLATE_WIDE, "rs");
    check(&k, &mut m, &["statefulsets"], &["NAME", "READY", "AGE"], &["CONTAINERS", "IMAGES"], "ss");
    let ds = check(
        &k,
        &mut m,
        &["daemonsets"],
        &["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
        POD_TEMPLATE_WIDE,
        "ds",
    );
    m.contains(&ds, "disk=ssd");
    check(&k, &mut m, &["jobs"], &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], POD_TEMPLATE_WIDE, "j");
    let cj = check(
        &k,
        &mut m,
        &["cronjobs"],
        &["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
        POD_TEMPLATE_WIDE,
        "cj",
    );
    m.contains(&cj, "*/5 * * * *");
    check(&k, &mut m, &["hpa"], &["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], &[], "h");
    check(
        &k,
        &mut m,
        &["pdb"],
        &["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
        &[],
        "pdb",
    );
    m.assert_none();
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
    let mut m = Mismatches::default();

    let s = check(
        &k,
        &mut m,
        &["services"],
        &["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        &["SELECTOR"],
        "s",
    );
    let cells: Vec<&str> = s.split_whitespace().collect();
    m.check(cells.len() > 4 && (cells[1], cells[3], cells[4]) == ("ClusterIP", "<none>", "80/TCP"), || {
        format!("service row {s:?}: expected ClusterIP, <none>, 80/TCP")
    });
    let cm = check(&k, &mut m, &["configmaps", "cm"], &["NAME", "DATA", "AGE"], &[], "cm");
    m.cells(&cm, &["cm", "2"]);
    let sec = check(&k, &mut m, &["secrets"], &["NAME", "TYPE", "DATA", "AGE"], &[], "sec");
    m.cells(&sec, &["sec", "Opaque", "1"]);
    check(&k, &mut m, &["serviceaccounts", "sa"], &["NAME", "SECRETS", "AGE"], &[], "sa");
    let ep = check(&k, &mut m, &["endpoints", "ep"], &["NAME", "ENDPOINTS", "AGE"], &[], "ep");
    m.contains(&ep, "10.0.0.1:80");
    check(&k, &mut m, &["endpointslices", "eps"], &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &[], "eps");
    let ing = check(&k, &mut m, &["ingresses"], &["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], &[], "ing");
    m.contains(&ing, "foo.example.com");
    check(&k, &mut m, &["networkpolicies"], &["NAME", "POD-SELECTOR", "AGE"], &[], "np");
    let lease = check(&k, &mut m, &["leases"], &["NAME", "HOLDER", "AGE"], &[], "l");
    m.cells(&lease, &["l", "me"]);
    check(&k, &mut m, &["limitranges"], &["NAME", "CREATED AT"], &[], "lr");
    check(&k, &mut m, &["resourcequotas"], &["NAME", "AGE", "REQUEST", "LIMIT"], &[], "rq");
    check(
        &k,
        &mut m,
        &["pvc"],
        &["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"],
        &["VOLUMEMODE"],
        "pvc",
    );
    let out = k.ok(&["get", "events"]);
    m.header("events", &out, &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    m.check(out.lines().any(|l| l.contains("Normal") && l.contains("pod/p") && l.contains("hello there")), || {
        format!("no event row in {out}")
    });
    let out = k.ok(&["get", "events", "-o", "wide"]);
    m.header(
        "events -o wide",
        &out,
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"],
    );
    check(&k, &mut m, &["roles"], &["NAME", "CREATED AT"], &[], "r");
    check(&k, &mut m, &["rolebindings"], &["NAME", "ROLE", "AGE"], &["USERS", "GROUPS", "SERVICEACCOUNTS"], "rb");
    m.assert_none();
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
    let mut m = Mismatches::default();

    let ns = check(
        &k.in_namespace("columns"),
        &mut m,
        &["namespace", "columns"],
        &["NAME", "STATUS", "AGE"],
        &[],
        "columns",
    );
    m.cells(&ns, &["columns", "Active"]);
    let node = check(
        k,
        &mut m,
        &["nodes"],
        &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        &["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
        "n1",
    );
    m.cells(&node, &["n1", "Unknown", "control-plane"]);
    let pv = check(
        k,
        &mut m,
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
    m.cells(&pv, &["pv1", "1Gi", "RWO", "Retain", "Pending"]);
    check(k, &mut m, &["priorityclasses"], &["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], &[], "pc");
    check(
        k,
        &mut m,
        &["storageclasses"],
        &["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
        &[],
        "sc",
    );
    check(k, &mut m, &["clusterroles", "cr-e2e"], &["NAME", "CREATED AT"], &[], "cr-e2e");
    check(
        k,
        &mut m,
        &["clusterrolebindings", "crb-e2e"],
        &["NAME", "ROLE", "AGE"],
        &["USERS", "GROUPS", "SERVICEACCOUNTS"],
        "crb-e2e",
    );
    check(k, &mut m, &["crds"], &["NAME", "CREATED AT"], &[], "widgets.example.com");
    m.assert_none();
}
