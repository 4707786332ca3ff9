//! The raw gRPC baseline of `bottomline bench`: what the gRPC stack alone carries on this machine,
//! so the registrations per second can be printed as a ratio of it.
//!
//! A server that answers at once (`bottomline.bench.v1.EchoService`, with the stack's transport
//! settings: [`crate::app::grpc_server`], [`crate::app::incoming`]) listens on a port of its own
//! in this process; the same number of clients as the registrations had call it over one
//! connection, as the bench's clients share one, with requests and replies of the registrations'
//! average encoded sizes. Everything the system does between receiving a call and answering it
//! (decoding into domain values, the writer, the event store, the relay) is missing: the rest is
//! the same.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use prost::Message as _;
use proto::bench::v1 as pb;
use proto::bench::v1::echo_service_client::EchoServiceClient;
use proto::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use serde::Serialize;

use super::cpu::{CpuClock, CpuUse};
use super::Percentiles;

/// Calls made before the measurement starts (connection set-up, first allocations).
const WARM_UP_CALLS: usize = 200;

/// Raw gRPC throughput on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct GrpcBaseline {
    /// Calls measured.
    pub calls: usize,
    /// Concurrent clients, sharing one connection.
    pub clients: usize,
    /// Encoded size of each request, bytes.
    pub request_bytes: usize,
    /// Encoded size of each reply, bytes.
    pub reply_bytes: usize,
    /// Wall time of the measured calls, seconds.
    pub seconds: f64,
    /// Calls answered per second.
    pub calls_per_second: f64,
    /// Call latency percentiles, milliseconds.
    pub latency_ms: Percentiles,
    /// CPU the calls used: client and server are both this process, and so is the stack under
    /// test, idle by then (its background tasks still count in this process's share).
    pub cpu: CpuUse,
}

/// Makes `calls` unary calls with `clients` concurrent clients over one connection to an echo
/// server in this process, each request `request_bytes` long encoded and each reply
/// `reply_bytes` (both at least the few bytes of the fields' tags). Fails if the server cannot
/// listen on a loopback port or a call fails.
pub async fn grpc_baseline(
    calls: usize,
    clients: usize,
    request_bytes: usize,
    reply_bytes: usize,
) -> anyhow::Result<GrpcBaseline> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("the gRPC baseline's listener")?;
    let addr = listener.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let stop = stop.clone();
        tokio::spawn(
            crate::app::grpc_server()
                .add_service(EchoServiceServer::new(Echo))
                .serve_with_incoming_shutdown(
                    crate::app::incoming(listener),
                    stop.cancelled_owned(),
                ),
        )
    };
    let measured = measure(
        &format!("http://{addr}"),
        calls,
        clients,
        request_bytes,
        reply_bytes,
    )
    .await;
    stop.cancel();
    server.await.context("the gRPC baseline's server")??;
    measured
}

async fn measure(
    endpoint: &str,
    calls: usize,
    clients: usize,
    request_bytes: usize,
    reply_bytes: usize,
) -> anyhow::Result<GrpcBaseline> {
    let channel = crate::cli::connect(endpoint).await?;
    let request = request_of(request_bytes, reply_bytes);
    let client = EchoServiceClient::new(channel);
    let (request_bytes, reply_bytes) = {
        let reply = client.clone().echo(request.clone()).await?.into_inner();
        (request.encoded_len(), reply.encoded_len())
    };
    let clients = clients.max(1);
    let call_all = |calls: usize| {
        let left = Arc::new(AtomicUsize::new(calls));
        let latencies = Arc::new(Mutex::new(Vec::with_capacity(calls)));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (mut client, request) = (client.clone(), request.clone());
            let (left, latencies) = (left.clone(), latencies.clone());
            tasks.spawn(async move {
                let mut local = Vec::new();
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let t = Instant::now();
                    client.echo(request.clone()).await?;
                    local.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                latencies.lock().expect("latencies").extend(local);
                anyhow::Ok(())
            });
        }
        async move {
            // A failed call ends the run; dropping the set aborts the other clients.
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            let latencies = std::mem::take(&mut *latencies.lock().expect("latencies"));
            anyhow::Ok(latencies)
        }
    };
    call_all(WARM_UP_CALLS).await?;
    let clock = CpuClock::start();
    let started = Instant::now();
    let latencies = call_all(calls).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = clock.stop(calls as u64);
    Ok(GrpcBaseline {
        calls: latencies.len(),
        clients,
        request_bytes,
        reply_bytes,
        seconds,
        calls_per_second: latencies.len() as f64 / seconds.max(f64::MIN_POSITIVE),
        latency_ms: Percentiles::of(latencies),
        cpu,
    })
}

