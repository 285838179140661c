//! The service account controller: every active namespace has a `default` ServiceAccount,
//! recreated when deleted.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use crate::Error;
use crate::controller_utils::pod::is_namespace_terminating_error;
use crate::controller_utils::run_workers;
use crate::informer::{Event, Informer};
use crate::manager::{Ctx, Started};
use crate::queue::WorkQueue;

const NAME: &str = "serviceaccount-controller";
const DEFAULT: &str = "default";

struct Controller {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    accounts: Arc<Informer<ServiceAccount>>,
}

pub(crate) fn start(ctx: &Ctx) -> Started {
    let queue = WorkQueue::new("serviceaccount");
    let namespaces = ctx.factory.informer::<Namespace>();
    let accounts = ctx.factory.informer::<ServiceAccount>();
    {
        let q = queue.clone();
        namespaces.add_handler(move |e| match e {
            Event::Added(ns) | Event::Updated { new: ns, .. } => q.add(ns.metadata.name.clone().unwrap_or_default()),
            Event::Deleted(_) => {}
        });
    }
    {
        let q = queue.clone();
        accounts.add_handler(move |e| {
            if let Event::Deleted(sa) = e
                && sa.metadata.name.as_deref() == Some(DEFAULT)
            {
                q.add(sa.metadata.namespace.clone().unwrap_or_default());
            }
        });
    }
    let c = Arc::new(Controller { client: ctx.client.clone(), namespaces, accounts });
    // Upstream runs one service account worker: creating a default account is rare and cheap.
    let workers = 1;
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
        if ns.metadata.deletion_timestamp.is_some()
            || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
        {
            return Ok(());
        }
        if self.accounts.get(Some(namespace), DEFAULT).is_some() {
            return Ok(());
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let sa = ServiceAccount {
            metadata: ObjectMeta { name: Some(DEFAULT.into()), ..Default::default() },
            ..Default::default()
        };
        match api.create(&PostParams::default(), &sa).await {
            Ok(_) => Ok(()),
            // Already there (our cache lags), or the namespace went away meanwhile.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => Ok(()),
            Err(e) if is_namespace_terminating_error(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
