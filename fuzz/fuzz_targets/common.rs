//! Turns fuzzer bytes into JSON values shaped like Kubernetes objects, so random input reaches
//! real fields, merge keys, patch directives and managedFields instead of stopping at the
//! parser. Every choice reads one byte; past the end every byte is 0, which always picks a
//! leaf, so generation terminates.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// Field names the engines care about: object metadata, managedFields (and FieldsV1 keys),
/// workload specs with keyed lists, strategic merge directives.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "manager",
    "operation",
    "fieldsType",
    "fieldsV1",
    "time",
    "subresource",
    "spec",
    "status",
    "replicas",
    "selector",
    "matchLabels",
    "matchExpressions",
    "template",
    "containers",
    "initContainers",
    "image",
    "env",
    "value",
    "valueFrom",
    "ports",
    "containerPort",
    "port",
    "protocol",
    "volumes",
    "volumeMounts",
    "mountPath",
    "tolerations",
    "key",
    "conditions",
    "type",
    "data",
    "binaryData",
    "stringData",
    "clusterIP",
    "clusterIPs",
    "externalIPs",
    "jobTemplate",
    "schedule",
    "strategy",
    "rollingUpdate",
    "maxSurge",
    "resources",
    "limits",
    "requests",
    "cpu",
    "kubectl.kubernetes.io/last-applied-configuration",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/finalizers",
    "$deleteFromPrimitiveList/finalizers",
    "f:metadata",
    "f:labels",
    "f:spec",
    "f:replicas",
    "f:containers",
    "f:image",
    "f:name",
    "f:status",
    ".",
    "k:{\"name\":\"a\"}",
    "k:{\"containerPort\":80,\"protocol\":\"TCP\"}",
    "k:{\"name\"",
    "v:\"x\"",
    "v:1",
    "i:0",
    "i:-1",
    "a",
    "b",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "b",
    "x",
    "Apply",
    "Update",
    "FieldsV1",
    "v1",
    "apps/v1",
    "batch/v1",
    "Deployment",
    "Pod",
    "ConfigMap",
    "Service",
    "kubectl",
    "kubectl-client-side-apply",
    "status",
    "scale",
    "TCP",
    "UDP",
    "80",
    "1Gi",
    "100m",
    "25%",
    "2024-01-01T00:00:00Z",
    "delete",
    "replace",
    "merge",
    "retainKeys",
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"},\"data\":{\"a\":\"b\"}}",
    "{",
    "/",
    "~1",
    "~",
    "\u{0}",
    "é",
];

pub struct Gen<'a> {
    data: &'a [u8],
    at: usize,
}

pub const MAX_DEPTH: usize = 7;

impl<'a> Gen<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Gen { data, at: 0 }
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    pub fn key(&mut self) -> String {
        match self.byte() {
            // Now and then a key of raw bytes.
            250..=255 => self.raw_string(),
            b => KEYS[usize::from(b) % KEYS.len()].to_string(),
        }
    }

    pub fn string(&mut self) -> String {
        match self.byte() {
            240..=255 => self.raw_string(),
            b => STRINGS[usize::from(b) % STRINGS.len()].to_string(),
        }
    }

    fn raw_string(&mut self) -> String {
        let n = self.below(8);
        let bytes: Vec<u8> = (0..n).map(|_| self.byte()).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn scalar(&mut self) -> Value {
        match self.byte() % 10 {
            0 => Value::Null,
            1 => Value::Bool(self.bool()),
            2 => Value::from(i64::from(self.byte() % 4)),
            3 => Value::from(match self.byte() % 6 {
                0 => i64::MAX,
                1 => i64::MIN,
                2 => -1,
                3 => i64::from(i32::MAX),
                4 => i64::from(i32::MIN),
                _ => 1 << 53,
            }),
            4 => Value::from(u64::MAX),
            5 => Value::from(f64::from(self.byte()) / 4.0 - 16.0),
            _ => Value::String(self.string()),
        }
    }

    /// Any JSON value, objects and arrays up to [`MAX_DEPTH`].
    pub fn value(&mut self, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return self.scalar();
        }
        match self.byte() % 8 {
            0..=2 => self.object(depth),
            3 => self.array(depth),
            _ => self.scalar(),
        }
    }

    pub fn object(&mut self, depth: usize) -> Value {
        let mut m = Map::new();
        for _ in 0..self.byte() % 6 {
            let k = self.key();
            let v = self.value(depth + 1);
            m.insert(k, v);
        }
        Value::Object(m)
    }

    pub fn array(&mut self, depth: usize) -> Value {
        let n = self.byte() % 4;
        Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
    }

    /// A JSON pointer made of known keys and indexes.
    pub fn pointer(&mut self) -> String {
        let n = self.below(5);
        let mut p = String::new();
        for _ in 0..n {
            p.push('/');
            match self.byte() % 6 {
                0 => p.push_str(&self.below(4).to_string()),
                1 => p.push('-'),
                _ => p.push_str(&self.key().replace('~', "~0").replace('/', "~1")),
            }
        }
        p
    }

    /// The bytes not consumed yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.at..).unwrap_or(&[])
    }
}

/// Splits `data` into a selector byte and two parts: `[selector][len: u16 LE][first][second]`.
pub fn split(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return (0, &[], &[]);
    };
    if rest.len() < 2 {
        return (selector, rest, &[]);
    }
    let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    let len = len.min(rest.len());
    (selector, &rest[..len], &rest[len..])
}
