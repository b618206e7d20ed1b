//! `exposure-operator run`: watches Exposures and their children and reconciles them.

pub mod api_health;
pub mod apply;
pub mod cached_exposure;
pub mod caches;
pub mod child_index;
pub mod compact;
pub mod config;
pub mod context;
pub mod discovery;
pub mod error;
pub mod event_series;
pub mod execute;
pub mod fence;
pub mod gateway_api;
pub mod http;
pub mod index;
pub mod lanes;
pub mod metrics;
pub mod own_writes;
pub mod reconcile;
pub mod resync;
pub mod snapshot;
pub mod status_pacing;
pub mod sweep;
pub mod watch_backoff;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exposure_crd::{labels, Exposure};
use futures::{Stream, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{
    ConfigMap, Node, NodeStatus, PersistentVolume, PersistentVolumeSpec, Pod, Secret,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ObjectMeta;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use tokio::sync::watch;

use crate::build::ConfigSource;
use crate::cluster::{ClusterInfo, Feature, KubeVersion};
use cached_exposure::{key_of, CachedExposure, ExposureRef};
use caches::synced;
use child_index::{ChildIndex, Indexed};
use compact::Compact;
pub use config::OperatorConfig;
use context::{ChildStores, ClusterStores, Context, StoreFactory, Stores, Watched};
pub use error::Error;
use index::ExposureIndex;
use metrics::Metrics;

/// Objects per page of a watch's initial list. A page is parsed whole, typed, before its objects
/// are compacted into the cache: kube's 500 made a start over thousands of Exposures peak at
/// several MiB per watch at once (a typed Deployment is about 11 KiB). A few more list requests
/// at start-up cost the API server less than the operator's peak costs the node.
const LIST_PAGE_SIZE: u32 = 100;

/// How every watch lists and watches (then narrowed by a selector where it has one).
fn list_watch() -> watcher::Config {
    watcher::Config::default().page_size(LIST_PAGE_SIZE)
}

/// Children selector: only our objects are cached.
fn managed_selector() -> String {
    format!("{}={}", labels::MANAGED_BY, labels::MANAGER)
}

/// Reads the cluster version (or the configured stand-in) and whether the Gateway API is
/// served, once.
pub async fn cluster_info(client: &Client, config: &OperatorConfig) -> anyhow::Result<ClusterInfo> {
    let gateway_api = gateway_api::served(client).await;
    if let Some(v) = config.assume_kubernetes_version {
        return Ok(ClusterInfo::new(v).with_gateway_api(gateway_api));
    }
    let info = client.apiserver_version().await?;
    let version = KubeVersion::from_server(&info.major, &info.minor).ok_or_else(|| {
        anyhow::anyhow!(
            "cannot read the API server version {}.{}",
            info.major,
            info.minor
        )
    })?;
    Ok(ClusterInfo::new(version).with_gateway_api(gateway_api))
}

/// Fails with a clear message when the Exposure CRD is not installed.
pub async fn check_crd(client: &Client, config: &OperatorConfig) -> anyhow::Result<()> {
    let api: Api<Exposure> = match config.namespaces.first() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Err(anyhow::anyhow!(
            "the Exposure CRD (exposures.exposure.dev) is not installed; run `exposure-operator crd | kubectl apply -f -` \
             or start with `exposure-operator run --install-crd`"
        )),
        Err(e) => Err(e.into()),
    }
}

/// Installs or updates the CRD with server-side apply: the one this cluster takes (its CEL
/// rules only where the API server enforces them).
pub async fn install_crd(client: &Client, cluster: &ClusterInfo) -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = cluster.crd();
    let name = crd.metadata.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await?;
    // Wait until the API serves the new type.
    for _ in 0..50 {
        let established = api
            .get(&name)
            .await?
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(anyhow::anyhow!(
        "CRD {name} was applied but did not become Established"
    ))
}

fn scoped_api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A reflector over `api` with `cfg`: the store, and the stream of touched objects that keeps
/// it current and triggers reconciles.
fn reflect<K>(
    api: Api<K>,
    cfg: watcher::Config,
    prune: fn(&mut K),
) -> (
    Indexed<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Watched,
{
    let (store, writer) = reflector::store();
    let index = Arc::new(ChildIndex::default());
    let stream = watcher(api, cfg)
        .modify(prune)
        .backoff(watch_backoff::watch_backoff())
        .inspect_ok(keep(writer, index.clone()))
        .touched_objects();
    (
        Indexed { store, index },
        watch_backoff::log_and_drop_errors(K::kind(&()), stream),
    )
}

/// Whether the operator watches children of `kind` on this cluster. One API for a
/// selector-less Service's addresses: EndpointSlices do not exist before 1.21, and from 1.33
/// every request to v1 Endpoints draws a deprecation warning (legacy ones are found through
/// `status.resources`, see `execute`).
/// HTTPRoutes are watched once the Gateway API is served (see `ScopeStores::namespaced`).
/// A kind served under two API versions is watched under the one this cluster has (by its
/// version; `discovery` says whether it really serves it).
fn served(cluster: &ClusterInfo, kind: &str, version: &str) -> bool {
    let slices = cluster.supports(Feature::EndpointSlice);
    match (kind, version) {
        ("Endpoints", _) => !slices,
        ("EndpointSlice", _) => slices,
        ("HTTPRoute", _) => cluster.gateway_api,
        ("PodDisruptionBudget", "v1") => cluster.supports(Feature::PodDisruptionBudgetV1),
        ("PodDisruptionBudget", _) => !cluster.supports(Feature::PodDisruptionBudgetV1),
        ("HorizontalPodAutoscaler", "v2") => cluster.supports(Feature::AutoscalingV2),
        ("HorizontalPodAutoscaler", _) => !cluster.supports(Feature::AutoscalingV2),
        _ => true,
    }
}

/// A cache with nothing to watch (a kind the cluster lacks, or one the operator may not read):
/// empty, and synced from the start so that reconciles do not wait for it.
fn synced_empty_store<K>() -> Indexed<K>
where
    K: Resource<DynamicType = ()> + 'static,
{
    let (store, mut writer) = reflector::store::<Compact<K>>();
    writer.apply_watcher_event(&watcher::Event::Init);
    writer.apply_watcher_event(&watcher::Event::InitDone);
    Indexed {
        store,
        index: Arc::default(),
    }
}

/// What a watch does with each event besides waking Exposures: files the object in the index
/// and keeps it, compacted, in the cache.
fn keep<K: Watched>(
    mut writer: reflector::store::Writer<Compact<K>>,
    index: Arc<ChildIndex>,
) -> impl FnMut(&watcher::Event<K>) {
    let cache = writer.as_reader();
    move |event| {
        index.observe(event, &cache);
        if let Some(compacted) = compact::event(event) {
            writer.apply_watcher_event(&compacted);
        }
    }
}

/// Makes the caches of one watch scope: each namespaced child kind watched (label-selected) in
/// the scope, its events mapped to the Exposure they wake up; the cluster-scoped StorageClass
/// cache is the one shared by every scope.
struct ScopeStores<'a> {
    client: &'a Client,
    /// Kinds the cluster does not serve, or deprecates, get an empty cache instead of a watch.
    cluster: &'a ClusterInfo,
    namespace: Option<&'a str>,
    selector: watcher::Config,
    triggers: Vec<futures::stream::BoxStream<'static, ExposureRef>>,
    storage_classes: Indexed<StorageClass>,
    gateway_api: Arc<gateway_api::GatewayApi>,
    /// The child kinds the API server serves.
    discovered: &'a HashSet<crate::build::ChildKind>,
}

impl ScopeStores<'_> {
    fn watch<K>(&mut self, cfg: watcher::Config, prune: fn(&mut K)) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let (store, stream) = reflect(scoped_api::<K>(self.client, self.namespace), cfg, prune);
        // Watch errors are retried by the backoff; a trigger only needs the mapped object.
        self.triggers.push(
            stream
                .filter_map(|r| async move { r.ok().and_then(to_exposure) })
                .boxed(),
        );
        store
    }

    /// Every ConfigMap or Secret of the scope, reduced by `keep` to its digest; a change wakes
    /// the Exposures that mount it. Disabled: an empty, synced cache.
    fn config<K>(
        &mut self,
        enabled: bool,
        keep: fn(&mut K),
        exposures: &Store<CachedExposure>,
        source: fn(&K) -> ConfigSource,
    ) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        if !enabled {
            return synced_empty_store();
        }
        let (store, stream) = reflect(
            scoped_api::<K>(self.client, self.namespace),
            list_watch(),
            keep,
        );
        let exposures = exposures.clone();
        self.triggers.push(
            stream
                .flat_map(move |changed| {
                    let refs = match changed {
                        Ok(object) => {
                            let namespace = object.meta().namespace.clone().unwrap_or_default();
                            mounting(&exposures, &source(&object), &namespace)
                        }
                        Err(_) => Vec::new(),
                    };
                    futures::stream::iter(refs)
                })
                .boxed(),
        );
        store
    }

    /// A watch that starts once the Gateway API is served: until then the cache is empty and
    /// counts as synced (reconciles do not wait for it; they GET what they need), then it
    /// lists and watches like any other.
    fn watch_once_served<K>(&mut self, cfg: watcher::Config) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let (store, mut writer) = reflector::store::<Compact<K>>();
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let index = Arc::new(ChildIndex::default());
        let feed = index.clone();
        let api = scoped_api::<K>(self.client, self.namespace);
        let (client, gateway_api) = (self.client.clone(), self.gateway_api.clone());
        let trigger = futures::stream::once(async move {
            gateway_api.wait_until_served(&client).await;
            (writer, api, cfg)
        })
        .flat_map(move |(writer, api, cfg)| {
            watcher(api, cfg)
                .modify(drop_managed_fields)
                .backoff(watch_backoff::watch_backoff())
                .inspect_ok(keep(writer, feed.clone()))
                .touched_objects()
                .filter_map(|r| async move { r.ok().and_then(to_exposure) })
        });
        self.triggers.push(trigger.boxed());
        Indexed { store, index }
    }
}

