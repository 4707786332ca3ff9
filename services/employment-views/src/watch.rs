//! Live results for the `Watch...` RPCs.
//!
//! A watch runs its query once (a bad request fails the RPC before any stream starts) and sends
//! the result; then, each time the projector reports a committed batch, it waits until at least
//! [`DEBOUNCE`] has passed since its previous query, re-runs the query and sends the result only
//! when it differs from the last one sent. Changes that arrive meanwhile fold into one re-query.
//! The task ends when the client goes away, when the projector is gone, when the server shuts
//! down (UNAVAILABLE), or after sending a failed re-query's status.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::query::EmploymentQuery;
use projector::query::QueryError;

/// Shortest time between two queries of one watch.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(100);

/// The stream a `Watch...` RPC returns.
pub(crate) type WatchStream<T> = ReceiverStream<Result<T, Status>>;

/// Starts a watch of `run` over `query`'s read model.
pub(crate) async fn watch<T, F, Fut>(
    query: EmploymentQuery,
    run: F,
) -> Result<WatchStream<T>, Status>
where
    T: Clone + PartialEq + Send + Sync + 'static,
    F: Fn(EmploymentQuery) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, QueryError>> + Send,
{
    let mut changes = query.changes.clone();
    let shutdown = query.shutdown.clone();
    // Seen before the first query: a batch committed after this point triggers a re-query.
    changes.borrow_and_update();
    let mut last = run(query.clone()).await?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if tx.send(Ok(last.clone())).await.is_err() {
            return;
        }
        let mut last_query = Instant::now();
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
                () = shutdown.cancelled() => {
                    let _ = tx.send(Err(Status::unavailable("the server is shutting down"))).await;
                    return;
                }
            }
            let wait_until = last_query + DEBOUNCE;
            tokio::select! {
                () = tokio::time::sleep_until(wait_until) => {}
                () = tx.closed() => return,
            }
            changes.borrow_and_update();
            last_query = Instant::now();
            match run(query.clone()).await {
                Ok(result) if result == last => {}
                Ok(result) => {
                    if tx.send(Ok(result.clone())).await.is_err() {
                        return;
                    }
                    last = result;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}
