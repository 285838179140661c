//! The result of running a plugin (`fwk.Status`), and the per-cycle state plugins share
//! (`CycleState`).

use std::any::Any;
use std::borrow::Cow;

/// A plugin's verdict (`fwk.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Success,
    /// An internal error: the pod goes back to the queue with backoff.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and preemption on this node cannot help.
    UnschedulableAndUnresolvable,
    /// A Permit plugin asks the pod to wait.
    Wait,
    /// The plugin has nothing to do for this pod (PreFilter, PreScore, Bind).
    Skip,
    /// The pod waits for something outside the scheduler (no preemption, no backoff).
    Pending,
}

/// A status: code, reasons and the plugin that produced it. Success carries no allocation.
#[derive(Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<Cow<'static, str>>,
    pub plugin: &'static str,
}

/// A cycle copies a status per node it takes from the results memo, most of them without
/// reasons: those copy without a call into `Vec`'s clone.
impl Clone for Status {
    #[inline]
    fn clone(&self) -> Status {
        let reasons = if self.reasons.is_empty() { Vec::new() } else { self.reasons.clone() };
        Status { code: self.code, reasons, plugin: self.plugin }
    }
}

impl Status {
    pub const fn success() -> Status {
        Status { code: Code::Success, reasons: Vec::new(), plugin: "" }
    }

    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Status {
        Status { code, reasons: vec![reason.into()], plugin: "" }
    }

    pub fn with_reasons(code: Code, reasons: Vec<Cow<'static, str>>) -> Status {
        Status { code, reasons, plugin: "" }
    }

    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }

    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    pub fn error(reason: impl Into<Cow<'static, str>>) -> Status {
        Status::new(Code::Error, reason)
    }

    pub const fn skip() -> Status {
        Status { code: Code::Skip, reasons: Vec::new(), plugin: "" }
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Unschedulable or UnschedulableAndUnresolvable (`IsRejected`).
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable | Code::Pending)
    }

    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    /// The reasons joined with ", " (`Status.Message`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// Data a plugin keeps in the cycle state; cloned when preemption simulates removals.
pub trait StateData: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// What plugins computed for the pod in this cycle, keyed by a constant of each plugin
/// (`framework.CycleState`).
#[derive(Default)]
pub struct CycleState {
    /// A few entries (one per plugin at most), read for every node: a short list searched by
    /// key is cheaper than hashing the key each time.
    data: Vec<(&'static str, Box<dyn StateData>)>,
    /// Plugins whose PreFilter returned Skip: their Filter is not run.
    pub skip_filter_plugins: Vec<&'static str>,
    /// The same, as bits of the profile's Filter plugins by position (the first 64), so that
    /// the filters of every node compare no names ([`CycleState::filter_skipped`]).
    pub(crate) skip_filter_mask: u64,
    /// Plugins whose PreScore returned Skip: their Score is not run.
    pub skip_score_plugins: Vec<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> CycleState {
        CycleState {
            data: self.data.iter().map(|(k, v)| (*k, v.as_ref().clone_box())).collect(),
            skip_filter_plugins: self.skip_filter_plugins.clone(),
            skip_filter_mask: self.skip_filter_mask,
            skip_score_plugins: self.skip_score_plugins.clone(),
        }
    }
}

impl CycleState {
    /// Keys are constants of the plugins: the same pointer almost always, so a pass comparing
    /// pointers finds them before any string is compared.
    fn position(&self, key: &str) -> Option<usize> {
        self.data
            .iter()
            .position(|(k, _)| std::ptr::eq(k.as_ptr(), key.as_ptr()) && k.len() == key.len())
            .or_else(|| self.data.iter().position(|(k, _)| *k == key))
    }

    /// Whether the Filter plugin `name`, at `index` among the profile's Filter plugins, is
    /// skipped in this cycle.
    /// The name is asked for only past the 64 plugins the mask covers.
    pub fn filter_skipped(&self, index: usize, name: impl FnOnce() -> &'static str) -> bool {
        if index < 64 { self.skip_filter_mask & (1 << index) != 0 } else { self.skip_filter_plugins.contains(&name()) }
    }

    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        match self.position(key) {
            Some(i) => self.data[i].1 = Box::new(value),
            None => self.data.push((key, Box::new(value))),
        }
    }

    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.position(key).and_then(|i| self.data[i].1.as_ref().as_any().downcast_ref())
    }

    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.position(key).and_then(|i| self.data[i].1.as_mut().as_any_mut().downcast_mut())
    }
}
