//! Citizen ID numbers never reach storage in clear: after an import, the raw bytes of every file in
//! the data directory (event store, read models, their WAL and shared-memory files) contain no
//! generated number, while the masked forms the registry publishes are there.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use e2e_tests::{
    embedded_config, import, mara_client, masked, population, start, wait_for_tally, Tally,
};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Every 18-byte window of `bytes` that is in `wanted`.
fn found_in(bytes: &[u8], wanted: &HashSet<Vec<u8>>) -> HashSet<Vec<u8>> {
    bytes
        .windows(18)
        .filter(|w| w[0].is_ascii_digit() && wanted.contains(*w))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Scans the data directory; returns (clear IDs found, masked IDs found, bytes scanned).
fn scan(
    dir: &Path,
    clear: &HashSet<Vec<u8>>,
    masked: &HashSet<Vec<u8>>,
) -> (HashSet<Vec<u8>>, HashSet<Vec<u8>>, usize) {
    let (mut in_clear, mut in_masked, mut scanned) = (HashSet::new(), HashSet::new(), 0);
    for file in files_under(dir) {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            // Removed between the listing and the read (a SQLite rollback journal at its commit,
            // while the stack runs): gone, it holds nothing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", file.display()),
        };
        scanned += bytes.len();
        let hits = found_in(&bytes, clear);
        assert!(
            hits.is_empty(),
            "{} holds {} citizen ID numbers in clear, e.g. {:?}",
            file.display(),
            hits.len(),
            hits.iter()
                .next()
                .map(|h| String::from_utf8_lossy(&h[..6]).into_owned())
        );
        in_clear.extend(hits);
        in_masked.extend(found_in(&bytes, masked));
    }
    (in_clear, in_masked, scanned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_citizen_id_is_stored_in_clear() {
    let population = population(777, 150);
    let ids: Vec<String> = population
        .households
        .iter()
        .flat_map(|h| &h.members)
        .map(|p| p.citizen_id.clone())
        .collect();
    // The upper- and lower-case spellings of a trailing X are both the number in clear.
    let clear: HashSet<Vec<u8>> = ids
        .iter()
        .flat_map(|id| [id.clone().into_bytes(), id.to_lowercase().into_bytes()])
        .collect();
    let masks: HashSet<Vec<u8>> = ids.iter().map(|id| masked(id).into_bytes()).collect();

    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    let (summary, rejects) = import(&endpoint, &population.to_csv(), "privacy.csv")
        .await
        .unwrap();
    assert_eq!((rejects.len(), summary.persons_registered), (0, ids.len()));
    wait_for_tally(
        &mut mara_client(&endpoint).await,
        Tally::from(&population.expected),
    )
    .await;

    // While running (recent pages may still be in the write-ahead logs) ...
    let (_, seen_running, scanned) = scan(dir.path(), &clear, &masks);
    assert!(scanned > 0);
    // ... and after a clean stop (logs checkpointed into the database files).
    app.stop().await;
    let (_, seen_stopped, _) = scan(dir.path(), &clear, &masks);
    let seen: HashSet<_> = seen_running.union(&seen_stopped).cloned().collect();
    assert_eq!(
        seen.len(),
        masks.len(),
        "every masked form is stored (the scan would see clear IDs too)"
    );
}
