//! Watches that record when each Exposure and its children first existed, observed, were Ready.

use super::*;

/// What the watches saw, per Exposure: when it and its children first existed, when its status
/// first observed its generation, when it was first Ready, when its Deployment was available.
#[derive(Default)]
pub(crate) struct Tracker {
    pub(crate) expected: HashMap<(String, String), usize>,
    pub(crate) seen: HashSet<(String, String)>,
    pub(crate) remaining: Vec<u32>,
    pub(crate) names: HashMap<String, usize>,
    pub(crate) children_at: Vec<Option<Instant>>,
    pub(crate) exposure_at: Vec<Option<Instant>>,
    pub(crate) observed_at: Vec<Option<Instant>>,
    pub(crate) ready_at: Vec<Option<Instant>>,
    pub(crate) available_at: Vec<Option<Instant>>,
    pub(crate) children_done: usize,
    pub(crate) exposures_seen: usize,
    pub(crate) observed: usize,
    pub(crate) ready: usize,
    pub(crate) available: usize,
    /// children and status observed (operator phase)
    pub(crate) op_converged: usize,
    /// children and the Exposure itself (raw+ phase)
    pub(crate) plus_converged: usize,
    pub(crate) deployments: usize,
}

pub(crate) type Shared = Arc<Mutex<Tracker>>;

impl Tracker {
    pub(crate) fn new(work: &Workload) -> Tracker {
        let n = work.exposures.len();
        let mut t = Tracker {
            remaining: vec![0; n],
            children_at: vec![None; n],
            exposure_at: vec![None; n],
            observed_at: vec![None; n],
            ready_at: vec![None; n],
            available_at: vec![None; n],
            ..Tracker::default()
        };
        for (i, e) in work.exposures.iter().enumerate() {
            t.names
                .insert(e["metadata"]["name"].as_str().unwrap_or("").to_string(), i);
        }
        for (i, child) in &work.children {
            let key = (
                child["kind"].as_str().unwrap_or("").to_string(),
                child["metadata"]["name"].as_str().unwrap_or("").to_string(),
            );
            if key.0 == "Deployment" {
                t.deployments += 1;
            }
            if t.expected.insert(key, *i).is_none() {
                t.remaining[*i] += 1;
            }
        }
        t
    }

    pub(crate) fn n(&self) -> usize {
        self.remaining.len()
    }

    pub(crate) fn child(&mut self, kind: &str, name: &str, at: Instant) {
        let key = (kind.to_string(), name.to_string());
        let Some(&i) = self.expected.get(&key) else {
            return;
        };
        if !self.seen.insert(key) {
            return;
        }
        self.remaining[i] -= 1;
        if self.remaining[i] == 0 {
            self.children_at[i] = Some(at);
            self.children_done += 1;
            if self.observed_at[i].is_some() {
                self.op_converged += 1;
            }
            if self.exposure_at[i].is_some() {
                self.plus_converged += 1;
            }
        }
    }

    pub(crate) fn exposure(&mut self, e: &Exposure, at: Instant) {
        let Some(&i) = e.metadata.name.as_ref().and_then(|n| self.names.get(n)) else {
            return;
        };
        if self.exposure_at[i].is_none() {
            self.exposure_at[i] = Some(at);
            self.exposures_seen += 1;
            if self.children_at[i].is_some() {
                self.plus_converged += 1;
            }
        }
        let observed = e.metadata.generation.is_some()
            && e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation;
        if observed && self.observed_at[i].is_none() {
            self.observed_at[i] = Some(at);
            self.observed += 1;
            if self.children_at[i].is_some() {
                self.op_converged += 1;
            }
        }
        if is_ready(e) && self.ready_at[i].is_none() {
            self.ready_at[i] = Some(at);
            self.ready += 1;
        }
    }

