//! Progress on stderr for the long client commands (`import`, `demo`), drawn by indicatif. A bar
//! draws only when stderr is a terminal, so logs and tests see nothing of it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressFinish, ProgressState, ProgressStyle};

/// A bar of `len` `unit`s (`rows`, `cases`, …) labelled `message`, or a hidden one when `shown`
/// is false (`import --quiet`).
pub(crate) fn bar(shown: bool, len: usize, unit: &str, message: String) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    // Cleared when dropped unfinished (an error), so the error is not printed under a stale bar.
    let bar = ProgressBar::new(len as u64).with_finish(ProgressFinish::AndClear);
    let template = format!(
        "{{msg}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{rate}}, eta {{eta}})"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            // indicatif's own `{per_sec}` prints four decimals (`1234.5678/s`).
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            ),
    );
    bar.set_message(message);
    bar
}

/// A spinner saying what is being waited for (a read model catching up); clear it with
/// [`ProgressBar::finish_and_clear`].
pub(crate) fn waiting(message: String) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_finish(ProgressFinish::AndClear);
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(200));
    spinner
}
