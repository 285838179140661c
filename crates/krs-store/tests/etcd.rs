//! The backend-agnostic suite against a real etcd (a fresh single member per test, started on
//! free loopback ports and killed when the test ends).

use std::sync::Arc;

use krs_store::etcd::testing::EtcdCluster;
use krs_store::etcd::{EtcdOptions, EtcdStore};
use krs_store::{Store, testsuite};

async fn open() -> (Arc<dyn Store>, EtcdCluster) {
    let cluster = EtcdCluster::start(1).await.expect("start etcd");
    let options = EtcdOptions { watch_queue_capacity: testsuite::MAX_WATCH_QUEUE, ..Default::default() };
    let store = EtcdStore::connect(&cluster.endpoints(), options).await.expect("connect to etcd");
    (Arc::new(store), cluster)
}

krs_store::store_suite!(open);