    pub(crate) fn deployment(&mut self, d: &Deployment, at: Instant) {
        let Some(name) = d.metadata.name.as_ref() else {
            return;
        };
        let Some(&i) = self.expected.get(&("Deployment".to_string(), name.clone())) else {
            return;
        };
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.as_ref();
        let available = status.and_then(|s| s.available_replicas).unwrap_or(0) >= want
            && status.and_then(|s| s.observed_generation) >= d.metadata.generation;
        if available && self.available_at[i].is_none() {
            self.available_at[i] = Some(at);
            self.available += 1;
        }
    }

    /// Seconds from `start` at which each Exposure got there (None: not yet), by `at`.
    pub(crate) fn times(
        &self,
        start: Instant,
        at: impl Fn(usize) -> Option<Instant>,
    ) -> Vec<Option<f64>> {
        (0..self.n())
            .map(|i| at(i).map(|t| t.saturating_duration_since(start).as_secs_f64()))
            .collect()
    }
}

/// Watches of one namespace feeding a [`Tracker`]; stopped on drop.
pub(crate) struct Watches {
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

impl Drop for Watches {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) fn log_watch_error(what: &str, e: &watcher::Error, count: &mut u32) {
    *count += 1;
    if *count <= 3 || count.is_power_of_two() {
        eprintln!("[bench] watch of {what} failed ({count} times): {e}");
    }
}

/// Starts the watches for the children's kinds, Exposures and Deployments (status) in `ns`, and
/// returns once each has listed.
pub(crate) async fn watch(
    client: &Client,
    ns: &str,
    work: &Workload,
    tracker: &Shared,
) -> Result<Watches> {
    let synced = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    // Deployments: the whole object (availability); the other kinds: metadata only.
    for (api_version, kind) in &work.kinds {
        if kind == "Deployment" {
            continue;
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .with_context(|| format!("discovering {api_version} {kind}"))?;
        let api: Api<PartialObjectMeta<DynamicObject>> =
            Api::namespaced_with(client.clone(), ns, &resource);
        let (tracker, synced, kind) = (tracker.clone(), synced.clone(), kind.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        if let Some(name) = o.metadata.name.as_deref() {
                            tracker.lock().unwrap().child(&kind, name, at);
                        }
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error(&kind, &e, &mut errors),
                }
            }
        }));
    }
    {
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let (tracker, synced) = (tracker.clone(), synced.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) => {
                        let mut t = tracker.lock().unwrap();
                        if let Some(name) = d.metadata.name.as_deref() {
                            t.child("Deployment", name, at);
                        }
                        t.deployment(&d, at);
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error("Deployment", &e, &mut errors),
                }
            }
        }));
    }
    {
        let api: Api<Exposure> = Api::namespaced(client.clone(), ns);
        let (tracker, synced) = (tracker.clone(), synced.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => {
                        tracker.lock().unwrap().exposure(&e, at)
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error("Exposure", &e, &mut errors),
                }
            }
        }));
    }
    let watches = Watches { tasks };
    let want = watches.tasks.len();
    let started = Instant::now();
    while synced.load(Ordering::SeqCst) < want {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the watches of {ns} did not list within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(watches)
}

/// Waits (checking the tracker, not the API) until `done`; prints progress every 10 s. Returns
/// false on timeout.
pub(crate) async fn wait_for(
    tracker: &Shared,
    what: String,
    timeout: Duration,
    done: impl Fn(&Tracker) -> bool,
    progress: impl Fn(&Tracker) -> String,
) -> bool {
    let started = Instant::now();
    let mut next_report = Duration::from_secs(10);
    loop {
        {
            let t = tracker.lock().unwrap();
            if done(&t) {
                return true;
            }
            if started.elapsed() >= next_report {
                eprintln!(
                    "[bench]   … {what}: {:.0} s, {}",
                    started.elapsed().as_secs_f64(),
                    progress(&t)
                );
                next_report += Duration::from_secs(10);
            }
        }
        if started.elapsed() > timeout {
            eprintln!("[bench]   {what}: timed out after {timeout:?}");
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
