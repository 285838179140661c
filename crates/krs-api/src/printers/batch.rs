//! batch: jobs and cron jobs.

use serde_json::{Value, json};

use super::helpers::{
    AGE, NAME, WIDE_CONTAINERS, WIDE_IMAGES, age, arr_at, bool_ptr, col, condition_true, containers, deleting,
    format_label_selector, human_duration, int_at, len_at, name, nanos_between, opt_bool, opt_int, opt_str, since,
    str_at, timestamp, wide,
};
use super::{Column, Context, Printer};

pub(super) fn printer(kind: &str) -> Option<&'static dyn Printer> {
    Some(match kind {
        "Job" => &JOB,
        "CronJob" => &CRON_JOB,
        _ => return None,
    })
}

const JOB_SELECTOR_DOC: &str = "A label query over pods that should match the pod count.";

pub struct JobPrinter;
pub static JOB: JobPrinter = JobPrinter;

impl Printer for JobPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Status", "string", "Status of the job."),
            col("Completions", "string", "The number of pods which reached phase Succeeded."),
            col("Duration", "string", "Time required to complete the job."),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", JOB_SELECTOR_DOC),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let succeeded = int_at(obj, "/status/succeeded");
        let completions = match opt_int(obj, "/spec/completions") {
            Some(c) => format!("{succeeded}/{c}"),
            None => match int_at(obj, "/spec/parallelism") {
                p if p > 1 => format!("{succeeded}/1 of {p}"),
                _ => format!("{succeeded}/1"),
            },
        };
        // A running job's duration grows until it completes.
        let duration = match (timestamp(obj, "/status/startTime"), timestamp(obj, "/status/completionTime")) {
            (None, _) => String::new(),
            (Some(start), None) => human_duration(nanos_between(start, ctx.now)),
            (Some(start), Some(end)) => human_duration(nanos_between(start, end)),
        };
        let conditions = arr_at(obj, "/status/conditions");
        let status = if condition_true(conditions, "Complete") {
            "Complete"
        } else if condition_true(conditions, "Failed") {
            "Failed"
        } else if deleting(obj) {
            "Terminating"
        } else if condition_true(conditions, "Suspended") {
            "Suspended"
        } else if condition_true(conditions, "FailureTarget") {
            "FailureTarget"
        } else {
            "Running"
        };
        let (names, images) = containers(arr_at(obj, "/spec/template/spec/containers"));
        vec![
            json!(name(obj)),
            json!(status),
            json!(completions),
            json!(duration),
            age(obj, ctx),
            names,
            images,
            json!(format_label_selector(obj.pointer("/spec/selector"))),
        ]
    }
}

pub struct CronJobPrinter;
pub static CRON_JOB: CronJobPrinter = CronJobPrinter;

impl Printer for CronJobPrinter {
    fn columns(&self) -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            NAME,
            col("Schedule", "string", "The schedule in Cron format."),
            col("Timezone", "string", "The time zone name for the given schedule."),
            // Upstream declares a boolean column but fills it with "True"/"False"/"<unset>".
            col("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions."),
            col("Active", "integer", "A list of pointers to currently running jobs."),
            col("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
            AGE,
            WIDE_CONTAINERS,
            WIDE_IMAGES,
            wide("Selector", "string", JOB_SELECTOR_DOC),
        ];
        COLUMNS
    }
    fn cells(&self, obj: &Value, ctx: &Context) -> Vec<Value> {
        let last_schedule = match timestamp(obj, "/status/lastScheduleTime") {
            Some(_) => since(obj, "/status/lastScheduleTime", ctx),
            None => "<none>".to_owned(),
        };
        let (names, images) = containers(arr_at(obj, "/spec/jobTemplate/spec/template/spec/containers"));
        vec![
            json!(name(obj)),
            json!(str_at(obj, "/spec/schedule")),
            json!(opt_str(obj, "/spec/timeZone").unwrap_or("<none>")),
            json!(bool_ptr(opt_bool(obj, "/spec/suspend"))),
            json!(len_at(obj, "/status/active")),
            json!(last_schedule),
            age(obj, ctx),
            names,
            images,
            json!(format_label_selector(obj.pointer("/spec/jobTemplate/spec/selector"))),
        ]
    }
}
