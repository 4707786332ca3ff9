//! CPU spent by a bench phase: this process's (server and load generator) and the whole
//! machine's, from Linux's `/proc`.
//!
//! Throughput on a shared 2-core machine swings by a quarter from one run to the next; the CPU a
//! command costs does much less, and cores busy next to the cores there are say whether a phase
//! was bound by the processor or by waiting.

use std::time::Instant;

use serde::Serialize;

/// A reading of the clocks at the start of a phase.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    at: Instant,
    /// This process's user + system CPU, seconds.
    process: f64,
    /// Every CPU's busy time (all but idle and I/O wait), seconds; `None` off Linux.
    machine: Option<f64>,
}

/// What a phase used.
#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    /// Wall-clock seconds of the phase.
    pub seconds: f64,
    /// Cores this process kept busy on average (user + system CPU seconds / wall seconds).
    pub process_cores: f64,
    /// Cores busy on the whole machine on average: this process, PostgreSQL and the broker when
    /// they run here, and anything else running; `None` where `/proc/stat` is missing.
    pub machine_cores: Option<f64>,
    /// Cores the machine has.
    pub cores: usize,
    /// This process's CPU per command, microseconds (`None` for a phase without commands).
    pub process_us_per_command: Option<f64>,
}

impl CpuClock {
    /// Reads the clocks now.
    pub fn start() -> CpuClock {
        CpuClock {
            at: Instant::now(),
            process: process_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    /// What was used since [`CpuClock::start`], `commands` carried out meanwhile.
    pub fn stop(&self, commands: u64) -> CpuUse {
        let seconds = self.at.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
        let process = (process_seconds() - self.process).max(0.0);
        let machine = match (self.machine, machine_busy_seconds()) {
            (Some(before), Some(after)) => Some((after - before).max(0.0) / seconds),
            _ => None,
        };
        CpuUse {
            seconds,
            process_cores: process / seconds,
            machine_cores: machine,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            process_us_per_command: (commands > 0).then(|| process * 1e6 / commands as f64),
        }
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.machine_cores {
            Some(machine) => write!(f, "machine {machine:.2} of {} cores busy", self.cores)?,
            None => write!(f, "{} cores", self.cores)?,
        }
        write!(f, ", this process {:.2}", self.process_cores)?;
        if let Some(us) = self.process_us_per_command {
            write!(f, " ({us:.0} µs CPU per command)")?;
        }
        Ok(())
    }
}

/// Clock ticks per second of the times in `/proc` (Linux's `USER_HZ`, part of its ABI: 100 on
/// every architecture it runs on).
const USER_HZ: f64 = 100.0;

/// User + system CPU of this process (all its threads, ended ones included), seconds: fields 14
/// and 15 of `/proc/self/stat`; 0 where it is missing.
fn process_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| process_ticks(&stat))
        .map_or(0.0, |ticks| ticks as f64 / USER_HZ)
}

/// utime + stime of a `/proc/PID/stat` line. The command name (field 2) is in parentheses and
/// may hold spaces, so fields are counted after its closing parenthesis.
fn process_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy time of all CPUs since boot, seconds: the first line of `/proc/stat` less idle and
/// iowait.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_ticks(stat.lines().next()?).map(|ticks| ticks as f64 / USER_HZ)
}

/// Busy ticks of a `/proc/stat` "cpu" line: user, nice, system, irq, softirq and steal (guest
/// time is already in user); `None` for another line.
fn busy_ticks(line: &str) -> Option<u64> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.map(|v| v.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let at = |i: usize| values.get(i).copied().unwrap_or(0);
    (values.len() >= 4).then(|| at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_leave_out_idle_and_iowait() {
        // user 10, nice 1, system 5, idle 1000, iowait 7, irq 2, softirq 3, steal 4, guests 9 0
        let line = "cpu  10 1 5 1000 7 2 3 4 9 0";
        assert_eq!(busy_ticks(line), Some(10 + 1 + 5 + 2 + 3 + 4));
        assert_eq!(busy_ticks("cpu0 10 1 5 1000"), None);
        assert_eq!(busy_ticks("cpu 10 x 5 1000"), None);
    }

    #[test]
    fn process_ticks_are_utime_plus_stime() {
        // pid (comm with a space and a parenthesis) state ppid pgrp session tty tpgid flags
        // minflt cminflt majflt cmajflt utime stime cutime …
        let stat = "42 (my (bench) x) R 1 42 42 0 -1 4194304 10 0 0 0 250 70 3 4 20 0";
        assert_eq!(process_ticks(stat), Some(250 + 70));
        assert_eq!(process_ticks("42 (cut) R 1"), None);
    }

    #[test]
    fn a_phase_that_spins_shows_its_cpu() {
        let clock = CpuClock::start();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed().as_millis() < 200 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = clock.stop(1000);
        // One thread spinning for the whole phase: close to one core, never more than the
        // test process's threads could use.
        assert!(used.process_cores > 0.2, "{used:?}");
        assert!(used.machine_cores.is_some_and(|m| m > 0.2), "{used:?}");
        let us = used.process_us_per_command.unwrap();
        assert!(
            (us - used.process_cores * used.seconds * 1e3).abs() < 1.0,
            "{used:?}"
        );
        assert_eq!(clock.stop(0).process_us_per_command, None);
    }
}
