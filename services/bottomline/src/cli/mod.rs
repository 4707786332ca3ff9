//! Client-side commands of the CLI: they talk to a running `bottomline up` over gRPC only.

pub mod bench;
pub mod employment;
pub mod mara;

/// `println!` that ends the process quietly when stdout is closed (`bottomline mara … | head`),
/// instead of panicking on the broken pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("writing to stdout: {e}");
        }
    }};
}
pub use crate::out;

use anyhow::Context;
use clap::Args;
use tonic::transport::{Channel, Endpoint};

/// `--endpoint`, shared by every client-side command.
#[derive(Args)]
pub struct EndpointArg {
    /// gRPC endpoint of `bottomline up`.
    #[arg(
        long,
        global = true,
        env = "BOTTOMLINE_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
}

/// Resolves at the first Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `docker stop`, Kubernetes
/// and `timeout` send).
pub async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `text` followed by spaces up to `columns` terminal columns, where a Chinese character takes
/// two (`format!("{:<n}")` counts characters, so a column of county names drifts).
pub fn pad(text: &str, columns: usize) -> String {
    use unicode_width::UnicodeWidthStr as _;
    format!("{text}{}", " ".repeat(columns.saturating_sub(text.width())))
}

/// Parses a `YYYY-MM-DD` command-line date (a civil date in China Standard Time), saying whether
/// the text is not shaped like a date, names a day that does not exist (`2026-02-30`), or lies
/// outside the years the services take ([`writer::fields::CIVIL_YEARS`]).
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    let text = s.trim();
    // chrono alone takes `+2026-01-01` and `2026-1-1` too.
    if !shaped_like(text, "YYYY-MM-DD") {
        return Err(format!("{s:?} is not a date like 2026-11-30 (YYYY-MM-DD)"));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        if e.kind() == chrono::format::ParseErrorKind::OutOfRange {
            format!("{s:?} is not a calendar date: there is no such month or day")
        } else {
            format!("{s:?} is not a date like 2026-11-30 (YYYY-MM-DD)")
        }
    })?;
    if !writer::fields::CIVIL_YEARS.contains(&chrono::Datelike::year(&date)) {
        return Err(format!(
            "{s:?} is outside the dates the services take ({}-01-01 to {}-12-31)",
            writer::fields::CIVIL_YEARS.start(),
            writer::fields::CIVIL_YEARS.end()
        ));
    }
    Ok(date)
}