impl StoreFactory for ScopeStores<'_> {
    fn namespaced<K>(&mut self) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        if K::kind(&()) == "HTTPRoute" && !self.cluster.gateway_api {
            let selector = self.selector.clone();
            return self.watch_once_served(selector);
        }
        let discovered = self
            .discovered
            .iter()
            .any(|c| c.as_str() == K::kind(&()) && c.api_version() == K::api_version(&()));
        if !served(self.cluster, &K::kind(&()), &K::version(&())) || !discovered {
            return synced_empty_store();
        }
        let selector = match K::kind(&()).as_ref() {
            // The EndpointSlice controllers copy a Service's labels onto the slices they make
            // for it: only the operator's own slices (spec.endpoints) are of interest.
            "EndpointSlice" => self.selector.clone().labels(&format!(
                "{},{}={}",
                managed_selector(),
                labels::ENDPOINT_SLICE_MANAGED_BY,
                labels::ENDPOINT_SLICE_MANAGER
            )),
            _ => self.selector.clone(),
        };
        self.watch(selector, drop_managed_fields)
    }

    fn cluster<K>(&mut self) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::ClusterResourceScope>,
    {
        // The one cluster-scoped kind is shared (a watch for each scope would multiply it).
        let shared: &dyn std::any::Any = &self.storage_classes;
        match shared.downcast_ref::<Indexed<K>>() {
            Some(store) => store.clone(),
            None => {
                let (store, stream) = reflect(
                    Api::<K>::all(self.client.clone()),
                    self.selector.clone(),
                    drop_managed_fields,
                );
                tokio::spawn(stream.for_each(|_| async {}));
                store
            }
        }
    }
}

