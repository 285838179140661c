//! The service account controller and the root CA publisher against a real API server.

use crate::common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, DeleteParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_gets_a_default_service_account_and_the_root_ca() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let ca = server.root_ca();
    assert!(ca.contains("BEGIN CERTIFICATE"), "the kubeconfig carries the CA");
    let _m = Manager::start(client.clone(), &["serviceaccount", "root-ca-cert-publisher"], Some(ca.clone()));
    create_namespace(&client, "team-a").await;

    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "team-a");
    let first = wait_for("the default service account", || async { sas.get_opt("default").await.ok().flatten() }).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    let cm = wait_for("kube-root-ca.crt", || async { cms.get_opt("kube-root-ca.crt").await.ok().flatten() }).await;
    assert_eq!(cm.data.as_ref().and_then(|d| d.get("ca.crt")), Some(&ca));

    // Deleted, both come back; an edited bundle is restored.
    sas.delete("default", &DeleteParams::default()).await.expect("delete sa");
    let mut edited = cm.clone();
    edited.data = Some([("ca.crt".to_string(), "tampered".to_string())].into());
    cms.replace("kube-root-ca.crt", &Default::default(), &edited).await.expect("edit cm");
    wait_for("the default service account again", || async {
        sas.get_opt("default").await.ok().flatten().filter(|sa| sa.metadata.uid != first.metadata.uid)
    })
    .await;
    wait_for("the restored bundle", || async {
        let cm = cms.get_opt("kube-root-ca.crt").await.ok().flatten()?;
        (cm.data.as_ref().and_then(|d| d.get("ca.crt")) == Some(&ca)).then_some(())
    })
    .await;
    // Existing namespaces are covered too.
    wait_for("the default namespace's account", || async {
        Api::<ServiceAccount>::namespaced(client.clone(), "default").get_opt("default").await.ok().flatten()
    })
    .await;
}
