//! List semantics over the raw API: `limit`/`continue` pages come from one snapshot while
//! writes go on, `resourceVersion=0` and `resourceVersionMatch=Exact` reads, continue-token
//! validation, and field selectors.

use crate::common;

use common::Kubectl;
use common::http::{Api, MERGE_PATCH};
use serde_json::{Value, json};

scenarios!(embedded, Embedded, V1_33:
    paginated_list_is_one_snapshot_while_writes_go_on,
    list_at_resource_version_zero_answers_from_cache,
    list_exact_resource_version_returns_old_state,
    invalid_continue_token_is_bad_request,
    field_selector_on_pod_node_name,
);

scenarios!(etcd, Etcd, V1_33:
    paginated_list_is_one_snapshot_while_writes_go_on,
    list_exact_resource_version_returns_old_state,
    field_selector_on_pod_node_name,
);

const CONFIGMAPS: &str = "/api/v1/namespaces/l/configmaps";

fn namespace(api: &Api) {
    api.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "l"}}))
        .expect(201);
}

fn create(api: &Api, name: &str, a: &str) -> Value {
    api.post(
        CONFIGMAPS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": a}}),
    )
    .expect(201)
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn paginated_list_is_one_snapshot_while_writes_go_on(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let originals: Vec<String> = (0..30).map(|i| format!("cm-{i:02}")).collect();
    for name in &originals {
        create(&api, name, "1");
    }
    let first = api.get(&format!("{CONFIGMAPS}?limit=10")).expect(200);
    assert_eq!(names(&first), originals[..10]);
    let rv = first["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    assert!(!rv.is_empty(), "{}", first["metadata"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 20, "{}", first["metadata"]);
    let mut token = first["metadata"]["continue"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty(), "no continue token: {}", first["metadata"]);

    // Writes between the pages: new objects that sort into later pages, a deletion and an
    // update of objects not yet listed.
    create(&api, "cm-15a", "new");
    create(&api, "cm-99", "new");
    api.delete(&format!("{CONFIGMAPS}/cm-20")).expect(200);
    api.patch(&format!("{CONFIGMAPS}/cm-25"), MERGE_PATCH, &json!({"data": {"a": "changed"}})).expect(200);

    let mut all = names(&first);
    let mut pages = 1;
    while !token.is_empty() {
        let page = api.get(&format!("{CONFIGMAPS}?limit=10&continue={}", common::query_escape(&token))).expect(200);
        assert_eq!(
            page["metadata"]["resourceVersion"],
            json!(rv),
            "a later page is not from the first page's snapshot: {}",
            page["metadata"]
        );
        for item in page["items"].as_array().expect("items") {
            if item["metadata"]["name"] == "cm-25" {
                assert_eq!(item["data"]["a"], "1", "a later page shows a change made after the first: {item}");
            }
        }
        all.extend(names(&page));
        token = page["metadata"]["continue"].as_str().unwrap_or_default().to_string();
        pages += 1;
        assert!(pages <= 4, "more pages than 30 objects make: {all:?}");
    }
    assert_eq!(all, originals, "the pages together are not the first page's snapshot");

    // A fresh list sees the writes.
    let now = names(&api.get(CONFIGMAPS).expect(200));
    assert!(
        now.contains(&"cm-15a".to_string())
            && now.contains(&"cm-99".to_string())
            && !now.contains(&"cm-20".to_string()),
        "{now:?}"
    );
}

fn list_at_resource_version_zero_answers_from_cache(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let created = create(&api, "x", "1");
    let rv: u64 =
        created["metadata"]["resourceVersion"].as_str().and_then(|r| r.parse().ok()).expect("resourceVersion");
    // Any state is allowed with resourceVersion=0; the cache soon has the write.
    let list = api.eventually("a resourceVersion=0 list to show the created object", || {
        let list = api.get(&format!("{CONFIGMAPS}?resourceVersion=0")).expect(200);
        names(&list).contains(&"x".to_string()).then_some(list)
    });
    assert_eq!((&list["kind"], &list["apiVersion"]), (&json!("ConfigMapList"), &json!("v1")), "{list}");
    let list_rv: u64 =
        list["metadata"]["resourceVersion"].as_str().and_then(|r| r.parse().ok()).expect("list resourceVersion");
    assert!(list_rv >= rv, "list at {list_rv} shows an object written at {rv}");
    // resourceVersion=0 with NotOlderThan is the same.
    api.get(&format!("{CONFIGMAPS}?resourceVersion=0&resourceVersionMatch=NotOlderThan")).expect(200);
    // ValidateListOptions (422 Invalid ListOptions): Exact=0, and a match without a version.
    let status = api.get(&format!("{CONFIGMAPS}?resourceVersion=0&resourceVersionMatch=Exact")).expect(422);
    assert_eq!(
        status["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        "{status}"
    );
    let status = api.get(&format!("{CONFIGMAPS}?resourceVersionMatch=NotOlderThan")).expect(422);
    assert_eq!(
        status["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        "{status}"
    );
}

fn list_exact_resource_version_returns_old_state(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    create(&api, "x", "1");
    let at = create(&api, "y", "1")["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    api.patch(&format!("{CONFIGMAPS}/x"), MERGE_PATCH, &json!({"data": {"a": "2"}})).expect(200);
    api.delete(&format!("{CONFIGMAPS}/y")).expect(200);
    create(&api, "z", "1");

    let old = api.get(&format!("{CONFIGMAPS}?resourceVersion={at}&resourceVersionMatch=Exact")).expect(200);
    assert_eq!(old["metadata"]["resourceVersion"], json!(at), "{}", old["metadata"]);
    assert_eq!(names(&old), ["x", "y"]);
    assert_eq!(old["items"][0]["data"]["a"], "1", "{old}");
    // Paginated at that revision too.
    let page = api.get(&format!("{CONFIGMAPS}?resourceVersion={at}&resourceVersionMatch=Exact&limit=1")).expect(200);
    assert_eq!(names(&page), ["x"]);
    let token = page["metadata"]["continue"].as_str().unwrap_or_default().to_string();
    let rest = api.get(&format!("{CONFIGMAPS}?limit=1&continue={}", common::query_escape(&token))).expect(200);
    assert_eq!(names(&rest), ["y"]);
    assert_eq!(rest["metadata"]["resourceVersion"], json!(at));

    let now = api.get(CONFIGMAPS).expect(200);
    assert_eq!(names(&now), ["x", "z"]);
    assert_eq!(now["items"][0]["data"]["a"], "2");
}

fn invalid_continue_token_is_bad_request(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    create(&api, "x", "1");
    create(&api, "y", "1");
    // A continue token with a resourceVersion is refused.
    let page = api.get(&format!("{CONFIGMAPS}?limit=1")).expect(200);
    let token = page["metadata"]["continue"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty(), "{page}");
    let status = api
        .get(&format!("{CONFIGMAPS}?limit=1&resourceVersion=1&continue={}", common::query_escape(&token)))
        .expect(400);
    assert_eq!(status["message"], "specifying resource version is not allowed when using continue", "{status}");
    // Tokens that do not decode, or name a key outside the list.
    for token in ["garbage", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiLi4vLi4ifQ"] {
        let r = api.get(&format!("{CONFIGMAPS}?limit=1&continue={token}"));
        let status = r.expect(400);
        assert_eq!(status["reason"], "BadRequest", "{status}");
        let message = status["message"].as_str().unwrap_or_default();
        // storage.ValidateListOptions: apierrors.NewBadRequest("invalid continue token: " + DecodeContinue's error).
        assert!(
            message.starts_with("invalid continue token: continue key is not valid"),
            "continue={token}: {message}"
        );
    }
}

fn field_selector_on_pod_node_name(k: &Kubectl) {
    let api = Api::new(k.cluster);
    namespace(&api);
    let pod = |name: &str, node: Option<&str>| {
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
        if let Some(n) = node {
            spec["nodeName"] = json!(n);
        }
        api.post(
            "/api/v1/namespaces/l/pods",
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}),
        )
        .expect(201);
    };
    pod("on-n1", Some("n1"));
    pod("also-n1", Some("n1"));
    pod("on-n2", Some("n2"));
    pod("pending", None);
    let list = |selector: &str| {
        let mut n = names(
            &api.get(&format!("/api/v1/namespaces/l/pods?fieldSelector={}", common::query_escape(selector)))
                .expect(200),
        );
        n.sort();
        n
    };
    assert_eq!(list("spec.nodeName=n1"), ["also-n1", "on-n1"]);
    assert_eq!(list("spec.nodeName=n2"), ["on-n2"]);
    assert_eq!(list("spec.nodeName="), ["pending"]);
    assert_eq!(list("spec.nodeName!=n1"), ["on-n2", "pending"]);
    assert_eq!(list("spec.nodeName=n1,metadata.name=on-n1"), ["on-n1"]);
    // Across namespaces too (the kubelet's list).
    let all = names(&api.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn2").expect(200));
    assert_eq!(all, ["on-n2"]);
    // A field pods are not selectable by is refused.
    let status = api.get("/api/v1/namespaces/l/pods?fieldSelector=spec.foo%3Dx").expect(400);
    assert_eq!(status["message"], "field label not supported: spec.foo", "{status}");
}