/// managedFields are often the largest part of an object and nothing here reads them: keep
/// them out of the caches.
fn drop_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

/// Pods feed status only, which reads their metadata (name, labels, deletion) and status: the
/// spec (the whole pod template: env, volumes, probes, up to megabytes per pod) stays out of the
/// cache, as do annotations.
fn keep_pod_status(pod: &mut Pod) {
    drop_managed_fields(pod);
    pod.spec = None;
    pod.metadata.annotations = None;
    pod.metadata.owner_references = None;
    if let Some(status) = pod.status.as_mut() {
        // Addresses, times and QoS class: never read.
        status.pod_ips = None;
        status.pod_ip = None;
        status.host_ips = None;
        status.host_ip = None;
        status.start_time = None;
        status.qos_class = None;
        for container in status
            .container_statuses
            .iter_mut()
            .chain(status.init_container_statuses.iter_mut())
            .flatten()
        {
            container.image_id = String::new();
            container.container_id = None;
        }
    }
}

/// PersistentVolumes tell only which StorageClass they come from (the StorageClass rules) and
/// which claim holds them: the rest of their spec stays out of the cache.
fn keep_volume_class(pv: &mut PersistentVolume) {
    drop_managed_fields(pv);
    pv.metadata.annotations = None;
    pv.metadata.labels = None;
    pv.status = None;
    pv.spec = pv.spec.take().map(|spec| PersistentVolumeSpec {
        storage_class_name: spec.storage_class_name,
        claim_ref: spec.claim_ref,
        ..PersistentVolumeSpec::default()
    });
}

