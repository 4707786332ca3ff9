//! The paced phase of `bench --paced-rate R`: registrations offered at a fixed rate, open loop,
//! while every read model's end-to-end lag is sampled.
//!
//! The lag target is stated at a rate (p99 ≤ 250 ms at 5,000 commands/s). The closed-loop
//! scenarios cannot hold a rate: their clients send as fast as the registry answers, so what
//! they measure is lag at whatever the stack carries. Here a fresh population is sent through
//! `BulkRegister` streams on a schedule — household *k* leaves when the registrations before it
//! are due at R per second — one household (with its members) per message, each item a command
//! with its own id, as an integration that streams its registrations would. The phase reports the
//! rate the registry accepted and the lag of each read model over exactly these commands.

use std::time::{Duration, Instant};

use anyhow::Context;
use proto::registry::v1 as pb;
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use registry_import::SyntheticHousehold;
use serde::Serialize;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::suite::Lag;

/// How the paced phase runs.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Registrations (households and persons) offered per second.
    pub rate: u32,
    /// How long to offer them, seconds.
    pub seconds: u32,
}

impl Pacing {
    /// Registrations the phase offers in all: `rate × seconds`.
    pub fn registrations(&self) -> u64 {
        u64::from(self.rate) * u64::from(self.seconds)
    }
}

/// What the paced phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct PacedReport {
    /// The rate asked for, registrations per second.
    pub offered_per_second: f64,
    /// `BulkRegister` streams open at a time, the households spread over them in turn (each
    /// closed after 250 households or 20 s and replaced).
    pub streams: usize,
    /// Households sent (fewer than planned only when a stream failed).
    pub households: usize,
    /// Registrations (households + persons) the registry accepted.
    pub commands: u64,
    /// Registrations it refused (a citizen ID that the main scenario's population also drew).
    pub refused: u64,
    /// From the first message to the last one sent, seconds: longer than asked when sending fell
    /// behind the schedule (the registry pushing back).
    pub sending_seconds: f64,
    /// From the first message to the registry's answer on every stream (all accepted), seconds.
    pub seconds: f64,
    /// `commands / seconds`.
    pub accepted_per_second: f64,
    /// CPU from the first message until every read model caught up, filled in by the suite.
    pub cpu: Option<super::cpu::CpuUse>,
    /// End-to-end lag per read model over the phase's events (event recorded → read-model batch
    /// committed), filled in by the suite once the read models caught up.
    pub lag: Vec<Lag>,
}

/// Takes households from `population` until their registrations reach `pacing`'s total (all of
/// them when they do not reach it).
pub fn enough(mut population: Vec<SyntheticHousehold>, pacing: Pacing) -> Vec<SyntheticHousehold> {
    let mut registrations = 0u64;
    let mut keep = 0;
    for h in &population {
        if registrations >= pacing.registrations() {
            break;
        }
        registrations += 1 + h.members.len() as u64;
        keep += 1;
    }
    population.truncate(keep);
    population
}

