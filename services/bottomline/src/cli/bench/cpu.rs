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
    /// This process's user + system CPU, seconds; `None` where `/proc` is missing (off Linux).
    process: Option<f64>,
    /// Every CPU's busy time (all but idle and I/O wait), seconds; `None` off Linux.
    machine: Option<f64>,
}

/// What a phase used.
#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    /// Wall-clock seconds of the phase.
    pub seconds: f64,
    /// Cores this process kept busy on average (user + system CPU seconds / wall seconds);
    /// `None` where `/proc` is missing (off Linux).
    pub process_cores: Option<f64>,
    /// Cores busy on the whole machine on average: this process, PostgreSQL and the broker when
    /// they run here, and anything else running; `None` where `/proc/stat` is missing.
    pub machine_cores: Option<f64>,
    /// Cores the machine has: the CPUs `/proc/stat` counts (what `machine_cores` is out of),
    /// else those this process may use.
    pub cores: usize,
    /// This process's CPU per command, microseconds (`None` for a phase without commands, or off
    /// Linux).
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
        let used = |before: Option<f64>, after: Option<f64>| match (before, after) {
            (Some(before), Some(after)) => Some((after - before).max(0.0)),
            _ => None,
        };
        let process = used(self.process, process_seconds());
        let machine = used(self.machine, machine_busy_seconds());
        CpuUse {
            seconds,
            process_cores: process.map(|p| p / seconds),
            machine_cores: machine.map(|m| m / seconds),
            cores: machine_cpus()
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            process_us_per_command: process
                .filter(|_| commands > 0)
                .map(|p| p * 1e6 / commands as f64),
        }
    }
}

impl CpuUse {
    /// The figures in one line, the CPU counted per `unit` (a command, a call).
    pub fn per(&self, unit: &str) -> String {
        let mut line = match self.machine_cores {
            Some(machine) => format!("machine {machine:.2} of {} cores busy", self.cores),
            None => format!("{} cores", self.cores),
        };
        if let Some(process) = self.process_cores {
            line.push_str(&format!(", this process {process:.2}"));
        }
        if let Some(us) = self.process_us_per_command {
            line.push_str(&format!(" ({us:.0} µs CPU per {unit})"));
        }
        line
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.per("command"))
    }
}

/// Clock ticks per second of the times in `/proc` (Linux's `USER_HZ`, part of its ABI: 100 on
/// every architecture it runs on).
const USER_HZ: f64 = 100.0;

/// User + system CPU of this process (all its threads, ended ones included), seconds: fields 14
/// and 15 of `/proc/self/stat`; `None` where it is missing.
fn process_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    process_ticks(&stat).map(|ticks| ticks as f64 / USER_HZ)
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

/// The CPUs `/proc/stat` counts (its `cpuN` lines), whose busy time [`machine_busy_seconds`]
/// sums: on a container limited to fewer, the machine's figure is still out of these.
fn machine_cpus() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    (cpus > 0).then_some(cpus)
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
        while spin.elapsed().as_millis() < 300 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = clock.stop(1000);
        // The two sources (this process's ticks, the machine's) against each other and against
        // what the machine can give: a thread spinning 0.3 s gets at least a tenth of it even
        // on a busy machine, and nothing uses more cores than there are. The margins: ticks of
        // 10 ms, and a process's ticks scaled to its exact run time where the machine's are
        // sampled.
        let process = used.process_cores.expect("Linux") * used.seconds;
        let machine = used.machine_cores.expect("Linux") * used.seconds;
        let margin = |seconds: f64| 1.1 * seconds + 0.05;
        assert!(process >= 0.03, "{used:?}");
        assert!(process <= margin(machine), "{used:?}");
        assert!(
            machine <= margin(used.cores as f64 * used.seconds),
            "{used:?}"
        );
        // 1,000 commands: a thousandth of the CPU each, in microseconds.
        let per_command = used.process_us_per_command.expect("commands");
        assert!((30.0..=margin(used.seconds * used.cores as f64) * 1e3).contains(&per_command));
        assert_eq!(clock.stop(0).process_us_per_command, None);
        // The machine has at least the CPUs this process may use.
        let usable = std::thread::available_parallelism().unwrap().get();
        assert!(machine_cpus().is_some_and(|cpus| cpus >= usable));
    }
}
