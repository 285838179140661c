//! The API server's `/metrics` (Prometheus text format), with upstream's names, labels,
//! buckets and stability levels: `apiserver_request_total` and
//! `apiserver_request_duration_seconds` per verb, group, version, resource, subresource and
//! scope, `apiserver_current_inflight_requests`, and `apiserver_storage_objects` per resource.
//! Components running inside the server (the scheduler) add their own families with
//! [`Metrics::add_source`]. `--disabled-metrics` leaves named metrics out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::request::RequestInfo;

/// `apiserver_request_duration_seconds`' bucket bounds, upstream's.
const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0,
];

/// What a request is counted under (without the response code).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    verb: &'static str,
    dry_run: bool,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: &'static str,
}

/// A series' labels as a lookup reads them: borrowed from the request, so that a request
/// counted under an existing series allocates nothing. [`Labels`] and [`RequestLabels`] hash
/// and compare through the same parts.
trait SeriesKey {
    fn parts(&self) -> (&str, bool, &str, &str, &str, &str, &str);
}

type Parts<'a> = (&'a str, bool, &'a str, &'a str, &'a str, &'a str, &'a str);

impl SeriesKey for Labels {
    fn parts(&self) -> Parts<'_> {
        (self.verb, self.dry_run, &self.group, &self.version, &self.resource, &self.subresource, self.scope)
    }
}

struct RequestLabels<'a> {
    verb: &'static str,
    dry_run: bool,
    info: &'a RequestInfo,
    scope: &'static str,
}

impl SeriesKey for RequestLabels<'_> {
    fn parts(&self) -> Parts<'_> {
        let i = self.info;
        (self.verb, self.dry_run, &i.group, &i.version, &i.resource, &i.subresource, self.scope)
    }
}

impl RequestLabels<'_> {
    fn to_owned(&self) -> Labels {
        Labels {
            verb: self.verb,
            dry_run: self.dry_run,
            group: self.info.group.clone(),
            version: self.info.version.clone(),
            resource: self.info.resource.clone(),
            subresource: self.info.subresource.clone(),
            scope: self.scope,
        }
    }
}

impl<'a> std::borrow::Borrow<dyn SeriesKey + 'a> for Labels {
    fn borrow(&self) -> &(dyn SeriesKey + 'a) {
        self
    }
}

impl std::hash::Hash for Labels {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.parts().hash(h)
    }
}

impl std::hash::Hash for dyn SeriesKey + '_ {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.parts().hash(h)
    }
}

impl PartialEq for dyn SeriesKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn SeriesKey + '_ {}

/// Observations per bucket (not cumulative: the exposition sums them), their count and sum.
#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What is known of the requests under one set of labels: their count per response code and,
/// unless they are long-running, their durations.
#[derive(Default)]
struct Series {
    codes: Vec<(u16, u64)>,
    durations: Histogram,
}

/// Renders the text exposition of a component's metrics.
type Source = Box<dyn Fn() -> String + Send + Sync>;

/// The API server's request metrics.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<Labels, Series, foldhash::fast::RandomState>>,
    inflight_read: AtomicI64,
    inflight_mutating: AtomicI64,
    disabled: BTreeSet<String>,
    sources: Mutex<Vec<Source>>,
}

/// upstream's request verb for metrics: LIST and WATCH for collection reads, APPLY for
/// server-side apply patches, CONNECT for connect subresources.
fn verb(info: &RequestInfo, apply: bool) -> &'static str {
    match info.verb.as_str() {
        "get" => "GET",
        "list" => "LIST",
        "watch" | "watchlist" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" if apply => "APPLY",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        "connect" => "CONNECT",
        "head" => "HEAD",
        "post" => "POST",
        "put" => "PUT",
        _ => "GET",
    }
}

fn scope(info: &RequestInfo) -> &'static str {
    if !info.is_resource_request {
        ""
    } else if !info.name.is_empty() {
        "resource"
    } else if !info.namespace.is_empty() {
        "namespace"
    } else {
        "cluster"
    }
}

fn is_mutating(info: &RequestInfo) -> bool {
    matches!(info.verb.as_str(), "create" | "update" | "patch" | "delete" | "deletecollection" | "post" | "put")
}