/// Nodes give status a NodePort address and nothing else: their spec, and the image lists and
/// conditions of their status, stay out of the cache.
fn keep_node_addresses(node: &mut Node) {
    drop_managed_fields(node);
    node.metadata.annotations = None;
    node.spec = None;
    node.status = node.status.take().map(|status| NodeStatus {
        addresses: status.addresses,
        ..NodeStatus::default()
    });
}

/// Key under which a cached ConfigMap or Secret holds the digest of its data, in place of the
/// data (`string_data` for a Secret, so that no value of it is kept).
pub const DIGEST_KEY: &str = "exposure.dev/digest";

/// ConfigMaps feed the configuration hash only: the digest of their data is kept, nothing else
/// but their name (a large ConfigMap costs a few bytes).
fn keep_config_map_digest(config_map: &mut ConfigMap) {
    let digest = crate::build::config_map_digest(config_map);
    config_map.metadata = slim_meta(&config_map.metadata);
    config_map.binary_data = None;
    config_map.data = Some(BTreeMap::from([(DIGEST_KEY.to_owned(), digest)]));
}

/// Secrets likewise: the digest of their data, never a value.
fn keep_secret_digest(secret: &mut Secret) {
    let digest = crate::build::secret_digest(secret);
    secret.metadata = slim_meta(&secret.metadata);
    secret.data = None;
    secret.type_ = None;
    secret.string_data = Some(BTreeMap::from([(DIGEST_KEY.to_owned(), digest)]));
}

fn slim_meta(meta: &ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..ObjectMeta::default()
    }
}

/// The Exposures of `exposures` whose `spec.config` mounts this ConfigMap or Secret.
fn mounting(
    exposures: &Store<CachedExposure>,
    source: &ConfigSource,
    namespace: &str,
) -> Vec<ExposureRef> {
    exposures
        .state()
        .iter()
        .filter(|e| e.meta().namespace.as_deref() == Some(namespace) && e.mounts(source))
        .map(|e| key_of(e.as_ref()))
        .collect()
}

/// Maps a child to the Exposure it belongs to (`child_index::owner`: by label, else by its
/// controller ownerReference, so that a child whose `exposure.dev/name` label was removed by hand
/// still wakes its Exposure up, which then reports the object as not ours).
fn to_exposure<K: Resource>(obj: K) -> Option<ExposureRef> {
    let (namespace, name) = child_index::owner(obj.meta())?;
    Some(ObjectRef::new(&name).within(&namespace))
}