/// A request whose encoding is `bytes` long (or as short as its fields allow), asking for a reply
/// of `reply_bytes`.
fn request_of(bytes: usize, reply_bytes: usize) -> pb::EchoRequest {
    let reply_bytes = u32::try_from(reply_bytes).unwrap_or(u32::MAX);
    let mut request = pb::EchoRequest {
        payload: Vec::new(),
        reply_bytes,
    };
    let other_fields = request.encoded_len();
    request.payload = vec![0x5a; payload_for(bytes.saturating_sub(other_fields))];
    request
}

/// The largest payload whose bytes field (tag, length, payload) takes at most `bytes`: 0 when
/// even an empty one (which proto3 leaves out) would not fit.
fn payload_for(bytes: usize) -> usize {
    (0..=bytes.saturating_sub(2))
        .rev()
        .find(|&n| 1 + prost::encoding::encoded_len_varint(n as u64) + n <= bytes)
        .unwrap_or(0)
}

/// Answers each call with a payload that makes the reply `reply_bytes` long encoded (or as short
/// as its field allows).
struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(
        &self,
        request: tonic::Request<pb::EchoRequest>,
    ) -> Result<tonic::Response<pb::EchoResponse>, tonic::Status> {
        let wanted = request.into_inner().reply_bytes as usize;
        Ok(tonic::Response::new(pb::EchoResponse {
            payload: vec![0xa5; payload_for(wanted)],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_size_asked_for() {
        for bytes in [20, 127, 128, 129, 130, 300, 16_000] {
            let r = request_of(bytes, 60);
            // payload tag + length + payload, then reply_bytes' tag and varint.
            let expected = 1
                + prost::encoding::encoded_len_varint(r.payload.len() as u64) as usize
                + r.payload.len()
                + 2;
            assert_eq!(r.encoded_len(), expected);
            assert!(
                r.encoded_len() == bytes || r.encoded_len() == bytes - 1,
                "{bytes}"
            );
        }
        assert_eq!(request_of(0, 60).payload.len(), 0);
    }

    #[test]
    fn payloads_fill_the_bytes_asked_for() {
        // tag (1) + length (1 byte up to 127, 2 up to 16,383) + payload
        for (bytes, payload) in [
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 1),
            (129, 127),
            (130, 127),
            (131, 128),
        ] {
            assert_eq!(payload_for(bytes), payload, "{bytes}");
        }
        for wanted in [50, 129, 130, 131, 300, 16_386, 16_387, 20_000] {
            let reply = pb::EchoResponse {
                payload: vec![0; payload_for(wanted)],
            };
            assert!(
                reply.encoded_len() == wanted || reply.encoded_len() == wanted - 1,
                "{wanted}: {}",
                reply.encoded_len()
            );
        }
    }

    #[tokio::test]
    async fn the_baseline_makes_every_call_with_the_sizes_asked_for() {
        let b = grpc_baseline(300, 4, 170, 90).await.unwrap();
        assert_eq!((b.calls, b.clients), (300, 4));
        assert!((169..=170).contains(&b.request_bytes), "{b:?}");
        assert!((89..=90).contains(&b.reply_bytes), "{b:?}");
        assert!(
            (b.calls_per_second * b.seconds - 300.0).abs() < 1e-6,
            "calls per second over the measured calls only: {b:?}"
        );
    }
}
