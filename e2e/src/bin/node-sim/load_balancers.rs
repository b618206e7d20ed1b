//! The cloud load balancer and the ingress controller: addresses from 198.51.100.0/24.

use super::*;

fn lb_ip(idx: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, idx as u8)
}

impl SimState {
    fn alloc_lb_ip(&mut self, uid: &str) -> Ipv4Addr {
        if let Some(idx) = self.lb_ips.get(uid) {
            return lb_ip(*idx);
        }
        for _ in 0..300 {
            self.next_lb_ip = if self.next_lb_ip >= 250 {
                10
            } else {
                self.next_lb_ip.max(9) + 1
            };
            let idx = self.next_lb_ip;
            if !self.used_lb_ips.contains(&idx) {
                self.lb_ips.insert(uid.to_string(), idx);
                self.used_lb_ips.insert(idx);
                return lb_ip(idx);
            }
        }
        // Pool exhausted (more than 240 load balancers): share addresses.
        lb_ip(10)
    }

    fn note_lb_ip(&mut self, uid: &str, ip: &str) {
        if let Ok(ip) = ip.parse::<Ipv4Addr>() {
            let o = ip.octets();
            if o[0] == 198 && o[1] == 51 && o[2] == 100 && !self.lb_ips.contains_key(uid) {
                self.lb_ips.insert(uid.to_string(), u32::from(o[3]));
                self.used_lb_ips.insert(u32::from(o[3]));
            }
        }
    }
}

impl Sim {
    pub(super) fn release_lb(&self, uid: &str) {
        let mut st = self.state.lock().unwrap();
        if let Some(idx) = st.lb_ips.remove(uid) {
            st.used_lb_ips.remove(&idx);
        }
    }

    pub(super) async fn handle_service(&self, svc: &Service) -> Result<()> {
        if svc.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let uid = svc.uid().unwrap_or_default();
        let ns = svc.namespace().unwrap_or_default();
        let api: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        let is_lb = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let ingress = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.clone())
            .unwrap_or_default();
        if let Some(ip) = ingress.first().and_then(|i| i.ip.as_deref()) {
            self.state.lock().unwrap().note_lb_ip(&uid, ip);
        }
        if is_lb && ingress.is_empty() {
            let requested = svc
                .spec
                .as_ref()
                .and_then(|s| s.load_balancer_ip.clone())
                .filter(|s| !s.is_empty());
            let ip = match requested {
                Some(ip) => ip,
                None => self.state.lock().unwrap().alloc_lb_ip(&uid).to_string(),
            };
            let patch = json!({ "status": { "loadBalancer": { "ingress": [{ "ip": ip }] } } });
            api.patch_status(
                &svc.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
            info!(service = %format!("{ns}/{}", svc.name_any()), %ip, "load balancer provisioned");
        } else if !is_lb && !ingress.is_empty() {
            let patch = json!({ "status": { "loadBalancer": { "ingress": null } } });
            api.patch_status(
                &svc.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
            self.release_lb(&uid);
            info!(service = %format!("{ns}/{}", svc.name_any()), "load balancer removed");
        }
        Ok(())
    }

    pub(super) async fn handle_ingress(&self, ing: &Ingress) -> Result<()> {
        if ing.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let uid = ing.uid().unwrap_or_default();
        let ns = ing.namespace().unwrap_or_default();
        let ingress = ing
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.clone())
            .unwrap_or_default();
        if let Some(ip) = ingress.first().and_then(|i| i.ip.as_deref()) {
            self.state.lock().unwrap().note_lb_ip(&uid, ip);
            return Ok(());
        }
        let ip = self.state.lock().unwrap().alloc_lb_ip(&uid).to_string();
        let api: Api<Ingress> = Api::namespaced(self.client.clone(), &ns);
        let patch = json!({ "status": { "loadBalancer": { "ingress": [{ "ip": ip }] } } });
        api.patch_status(
            &ing.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        info!(ingress = %format!("{ns}/{}", ing.name_any()), %ip, "ingress address assigned");
        Ok(())
    }
}
