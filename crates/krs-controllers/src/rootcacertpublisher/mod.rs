//! The root CA publisher: every namespace has the ConfigMap kube-root-ca.crt holding the
//! cluster's CA bundle, so pods can verify the API server.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use crate::Error;
use crate::controller_utils::pod::is_namespace_terminating_error;
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "root-ca-certificate-publisher-controller";
pub const CONFIGMAP: &str = "kube-root-ca.crt";
const DATA_KEY: &str = "ca.crt";
const DESCRIPTION_KEY: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

struct Controller {
    client: kube::Client,
    root_ca: String,
    namespaces: Arc<Informer<Namespace>>,
    configmaps: Arc<Informer<ConfigMap>>,
}

pub(crate) fn start(ctx: &Ctx, root_ca: String) -> Started {
    let queue = WorkQueue::new("root_ca_cert_publisher");
    let namespaces = ctx.factory.informer::<Namespace>();
    let configmaps = ctx.factory.informer::<ConfigMap>();
    {
        let q = queue.clone();
        namespaces.add_handler(move |e| match e {
            Event::Added(ns) => q.add(ns.metadata.name.clone().unwrap_or_default()),
            Event::Updated { old, new } if old.metadata.resource_version != new.metadata.resource_version => {
                q.add(new.metadata.name.clone().unwrap_or_default())
            }
            _ => {}
        });
    }
    {
        let q = queue.clone();
        configmaps.add_handler(move |e| {
            let cm = match e {
                Event::Updated { new, .. } => new,
                Event::Deleted(cm) => cm,
                Event::Added(_) => return,
            };
            if cm.metadata.name.as_deref() == Some(CONFIGMAP) {
                q.add(cm.metadata.namespace.clone().unwrap_or_default());
            }
        });
    }
    let c = Arc::new(Controller { client: ctx.client.clone(), root_ca, namespaces, configmaps });
    let workers = ctx.options.concurrent_serviceaccount_token_syncs.max(1);
    let q = queue.clone();
    Started {
        queues: vec![queue],
        run: Box::new(move || {
            run_workers(
                NAME,
                q,
                workers,
                Arc::new(move |key| {
                    let c = c.clone();
                    Box::pin(async move { c.sync(&key).await })
                }),
            )
        }),
    }
}

impl Controller {
    async fn sync(&self, namespace: &str) -> Result<(), Error> {
        let Some(ns) = self.namespaces.get(None, namespace) else { return Ok(()) };
        if ns.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let data = BTreeMap::from([(DATA_KEY.to_string(), self.root_ca.clone())]);
        let Some(existing) = self.configmaps.get(Some(namespace), CONFIGMAP) else {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(CONFIGMAP.into()),
                    annotations: Some(BTreeMap::from([(DESCRIPTION_KEY.to_string(), DESCRIPTION.to_string())])),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            return match api.create(&PostParams::default(), &cm).await {
                Ok(_) => Ok(()),
                // The namespace is gone or going: nothing to publish there.
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
                Err(e) if is_namespace_terminating_error(&e) => Ok(()),
                Err(e) => Err(e.into()),
            };
        };
        let annotated = existing.metadata.annotations.as_ref().and_then(|a| a.get(DESCRIPTION_KEY)).map(String::as_str)
            == Some(DESCRIPTION);
        if existing.data.as_ref() == Some(&data) && annotated {
            return Ok(());
        }
        let mut cm = (*existing).clone();
        cm.data = Some(data);
        cm.binary_data = None;
        cm.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(DESCRIPTION_KEY.into(), DESCRIPTION.into());
        match api.replace(CONFIGMAP, &PostParams::default(), &cm).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