/// Runs until `shutdown` fires: one controller per watch scope (all namespaces, or each
/// `--namespace`), sharing the cluster-wide caches. With `fence` (leader election) every write
/// first checks that the Lease is still ours.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    cluster: ClusterInfo,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    fence: Option<Arc<fence::LeaseFence>>,
) -> anyhow::Result<()> {
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    let managed = list_watch().labels(&managed_selector());

    // With StorageClasses disabled the operator has no StorageClass permission (the chart grants
    // none): no watch, an empty cache that counts as synced.
    let (storage_classes, sc_stream) = if config.storage_classes_enabled {
        let (store, stream) = reflect(
            Api::<StorageClass>::all(client.clone()),
            managed.clone(),
            drop_managed_fields,
        );
        (store, stream.boxed())
    } else {
        (synced_empty_store(), futures::stream::empty().boxed())
    };
    let (persistent_volumes, pv_stream) = reflect(
        Api::<PersistentVolume>::all(client.clone()),
        list_watch(),
        keep_volume_class,
    );
    let (nodes, node_stream) = reflect(
        Api::<Node>::all(client.clone()),
        list_watch(),
        keep_node_addresses,
    );
    let cluster_stores = ClusterStores {
        persistent_volumes: persistent_volumes.clone(),
        nodes: Some(nodes),
    };
    // PVs and Nodes only feed status and the sweep; keep their reflectors running.
    tokio::spawn(pv_stream.for_each(|_| async {}));
    tokio::spawn(node_stream.for_each(|_| async {}));
    tokio::spawn(async {
        let mut every = tokio::time::interval(crate::allocator::TRIM_INTERVAL);
        loop {
            every.tick().await;
            let _ = tokio::task::spawn_blocking(crate::allocator::release_free_memory).await;
        }
    });

    struct Scope {
        namespace: Option<String>,
        stores: Stores,
        triggers: Vec<futures::stream::BoxStream<'static, ExposureRef>>,
        exposure_stream:
            futures::stream::BoxStream<'static, Result<CachedExposure, watcher::Error>>,
    }
    let index = Arc::new(ExposureIndex::default());
    let own_writes = Arc::new(own_writes::OwnWrites::default());
    let gateway_api = Arc::new(gateway_api::GatewayApi::new(cluster.gateway_api));
    let discovered = discovery::served_kinds(&client).await;
    let mut scoped = Vec::new();
    for (scope_id, namespace) in scopes.into_iter().enumerate() {
        let ns = namespace.as_deref();
        let (exposures, exposure_writer) = reflector::store();
        let (feed, gauge_metrics) = (index.clone(), metrics.clone());
        let exposure_stream = watcher(scoped_api::<Exposure>(&client, ns), list_watch())
            .modify(drop_managed_fields)
            .backoff(watch_backoff::watch_backoff())
            .inspect_ok(move |event| {
                feed.observe(scope_id, event);
                let (ready, not_ready, unknown) = feed.ready_counts();
                gauge_metrics.set_exposures("True", ready);
                gauge_metrics.set_exposures("False", not_ready);
                gauge_metrics.set_exposures("Unknown", unknown);
            })
            // The typed Exposure goes no further: the cache and the controller get it compacted.
            .try_filter_map(|event| {
                futures::future::ready(Ok(compact::map_event(&event, CachedExposure::new)))
            })
            .reflect(exposure_writer)
            .inspect_ok({
                let own = own_writes.clone();
                move |event| own.observe(event)
            })
            .applied_objects()
            // The echo of the operator's own write updated the cache above; it is not a trigger.
            .try_filter({
                let own = own_writes.clone();
                move |exposure| futures::future::ready(!own.is_echo(exposure))
            });
        let exposure_stream =
            watch_backoff::log_and_drop_errors("Exposure", exposure_stream).boxed();
        let mut factory = ScopeStores {
            client: &client,
            cluster: &cluster,
            namespace: ns,
            selector: managed.clone(),
            triggers: Vec::new(),
            storage_classes: storage_classes.clone(),
            gateway_api: gateway_api.clone(),
            discovered: &discovered,
        };
        let children = ChildStores::new(&mut factory);
        let pods = factory.watch::<Pod>(list_watch().labels(labels::NAME), keep_pod_status);
        let config_maps = factory.config::<ConfigMap>(
            config.watch_config_maps,
            keep_config_map_digest,
            &exposures,
            |cm| ConfigSource::ConfigMap(cm.metadata.name.clone().unwrap_or_default()),
        );
        let secrets =
            factory.config::<Secret>(config.watch_secrets, keep_secret_digest, &exposures, |s| {
                ConfigSource::Secret(s.metadata.name.clone().unwrap_or_default())
            });
        let triggers = factory.triggers;
        let stores = Stores {
            exposures,
            children,
            pods,
            config_maps,
            secrets,
        };
        scoped.push(Scope {
            namespace,
            stores,
            triggers,
            exposure_stream,
        });
    }
    let all_exposures: Vec<Store<CachedExposure>> =
        scoped.iter().map(|s| s.stores.exposures.clone()).collect();

    let events = Arc::new(event_series::Publisher::new(
        client.clone(),
        event_series::Reporter {
            controller: labels::MANAGER.to_string(),
            instance: config.instance.clone(),
        },
    ));
    tokio::spawn(sc_stream.for_each(|_| async {}));
    let mut tasks = Vec::new();
    for scope in scoped {
        let Scope {
            namespace,
            stores,
            triggers,
            exposure_stream,
        } = scope;
        let ctx = Arc::new(Context {
            client: client.clone(),
            config: config.clone(),
            cluster: cluster.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
            stores: stores.clone(),
            cluster_stores: cluster_stores.clone(),
            all_exposures: all_exposures.clone(),
            index: index.clone(),
            gateway_api: gateway_api.clone(),
            failures: Mutex::new(HashMap::new()),
            fence: fence.clone(),
            lanes: lanes::Lanes::new(config.concurrency),
            pacing: Mutex::new(HashMap::new()),
            own_writes: own_writes.clone(),
        });
        let mut controller = Controller::for_stream(exposure_stream, stores.exposures.clone())
            // Unbounded here: the reconcile lanes (`lanes.rs`) limit how many run at once.
            .with_config(ControllerConfig::default().concurrency(0));
        let mut triggers = triggers;
        triggers.push(resync::resyncs(stores.exposures.clone(), config.resync).boxed());
        controller = controller.reconcile_on(futures::stream::select_all(triggers));
        // StorageClasses are cluster-scoped: each scope triggers on those of its namespaces.
        if config.storage_classes_enabled {
            let sc_trigger = watcher(Api::<StorageClass>::all(client.clone()), managed.clone())
                .backoff(watch_backoff::watch_backoff())
                .touched_objects();
            let sc_trigger = watch_backoff::log_and_drop_errors("StorageClass", sc_trigger);
            controller = controller.watches_stream(sc_trigger, move |sc: StorageClass| {
                let l = sc.metadata.labels.as_ref()?;
                let (ns, name) = (l.get(labels::NAMESPACE)?, l.get(labels::NAME)?);
                (namespace.is_none() || namespace.as_deref() == Some(ns.as_str()))
                    .then(|| ObjectRef::new(name).within(ns))
            });
        }
        let mut stop = shutdown.clone();
        let controller = controller.graceful_shutdown_on(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        let run_ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            controller
                .run(reconcile::reconcile, reconcile::error_policy, run_ctx)
                .for_each(|result| async move {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "controller event");
                    }
                })
                .await;
        }));
        tasks.push(tokio::spawn(sweep::sweep_loop(ctx, shutdown.clone())));
    }

    // Ready once every cache has its initial list.
    let ready_metrics = metrics.clone();
    let all_stores = all_exposures.clone();
    tokio::spawn(async move {
        for s in &all_stores {
            synced(s).await;
        }
        persistent_volumes.synced().await;
        ready_metrics.set_ready(true);
        tracing::info!("caches synced; reconciling");
        // The initial lists are parsed and compacted: their pages are free now, not in 10 s.
        let _ = tokio::task::spawn_blocking(crate::allocator::release_free_memory).await;
    });

    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}