fn long_running(info: &RequestInfo) -> bool {
    matches!(info.verb.as_str(), "watch" | "watchlist" | "connect")
        || matches!(info.subresource.as_str(), "exec" | "attach" | "portforward" | "proxy" | "log")
}

/// A request in flight; its end is recorded when this is dropped.
pub struct InFlight<'a> {
    counter: Option<&'a AtomicI64>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.counter {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Metrics {
    /// Metrics leaving out the named ones from `/metrics`.
    pub fn new(disabled: &[String]) -> Metrics {
        Metrics { disabled: disabled.iter().cloned().collect(), ..Default::default() }
    }

    /// Adds the metrics of a component running in this process (`render` gives their text
    /// exposition) to `/metrics`, after the API server's own.
    pub fn add_source(&self, render: impl Fn() -> String + Send + Sync + 'static) {
        self.sources.lock().push(Box::new(render));
    }

    /// Counts a request in flight (long-running ones are not, as upstream).
    pub fn start(&self, info: &RequestInfo) -> InFlight<'_> {
        if long_running(info) {
            return InFlight { counter: None };
        }
        let counter = if is_mutating(info) { &self.inflight_mutating } else { &self.inflight_read };
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight { counter: Some(counter) }
    }

    /// Records a finished request (its response headers sent).
    pub fn observe(&self, info: &RequestInfo, apply: bool, dry_run: bool, code: u16, took: Duration) {
        let key = RequestLabels { verb: verb(info, apply), dry_run, info, scope: scope(info) };
        let timed = !long_running(info);
        let secs = took.as_secs_f64();
        let record = |series: &mut Series| {
            match series.codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => series.codes.push((code, 1)),
            }
            if timed {
                let h = &mut series.durations;
                if let Some(i) = BUCKETS.iter().position(|bound| secs <= *bound) {
                    h.buckets[i] += 1;
                }
                h.count += 1;
                h.sum += secs;
            }
        };
        let mut all = self.series.lock();
        match all.get_mut(&key as &dyn SeriesKey) {
            Some(series) => record(series),
            None => {
                let mut series = Series::default();
                record(&mut series);
                all.insert(key.to_owned(), series);
            }
        }
    }

    /// The text exposition. `objects` is the number of stored objects per resource.
    pub fn render(&self, objects: &BTreeMap<String, usize>) -> String {
        let mut out = String::new();
        let enabled = |name: &str| !self.disabled.contains(name);
        let label_text = |l: &Labels| {
            format!(
                "component=\"apiserver\",dry_run=\"{}\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"",
                if l.dry_run { "All" } else { "" },
                l.group,
                l.resource,
                l.scope,
                l.subresource,
                l.verb,
                l.version
            )
        };
        if enabled("apiserver_request_total") {
            out.push_str("# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n# TYPE apiserver_request_total counter\n");
            let all = self.series.lock();
            let sorted: BTreeMap<_, _> =
                all.iter().flat_map(|(labels, s)| s.codes.iter().map(move |(code, n)| ((labels, *code), *n))).collect();
            for ((labels, code), n) in sorted {
                let _ = writeln!(out, "apiserver_request_total{{code=\"{code}\",{}}} {n}", label_text(labels));
            }
        }
        if enabled("apiserver_request_duration_seconds") {
            out.push_str("# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.\n# TYPE apiserver_request_duration_seconds histogram\n");
            let all = self.series.lock();
            let sorted: BTreeMap<_, _> =
                all.iter().filter(|(_, s)| s.durations.count > 0).map(|(l, s)| (l, &s.durations)).collect();
            for (labels, h) in sorted {
                let l = label_text(labels);
                let mut cumulative = 0;
                for (i, bound) in BUCKETS.iter().enumerate() {
                    cumulative += h.buckets[i];
                    let _ =
                        writeln!(out, "apiserver_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}");
                }
                let _ = writeln!(out, "apiserver_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "apiserver_request_duration_seconds_sum{{{l}}} {}", h.sum);
                let _ = writeln!(out, "apiserver_request_duration_seconds_count{{{l}}} {}", h.count);
            }
        }
        if enabled("apiserver_current_inflight_requests") {
            out.push_str("# HELP apiserver_current_inflight_requests [STABLE] Maximal number of currently used inflight request limit of this apiserver per request kind in last second.\n# TYPE apiserver_current_inflight_requests gauge\n");
            let _ = writeln!(
                out,
                "apiserver_current_inflight_requests{{request_kind=\"mutating\"}} {}",
                self.inflight_mutating.load(Ordering::Relaxed)
            );
            let _ = writeln!(
                out,
                "apiserver_current_inflight_requests{{request_kind=\"readOnly\"}} {}",
                self.inflight_read.load(Ordering::Relaxed)
            );
        }
        if enabled("apiserver_storage_objects") {
            out.push_str("# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.\n# TYPE apiserver_storage_objects gauge\n");
            for (resource, n) in objects {
                let _ = writeln!(out, "apiserver_storage_objects{{resource=\"{resource}\"}} {n}");
            }
        }
        for source in self.sources.lock().iter() {
            for line in source().lines() {
                let name = sample_name(line);
                let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s));
                if enabled(name) && family.is_none_or(enabled) {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The metric a line of text exposition is about: the name of a `# HELP` or `# TYPE` line, or
/// a sample's name.
fn sample_name(line: &str) -> &str {
    match line.strip_prefix("# ") {
        Some(rest) => rest.split_whitespace().nth(1).unwrap_or(""),
        None => line.split(['{', ' ']).next().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn requests_are_counted_and_timed_under_upstreams_labels() {
        let m = Metrics::new(&["apiserver_storage_objects".to_string()]);
        let list = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/default/pods", false);
        let create = RequestInfo::parse(&Method::POST, "/apis/apps/v1/namespaces/a/deployments", false);
        {
            let _in_flight = m.start(&create);
            assert!(
                m.render(&BTreeMap::new()).contains("apiserver_current_inflight_requests{request_kind=\"mutating\"} 1")
            );
        }
        m.observe(&list, false, false, 200, Duration::from_millis(3));
        m.observe(&list, false, false, 200, Duration::from_millis(30));
        // An equal request parsed anew is found by its labels' values.
        let list_again = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/other/pods", false);
        m.observe(&list_again, false, false, 200, Duration::from_secs(2));
        m.observe(&create, false, true, 201, Duration::from_millis(1));
        let text = m.render(&BTreeMap::from([("pods".to_string(), 3)]));
        assert!(text.contains(
            "apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"pods\",scope=\"namespace\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 3"
        ), "{text}");
        assert!(text.contains(
            "apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"All\",group=\"apps\",resource=\"deployments\",scope=\"namespace\",subresource=\"\",verb=\"POST\",version=\"v1\"} 1"
        ));
        assert!(text.contains("verb=\"LIST\",version=\"v1\",le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("verb=\"LIST\",version=\"v1\",le=\"0.05\"} 2\n"));
        assert!(text.contains("verb=\"LIST\",version=\"v1\",le=\"2\"} 3\n"), "{text}");
        assert!(text.contains("apiserver_current_inflight_requests{request_kind=\"mutating\"} 0"));
        assert!(!text.contains("apiserver_storage_objects"), "disabled metrics are left out");
    }

    #[test]
    fn components_metrics_follow_the_servers_and_disabled_ones_are_left_out() {
        let m = Metrics::new(&["component_seconds".to_string()]);
        m.add_source(|| {
            "# HELP component_total Things.\n# TYPE component_total counter\ncomponent_total{kind=\"a\"} 7\n\
             # HELP component_seconds Time.\n# TYPE component_seconds histogram\n\
             component_seconds_bucket{le=\"1\"} 1\ncomponent_seconds_sum 0.5\ncomponent_seconds_count 1\n"
                .to_string()
        });
        let text = m.render(&BTreeMap::new());
        let own = text.find("apiserver_current_inflight_requests").expect("the server's own metrics");
        let component = text.find("component_total{kind=\"a\"} 7\n").expect("the component's metrics");
        assert!(own < component, "{text}");
        assert!(text.contains("# TYPE component_total counter\n"), "{text}");
        assert!(!text.contains("component_seconds"), "a disabled histogram loses every series: {text}");
    }
}
