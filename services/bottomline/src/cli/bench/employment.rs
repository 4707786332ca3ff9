//! The employment scenario of the benchmark: every labour-capable person registered by the
//! registration scenario starts a spell through `EmploymentService.StartSpell`, and one in five
//! then loses it (`EndSpell`, dismissed: a job-loss event too), from N concurrent clients.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{Datelike, Days, NaiveDate};
use proto::common::v1::CivilDate;
use proto::employment::v1 as pb;
use proto::employment::v1::employment_service_client::EmploymentServiceClient;
use serde::Serialize;
use tonic::transport::Channel;

use super::Percentiles;

/// A registered, labour-capable person the scenario employs.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The registry's person id.
    pub person_id: String,
    /// Home county (6 digits).
    pub county: String,
    /// Birth date (China civil date).
    pub birth_date: NaiveDate,
}

/// What the employment scenario measured.
#[derive(Debug, Serialize)]
pub struct EmploymentLoad {
    /// Commands accepted (spells started and ended).
    pub commands: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Commands accepted per second.
    pub commands_per_second: f64,
    /// Command latency, milliseconds.
    pub latency_ms: Percentiles,
}

fn civil(d: NaiveDate) -> Option<CivilDate> {
    Some(CivilDate {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

/// A valid unified social credit code registered in `county` (check character per GB 32100).
fn employer(county: &str, serial: usize) -> String {
    let first17 = format!("91{county}{:09}", serial % 1_000_000_000);
    let check = employment_domain::uscc::check_character(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Runs the scenario for `workers` (those under 16 sixty days ago are left out).
pub async fn run(
    channel: Channel,
    workers: &[Worker],
    clients: usize,
    today: NaiveDate,
) -> anyhow::Result<EmploymentLoad> {
    let start = today - Days::new(60);
    let end = today - Days::new(10);
    let sixteen = |birth: NaiveDate| birth.with_year(birth.year() + 16).unwrap_or(birth);
    let queue: Vec<(usize, Worker)> = workers
        .iter()
        .filter(|w| sixteen(w.birth_date) <= start)
        .cloned()
        .enumerate()
        .collect();
    let queue = Arc::new(Mutex::new(queue));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (queue, latencies) = (queue.clone(), latencies.clone());
        let mut client = EmploymentServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Vec::new();
            loop {
                let Some((i, w)) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let spell_id = uuid::Uuid::new_v4().to_string();
                let t = Instant::now();
                client
                    .start_spell(pb::StartSpellRequest {
                        command_id: uuid::Uuid::new_v4().to_string(),
                        spell_id: spell_id.clone(),
                        person_id: w.person_id.clone(),
                        terms: Some(pb::SpellTerms {
                            employer_uscc: employer(&w.county, i),
                            place_of_work: w.county.clone(),
                            location_class: pb::LocationClass::InCountyOutOfTownship as i32,
                            channel: pb::Channel::Flexible as i32,
                            start_date: civil(start),
                            monthly_income_fen: 300_000,
                            evidence: pb::EvidenceSource::SelfReport as i32,
                        }),
                    })
                    .await?;
                local.push(t.elapsed().as_secs_f64() * 1000.0);
                if i % 5 == 0 {
                    let t = Instant::now();
                    client
                        .end_spell(pb::EndSpellRequest {
                            command_id: uuid::Uuid::new_v4().to_string(),
                            spell_id,
                            end_date: civil(end),
                            reason: pb::EndReason::Dismissed as i32,
                        })
                        .await?;
                    local.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            latencies.lock().expect("latencies").extend(local);
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let latencies = std::mem::take(&mut *latencies.lock().expect("latencies"));
    Ok(EmploymentLoad {
        commands: latencies.len(),
        seconds,
        commands_per_second: latencies.len() as f64 / seconds,
        latency_ms: Percentiles::of(latencies),
    })
}
