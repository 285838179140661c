//! A Status encoded as upstream's API server encodes it: Go's field order and omitempty rules,
//! and `encoding/json` string escaping. Clients only need valid JSON, but byte-identical
//! output keeps recorded responses and golden tests comparable with upstream.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, Status, StatusCause, StatusDetails};

use crate::gofmt;

struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        gofmt::json_string(self.out, k);
        self.out.push(':');
    }

    /// A string member, omitted when absent or empty (Go's `omitempty`).
    fn string(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.key(k);
            gofmt::json_string(self.out, v);
        }
    }

    /// A number member, omitted when absent or zero.
    fn number(&mut self, k: &str, v: Option<i64>) {
        if let Some(v) = v.filter(|v| *v != 0) {
            self.key(k);
            self.out.push_str(&v.to_string());
        }
    }

    fn close(self) {
        self.out.push('}');
    }
}

fn list_meta(out: &mut String, m: &ListMeta) {
    let mut o = Object::open(out);
    o.string("selfLink", m.self_link.as_deref());
    o.string("resourceVersion", m.resource_version.as_deref());
    o.string("continue", m.continue_.as_deref());
    o.number("remainingItemCount", m.remaining_item_count);
    o.close();
}

fn cause(out: &mut String, c: &StatusCause) {
    let mut o = Object::open(out);
    o.string("reason", c.reason.as_deref());
    o.string("message", c.message.as_deref());
    o.string("field", c.field.as_deref());
    o.close();
}

fn details(out: &mut String, d: &StatusDetails) {
    let mut o = Object::open(out);
    o.string("name", d.name.as_deref());
    o.string("group", d.group.as_deref());
    o.string("kind", d.kind.as_deref());
    o.string("uid", d.uid.as_deref());
    if let Some(causes) = d.causes.as_ref().filter(|c| !c.is_empty()) {
        o.key("causes");
        o.out.push('[');
        for (i, c) in causes.iter().enumerate() {
            if i > 0 {
                o.out.push(',');
            }
            cause(o.out, c);
        }
        o.out.push(']');
    }
    o.number("retryAfterSeconds", d.retry_after_seconds.map(i64::from));
    o.close();
}

/// `json.Marshal(status)` of a `metav1.Status` with its TypeMeta set.
pub(crate) fn status_json(s: &Status) -> String {
    let mut out = String::with_capacity(256);
    let mut o = Object::open(&mut out);
    o.string("kind", Some("Status"));
    o.string("apiVersion", Some("v1"));
    o.key("metadata");
    list_meta(o.out, &s.metadata);
    o.string("status", s.status.as_deref());
    o.string("message", s.message.as_deref());
    o.string("reason", s.reason.as_deref());
    if let Some(d) = &s.details {
        o.key("details");
        details(o.out, d);
    }
    o.number("code", s.code.map(i64::from));
    o.close();
    out
}
