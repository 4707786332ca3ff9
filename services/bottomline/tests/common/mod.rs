//! What the tests that run the real binary share: a free port, `bottomline up` on it, and a
//! gRPC channel once it answers.

// Each test binary that includes this module uses part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `bottomline up` (every service, embedded) on `data_dir`, listening on `port`.
pub fn start(data_dir: &std::path::Path, port: u16) -> Child {
    start_with(data_dir, port, &[])
}

/// `bottomline up` on `data_dir`, listening on `port`, with `args` added (`--database-url`…).
pub fn start_with(data_dir: &std::path::Path, port: u16, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bottomline"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bottomline up")
}

/// A channel to the server on `port`, waiting up to 60 s for it to answer.
pub async fn connect(port: u16) -> tonic::transport::Channel {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match bottomline::cli::connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("server never came up: {e:#}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves no server running.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Kills the process now and waits for it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}
