//! Paginated lists: kubectl get --chunk-size, and limit/continue/remainingItemCount on the raw API
//! (continued pages are served from the first page's snapshot).

use crate::common;

use common::{Kubectl, query_escape, table};

scenarios!(embedded_kubectl_1_27, Embedded, V1_27:
    chunked_get_lists_every_object,
    limit_returns_continue_token_and_remaining_count,
);

scenarios!(embedded_kubectl_1_33, Embedded, V1_33:
    chunked_get_lists_every_object,
    limit_returns_continue_token_and_remaining_count,
);

scenarios!(etcd_kubectl_1_33, Etcd, V1_33:
    chunked_get_lists_every_object,
    limit_returns_continue_token_and_remaining_count,
);

const COUNT: usize = 25;

/// Creates configmaps page-01..page-25 in a new namespace `pages`.
fn create_configmaps<'a>(k: &Kubectl<'a>) -> (Kubectl<'a>, Vec<String>) {
    let k = k.in_new_namespace("pages");
    let names: Vec<String> = (1..=COUNT).map(|i| format!("page-{i:02}")).collect();
    for name in &names {
        k.ok(&["create", "configmap", name]);
    }
    (k, names)
}

fn item_names(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn chunked_get_lists_every_object(k: &Kubectl) {
    let (k, names) = create_configmaps(k);

    // The default output is a server-side table fetched in chunks; its header comes once.
    let rows = table(&k.ok(&["get", "configmaps", "--chunk-size=7"]));
    assert_eq!(rows.iter().filter(|r| r[0] == "NAME").count(), 1, "{rows:?}");
    let listed: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(listed, names);

    let expected: Vec<String> = names.iter().map(|n| format!("configmap/{n}")).collect();
    assert_eq!(k.names(&["configmaps", "--chunk-size=7"]), expected);
    assert_eq!(k.names(&["configmaps", "--chunk-size=1"]), expected);
}

fn limit_returns_continue_token_and_remaining_count(k: &Kubectl) {
    let (k, names) = create_configmaps(k);
    let path = "/api/v1/namespaces/pages/configmaps";

    let first = k.raw(&format!("{path}?limit=7"));
    assert_eq!(item_names(&first), names[..7]);
    let rv = first["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    assert!(!rv.is_empty(), "{}", first["metadata"]);
    assert_eq!(first["metadata"]["remainingItemCount"], COUNT - 7, "{}", first["metadata"]);
    let mut token = first["metadata"]["continue"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty(), "no continue token: {}", first["metadata"]);

    // Written after the first page: not in the continued pages (they read the first page's
    // revision), but in a new list.
    k.ok(&["create", "configmap", "page-26"]);

    let mut listed = item_names(&first);
    while !token.is_empty() {
        let page = k.raw(&format!("{path}?limit=7&continue={}", query_escape(&token)));
        let meta = &page["metadata"];
        assert_eq!(meta["resourceVersion"], rv.as_str(), "a continued page is read at the first page's revision");
        listed.extend(item_names(&page));
        token = meta["continue"].as_str().unwrap_or_default().to_string();
        if token.is_empty() {
            assert!(meta.get("remainingItemCount").is_none(), "last page: {meta}");
        } else {
            assert_eq!(meta["remainingItemCount"], COUNT - listed.len(), "{meta}");
        }
    }
    assert_eq!(listed, names);

    let mut now = names.clone();
    now.push("page-26".into());
    let all = k.raw(path);
    assert_eq!(item_names(&all), now);
    assert!(all["metadata"].get("continue").is_none_or(|c| c == ""), "{}", all["metadata"]);
}
