//! The namespace controller against a real API server.

use crate::common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn condition(ns: &Namespace, type_: &str) -> Option<(String, String, String)> {
    let c = ns.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_removes_content_reports_conditions_and_finalizes() {
    init_tracing();
    let server = Server::start();
    let client = server.client().await;
    let _m = Manager::start(client.clone(), &["namespace"], None);
    create_namespace(&client, "doomed").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})).expect("cm");
    cms.create(&PostParams::default(), &held).await.expect("cm");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}})).expect("secret");
    Api::<Secret>::namespaced(client.clone(), "doomed").create(&PostParams::default(), &secret).await.expect("secret");

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete("doomed", &DeleteParams::default()).await.expect("delete namespace");
    let ns = wait_for("the remaining-content conditions", || async {
        let ns = namespaces.get("doomed").await.ok()?;
        (condition(&ns, "NamespaceFinalizersRemaining")?.0 == "True").then_some(ns)
    })
    .await;
    assert_eq!(
        condition(&ns, "NamespaceContentRemaining"),
        Some((
            "True".into(),
            "SomeResourcesRemain".into(),
            "Some resources are remaining: configmaps has 1 resource instances".into()
        ))
    );
    assert_eq!(
        condition(&ns, "NamespaceFinalizersRemaining"),
        Some((
            "True".into(),
            "SomeFinalizersRemain".into(),
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances".into()
        ))
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionDiscoveryFailure").map(|c| (c.0, c.1)),
        Some(("False".into(), "ResourcesDiscovered".into()))
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionContentFailure").map(|c| (c.0, c.1)),
        Some(("False".into(), "ContentDeleted".into()))
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionGroupVersionParsingFailure").map(|c| (c.0, c.1)),
        Some(("False".into(), "ParsedGroupVersions".into()))
    );
    assert!(
        Api::<Secret>::namespaced(client.clone(), "doomed").get_opt("s").await.expect("get").is_none(),
        "content without finalizers is gone"
    );
    assert!(
        ns.spec.and_then(|s| s.finalizers).unwrap_or_default().contains(&"kubernetes".to_string()),
        "not finalized while content remains"
    );

    cms.patch("held", &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"finalizers": null}})))
        .await
        .expect("release");
    wait_for("the namespace to be removed", || async {
        namespaces.get_opt("doomed").await.ok().and_then(|n| n.is_none().then_some(()))
    })
    .await;
}
