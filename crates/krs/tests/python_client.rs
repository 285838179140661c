//! The official Python client (PyPI `kubernetes`) against krs: list, watch from the list's
//! resourceVersion, resume a watch from the last seen resourceVersion
//! (tests/python/list_watch_resume.py).

use crate::common;

use std::process::Command;

use common::{Backend, Cluster};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/list_watch_resume.py");

/// Whether python3 with the kubernetes package is installed; prints why the test is skipped
/// when it is not.
fn have_python_client() -> bool {
    match Command::new("python3").args(["-c", "import kubernetes"]).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "skipping: the Python client is not installed (python3 -m pip install kubernetes): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("skipping: no python3: {e}");
            false
        }
    }
}

fn list_watch_and_resume(backend: Backend) {
    if !have_python_client() {
        return;
    }
    let Some(cluster) = Cluster::start(backend) else {
        return;
    };
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(&cluster.kubeconfig)
        .arg("python")
        .output()
        .expect("cannot run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{SCRIPT} failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("python client: list, watch and resume ok"), "{stdout}\n{stderr}");
}

#[test]
fn python_client_lists_watches_and_resumes_on_embedded_store() {
    list_watch_and_resume(Backend::Embedded);
}

#[test]
fn python_client_lists_watches_and_resumes_on_etcd() {
    list_watch_and_resume(Backend::Etcd);
}
