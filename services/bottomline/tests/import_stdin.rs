//! `bottomline import -`: the real binary reads the CSV from standard input, registers its
//! households, and writes rejected rows to `stdin.rejects.csv` in its working directory.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use bottomline::reference::ReferenceData;
use common::{connect, free_port, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_from_standard_input_registers_and_rejects_like_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let reference = ReferenceData::load(None, None, None).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let population =
        registry_import::generate(31, 5, &reference.catalog, &reference.key_counties, today);
    let mut csv = population.to_csv();
    // The first person's row once more, at the end: its citizen ID appears twice.
    let text = String::from_utf8(csv.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    csv.extend_from_slice(format!("{}\n", lines[1]).as_bytes());
    let repeated_line = lines.len() + 1;
    let persons: usize = population.households.iter().map(|h| h.members.len()).sum();

    let port = free_port();
    let mut server = start(dir.path(), port);
    drop(connect(port).await);
    let mut import = Command::new(env!("CARGO_BIN_EXE_bottomline"))
        .args(["import", "-", "--quiet", "--endpoint"])
        .arg(format!("http://127.0.0.1:{port}"))
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bottomline import");
    import.stdin.take().unwrap().write_all(&csv).unwrap();
    let output = import.wait_with_output().expect("import");
    server.kill().unwrap();
    server.wait().unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    let households = population.households.len();
    assert!(
        stdout.contains(&format!("households   {households:>9} registered"))
            && stdout.contains(&format!("persons      {persons:>9} registered"))
            && stdout.contains("rejected             1"),
        "{stdout}"
    );
    let rejects = std::fs::read_to_string(work.path().join("stdin.rejects.csv")).unwrap();
    let mut rows = rejects.lines();
    assert_eq!(rows.next(), Some("line,reason,raw_line"));
    let row = rows.next().expect("the repeated row");
    assert!(
        row.starts_with(&format!("{repeated_line},")) && row.contains("already appears on line 2"),
        "{rejects}"
    );
    assert_eq!(rows.next(), None, "{rejects}");
}
