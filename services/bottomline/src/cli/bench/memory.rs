//! `bottomline bench-memory`: resident memory of both write models (registry and employment)
//! holding N persons — the in-memory state a service keeps for its whole life, which is what
//! grows with the registry. Persons are generated (the demo's generator, in chunks), decided by
//! the registry's pure `decide` exactly as the service would (citizen ID parsed and hashed under a
//! key), applied, and each registry event turned into the employment context's registry fact
//! (through the same payload encoding and intake mapping as the bus) and applied there too. No
//! store, no gRPC: the figure isolates the write models.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use employment_domain::{EmploymentEvent, EmploymentState};
use registry::IdHashKey;
use registry_domain::{
    CitizenId, HouseholdId, MonitoringRules, RegistryCommand, RegistryEvent, RegistryState,
};
use serde::Serialize;

use crate::reference::ReferenceData;

/// Households generated per chunk (the generator's own memory stays small).
const CHUNK: usize = 5_000;

/// What the memory check measured.
#[derive(Debug, Serialize)]
pub struct MemoryReport {
    /// Which write models: `registry` or `registry+employment`.
    pub models: &'static str,
    /// Persons in the write models.
    pub persons: usize,
    /// Households in both write models.
    pub households: usize,
    /// Generated persons refused (a citizen ID drawn twice across chunks).
    pub refused: usize,
    /// Resident memory before, MiB.
    pub rss_before_mib: f64,
    /// Resident memory with both write models built, MiB.
    pub rss_after_mib: f64,
    /// Bytes per person, the write models together.
    pub bytes_per_person: f64,
    /// Seconds to build them.
    pub seconds: f64,
}

impl std::fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "write models       {}: {} persons, {} households ({} generated duplicates refused) in {:.1} s",
            self.models, self.persons, self.households, self.refused, self.seconds
        )?;
        writeln!(
            f,
            "resident memory    {:.1} MiB before, {:.1} MiB after: {:.0} bytes per person",
            self.rss_before_mib, self.rss_after_mib, self.bytes_per_person
        )
    }
}

/// Resident memory now (Linux `VmRSS`), MiB; 0 elsewhere.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Builds both write models (only the registry's with `registry_only`) with about `persons`
/// persons and measures them.
pub fn run(
    reference: &ReferenceData,
    persons: usize,
    seed: u64,
    today: NaiveDate,
    registry_only: bool,
) -> anyhow::Result<MemoryReport> {
    let key = IdHashKey::new(b"bench-memory-key-0123456789abcdef".to_vec())
        .map_err(anyhow::Error::msg)?;
    let rss_before_mib = rss_mib();
    let started = Instant::now();
    let mut registry = RegistryState::new(reference.catalog.clone(), MonitoringRules::default());
    let mut employment = EmploymentState::new(Arc::clone(&reference.policy));
    let (mut households, mut refused, mut chunk) = (0usize, 0usize, 0u64);
    let decide = |registry: &mut RegistryState,
                  employment: &mut EmploymentState,
                  command: RegistryCommand|
     -> anyhow::Result<bool> {
        let Ok(decision) = registry.decide(&command, today) else {
            return Ok(false);
        };
        for event in &decision.events {
            registry.apply(event);
            if !registry_only {
                learn(employment, event)?;
            }
        }
        Ok(true)
    };
    while registry.person_count() + refused < persons {
        let population = registry_import::generate(
            seed.wrapping_add(chunk),
            CHUNK,
            &reference.catalog,
            &reference.key_counties,
            today,
        );
        chunk += 1;
        for h in &population.households {
            let household_id = HouseholdId(uuid::Uuid::new_v4());
            let registered = decide(
                &mut registry,
                &mut employment,
                RegistryCommand::RegisterHousehold {
                    household_id,
                    village_code: h.village_code.clone(),
                    poverty_alleviated: h.poverty_alleviated,
                    relocated: h.relocated,
                    settlement_area: h.settlement_area.clone(),
                },
            )?;
            households += usize::from(registered);
            for p in &h.members {
                let citizen_id = CitizenId::parse(&p.citizen_id, today)
                    .map_err(|e| anyhow::anyhow!("generated citizen ID: {e}"))?;
                let id_hash = key.hash(&citizen_id);
                let command = RegistryCommand::RegisterPerson {
                    household_id,
                    citizen_id,
                    id_hash,
                    name: p.name.clone(),
                    relation: p.relation,
                    labour_capacity: p.labour_capacity,
                    disabled: p.disabled,
                };
                if !decide(&mut registry, &mut employment, command)? {
                    refused += 1;
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rss_after_mib = rss_mib();
    let persons = registry.person_count();
    // Both models are alive until here.
    let report = MemoryReport {
        models: if registry_only {
            "registry"
        } else {
            "registry+employment"
        },
        persons,
        households,
        refused,
        rss_before_mib,
        rss_after_mib,
        bytes_per_person: (rss_after_mib - rss_before_mib) * 1024.0 * 1024.0
            / persons.max(1) as f64,
        seconds,
    };
    drop((registry, employment));
    Ok(report)
}

/// The employment context learns the registry event as its intake would from the bus.
fn learn(employment: &mut EmploymentState, event: &RegistryEvent) -> anyhow::Result<()> {
    let (event_type, payload) = registry::codec::encode(event);
    if let Some(fact) =
        employment::intake::fact_of(event_type, &payload).map_err(anyhow::Error::msg)?
    {
        employment.apply(&EmploymentEvent::RegistryFactRecorded {
            fact,
            source_event_id: uuid::Uuid::new_v4().to_string(),
        });
    }
    Ok(())
}