/// Sends `households` over `streams` `BulkRegister` streams at `pacing.rate` registrations per
/// second and waits for the registry's answers. The lag is left empty (see [`PacedReport::lag`]).
///
/// Errors: a stream the registry ended with an error status (named with its index).
pub async fn run(
    channel: Channel,
    households: Vec<SyntheticHousehold>,
    pacing: Pacing,
    streams: usize,
) -> anyhow::Result<PacedReport> {
    let run_id = uuid::Uuid::new_v4();
    let streams = streams.max(1);
    let mut open: Vec<Stream> = (0..streams).map(|_| Stream::open(&channel)).collect();
    let mut answers = Vec::new();
    let mut sent = 0;
    let started = Instant::now();
    let mut due_registrations = 0u64;
    for (k, h) in households.iter().enumerate() {
        let due = Duration::from_secs_f64(due_registrations as f64 / f64::from(pacing.rate));
        tokio::time::sleep_until((started + due).into()).await;
        let item = pb::BulkHousehold {
            household: Some(super::household_request(h, run_id)),
            members: h
                .members
                .iter()
                .map(|p| super::person_request(p, String::new()))
                .collect(),
        };
        let message = pb::BulkRegisterRequest {
            households: vec![item],
        };
        let slot = k % streams;
        if open[slot].is_done() {
            let done = std::mem::replace(&mut open[slot], Stream::open(&channel));
            answers.push(done.answer);
        }
        // A send fails only when the stream ended early; its answer says why.
        if open[slot].sender.send(message).await.is_err() {
            break;
        }
        open[slot].households += 1;
        sent += 1;
        due_registrations += 1 + h.members.len() as u64;
    }
    let sending_seconds = started.elapsed().as_secs_f64();
    answers.extend(open.into_iter().map(|s| s.answer));
    // Every answer is awaited, so no stream is still running when the phase returns; the first
    // failure is reported.
    let (mut commands, mut refused, mut failure) = (0u64, 0u64, None);
    for answer in answers {
        let answer = answer
            .await
            .context("a paced stream's task")
            .and_then(|r| r.context("a paced BulkRegister stream"));
        match answer {
            Ok(r) => {
                let r = r.into_inner();
                commands += (r.households_registered + r.persons_registered) as u64;
                refused += (r.households_rejected + r.persons_rejected) as u64;
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(PacedReport {
        offered_per_second: f64::from(pacing.rate),
        streams,
        households: sent,
        commands,
        refused,
        sending_seconds,
        seconds,
        accepted_per_second: commands as f64 / seconds,
        cpu: None,
        lag: Vec::new(),
    })
}

/// Households one stream carries before it is closed and another opened: a stream is answered
/// only when it closes.
const HOUSEHOLDS_PER_STREAM: usize = 250;
/// Age at which a stream is closed and another opened, whatever it carried: the registry ends
/// every call 30 s after it opened.
const STREAM_AGE: Duration = Duration::from_secs(20);

/// One open `BulkRegister` stream: its sending half and the task awaiting its answer.
struct Stream {
    sender: mpsc::Sender<pb::BulkRegisterRequest>,
    answer:
        tokio::task::JoinHandle<Result<tonic::Response<pb::BulkRegisterResponse>, tonic::Status>>,
    households: usize,
    opened: Instant,
}

impl Stream {
    fn open(channel: &Channel) -> Stream {
        let (sender, receiver) = mpsc::channel(1024);
        let mut client = RegistryServiceClient::new(channel.clone());
        let answer = tokio::spawn(async move {
            client
                .bulk_register(tokio_stream::wrappers::ReceiverStream::new(receiver))
                .await
        });
        Stream {
            sender,
            answer,
            households: 0,
            opened: Instant::now(),
        }
    }

    /// Whether the stream should be closed before it carries another household.
    fn is_done(&self) -> bool {
        self.households >= HOUSEHOLDS_PER_STREAM || self.opened.elapsed() >= STREAM_AGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn household(members: usize) -> SyntheticHousehold {
        let person = registry_import::SyntheticPerson {
            citizen_id: String::new(),
            name: String::new(),
            sex: registry_domain::Sex::Female,
            relation: registry_domain::Relation::Head,
            labour_capacity: registry_domain::LabourCapacity::None,
            disabled: false,
            birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
        };
        SyntheticHousehold {
            household_ref: String::new(),
            village_code: String::new(),
            poverty_alleviated: true,
            relocated: false,
            settlement_area: None,
            members: vec![person; members],
        }
    }

    #[test]
    fn enough_households_to_offer_the_rate_for_the_time() {
        // 3 + 4 + 2 registrations reach 8; the fourth household is not needed.
        let population = vec![household(2), household(3), household(1), household(5)];
        let pacing = Pacing {
            rate: 4,
            seconds: 2,
        };
        assert_eq!(enough(population, pacing).len(), 3);
    }
}