/// Whether `text` has exactly the shape of `pattern`: a digit where it has a letter, the same
/// character elsewhere (`shaped_like("2026-11", "YYYY-MM")`).
pub(crate) fn shaped_like(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.chars().zip(pattern.chars()).all(|(c, p)| {
            if p.is_ascii_alphabetic() {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

/// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`), failing with a hint when nothing
/// listens there.
pub async fn connect(endpoint: &str) -> anyhow::Result<Channel> {
    // This build has no TLS: tonic would reach an https:// endpoint in plain text, silently.
    if endpoint.starts_with("https://") {
        anyhow::bail!(
            "endpoint {endpoint:?}: this build speaks plain-text gRPC only (no TLS): use \
             http://, on a trusted network or through a TLS-terminating proxy"
        );
    }
    if !endpoint.starts_with("http://") {
        anyhow::bail!(
            "endpoint {endpoint:?} must start with http:// (e.g. http://127.0.0.1:50051)"
        );
    }
    Endpoint::from_shared(endpoint.to_string())
        .with_context(|| format!("invalid endpoint {endpoint:?}"))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot reach {endpoint}; is `bottomline up` running?"))
}

/// One line for the user: a gRPC status becomes its message, code and field violations; other
/// errors their chain of causes.
pub fn describe_error(e: &anyhow::Error) -> String {
    use tonic_types::StatusExt as _;
    if let Some(status) = e.chain().find_map(|c| c.downcast_ref::<tonic::Status>()) {
        if status.code() == tonic::Code::Unimplemented && status.message().is_empty() {
            // What was being done (the outermost context) names the API.
            let outermost = e
                .chain()
                .next()
                .and_then(|c| c.downcast_ref::<tonic::Status>());
            let doing = match outermost {
                Some(_) => String::new(),
                None => format!("{e}: "),
            };
            return format!(
                "{doing}the endpoint does not serve this API (Unimplemented): a process started \
                 with `up --services` serves only its own services; point --endpoint at the one \
                 that runs it"
            );
        }
        let mut line = format!("{} ({:?})", status.message(), status.code());
        let details = status.get_error_details();
        if let Some(bad) = details.bad_request() {
            for v in &bad.field_violations {
                line.push_str(&format!("; field {}: {}", v.field, v.description));
            }
        }
        return line;
    }
    // A cause whose text its wrapper already ends with (sqlx's database errors repeat their
    // source's message) is said once.
    let mut said: Vec<String> = Vec::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if !said
            .last()
            .is_some_and(|previous| previous.ends_with(&cause))
        {
            said.push(cause);
        }
    }
    said.join(": ")
}

/// A file created (truncated) at its first write only: a command that fails before writing
/// anything leaves an existing file as it was (`import`'s reject file when the endpoint is no
/// registry or the input has no valid header).
pub struct CreateOnWrite {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
}

impl CreateOnWrite {
    /// Nothing is created yet.
    pub fn new(path: impl Into<std::path::PathBuf>) -> CreateOnWrite {
        CreateOnWrite {
            path: path.into(),
            file: None,
        }
    }

    /// Refuses, before anything is done, a path this file could not be created at: its
    /// directory missing, a directory itself, or the same file as `input` (which writing would
    /// overwrite).
    pub fn check(&self, input: &std::path::Path) -> anyhow::Result<()> {
        let path = &self.path;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        anyhow::ensure!(
            dir.is_dir(),
            "{}: directory {} does not exist",
            path.display(),
            dir.display()
        );
        anyhow::ensure!(!path.is_dir(), "{} is a directory", path.display());
        if let (Ok(a), Ok(b)) = (input.canonicalize(), path.canonicalize()) {
            anyhow::ensure!(
                a != b,
                "{} is the input file itself: writing it would overwrite the input",
                path.display()
            );
        }
        Ok(())
    }

    fn file(&mut self) -> std::io::Result<&mut std::fs::File> {
        match &mut self.file {
            Some(file) => Ok(file),
            none => {
                let file = std::fs::File::create(&self.path).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
                })?;
                Ok(none.insert(file))
            }
        }
    }
}

impl std::io::Write for CreateOnWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::{describe_error, parse_date, CreateOnWrite};

    #[test]
    fn an_api_the_endpoint_does_not_serve_is_named_by_what_was_being_done() {
        let unimplemented = || anyhow::Error::new(tonic::Status::unimplemented(""));
        let said = describe_error(&unimplemented().context("reading MARA's summary"));
        assert!(
            said.starts_with("reading MARA's summary: the endpoint does not serve this API"),
            "{said}"
        );
        let said = describe_error(&unimplemented());
        assert!(
            said.starts_with("the endpoint does not serve this API"),
            "{said}"
        );
    }

    #[test]
    fn a_cause_its_wrapper_already_says_is_said_once() {
        let e = anyhow::anyhow!("database \"x\" does not exist")
            .context("error returned from database: database \"x\" does not exist")
            .context("connecting to --database-url postgres://h/x");
        assert_eq!(
            describe_error(&e),
            "connecting to --database-url postgres://h/x: \
             error returned from database: database \"x\" does not exist"
        );
    }

    #[test]
    fn every_distinct_cause_is_said() {
        let e = anyhow::anyhow!("connection refused").context("cannot reach http://h:1");
        assert_eq!(
            describe_error(&e),
            "cannot reach http://h:1: connection refused"
        );
    }

    #[test]
    fn a_file_is_replaced_only_when_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        std::fs::write(&path, "earlier run\n").unwrap();
        let mut untouched = CreateOnWrite::new(&path);
        untouched.flush().unwrap();
        drop(untouched);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier run\n");
        let mut written = CreateOnWrite::new(&path);
        written.write_all(b"line,reason\n").unwrap();
        drop(written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "line,reason\n");
    }

    #[tokio::test]
    async fn an_https_endpoint_is_refused_rather_than_reached_in_plain_text() {
        let e = super::connect("https://127.0.0.1:1").await.unwrap_err();
        assert!(e.to_string().contains("no TLS"), "{e}");
        let e = super::connect("127.0.0.1:50051").await.unwrap_err();
        assert!(e.to_string().contains("must start with http://"), "{e}");
    }

    #[test]
    fn a_date_that_does_not_exist_is_told_from_a_malformed_one() {
        assert_eq!(
            parse_date(" 2024-02-29 "),
            Ok(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert_eq!(
            parse_date("2026-02-30").unwrap_err(),
            "\"2026-02-30\" is not a calendar date: there is no such month or day"
        );
        assert_eq!(
            parse_date("2026/02/01").unwrap_err(),
            "\"2026/02/01\" is not a date like 2026-11-30 (YYYY-MM-DD)"
        );
        for loose in ["+2026-01-01", "2026-1-1", "2026-01-1", ""] {
            assert!(parse_date(loose).is_err(), "{loose:?} accepted");
        }
        // The services take 1900-01-01 to 2100-12-31: refused here, before anything is sent.
        assert_eq!(
            parse_date("0000-01-01").unwrap_err(),
            "\"0000-01-01\" is outside the dates the services take (1900-01-01 to 2100-12-31)"
        );
        assert!(parse_date("1899-12-31").is_err());
        assert!(parse_date("2101-01-01").is_err());
        assert!(parse_date("1900-01-01").is_ok() && parse_date("2100-12-31").is_ok());
    }

    #[test]
    fn a_chinese_name_is_padded_by_the_columns_it_takes() {
        assert_eq!(super::pad("巴林左旗", 10), "巴林左旗  ");
        assert_eq!(super::pad("Dali", 6), "Dali  ");
        assert_eq!(super::pad("内蒙古自治区", 4), "内蒙古自治区");
    }

    #[test]
    fn a_reject_file_that_cannot_be_written_is_refused_before_the_import() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("people.csv");
        std::fs::write(&input, "header\n").unwrap();
        let check = |path: std::path::PathBuf| CreateOnWrite::new(path).check(&input);
        let missing = check(dir.path().join("no/such/dir/rejects.csv")).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let same = check(dir.path().join(".").join("people.csv")).unwrap_err();
        assert!(same.to_string().contains("the input file itself"), "{same}");
        let directory = check(dir.path().to_path_buf()).unwrap_err();
        assert!(
            directory.to_string().contains("is a directory"),
            "{directory}"
        );
        check(dir.path().join("rejects.csv")).unwrap();
    }
}
