//! Page tokens: where the previous page ended, as the ordering key of its last row.
//!
//! A token is the hex of `view \x1f key1 \x1f key2 ...`: opaque to clients, tied to one view and
//! to the request's filters (see [`scoped`]: a token of another view, or used with other filters,
//! is refused), and checked for the number of key parts.

use proto::employment::v1 as pb;
use sha2::{Digest, Sha256};

use projector::query::QueryError;

const SEPARATOR: char = '\u{1f}';

/// A paged request: its filters without the paging fields.
pub(crate) trait Paged: prost::Message + Clone {
    /// Blanks `page_token` and `page_size`.
    fn without_paging(&self) -> Self;
}

macro_rules! paged {
    ($($t:ty),* $(,)?) => {$(
        impl Paged for $t {
            fn without_paging(&self) -> Self {
                let mut r = self.clone();
                r.page_token.clear();
                r.page_size = 0;
                r
            }
        }
    )*};
}

paged!(
    pb::EmployedScaleRequest,
    pb::FollowUpQueueRequest,
    pb::TrainingCoverageRequest,
    pb::RainAndDewCoverageRequest,
    pb::ZeroEmploymentHouseholdsRequest,
    pb::HouseholdsLostWorkRequest,
    pb::PostOccupancyRequest,
    pb::SuspiciousPatternsRequest,
);

/// The token scope of `view` for `request`: the view name and a digest of the request's filters
/// (AIP-158: a page token is only valid with the filters it was made for; page size may change).
pub(crate) fn scoped<R: Paged>(view: &str, request: &R) -> String {
    let digest = Sha256::digest(request.without_paging().encode_to_vec());
    format!("{view}.{}", hex::encode(&digest[..8]))
}

/// The ordering key of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageToken {
    pub(crate) key: Vec<String>,
}

impl PageToken {
    /// The token text for `view`.
    pub(crate) fn encode(view: &str, key: &[String]) -> String {
        let mut text = view.to_string();
        for part in key {
            text.push(SEPARATOR);
            text.push_str(part);
        }
        hex::encode(text)
    }

    /// Reads a token made by [`PageToken::encode`] for `view` with `parts` key parts; empty means
    /// the first page.
    pub(crate) fn parse(
        token: &str,
        view: &str,
        parts: usize,
    ) -> Result<Option<PageToken>, QueryError> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || QueryError::invalid("page_token", "not a token returned by this view");
        let bytes = hex::decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut split = text.split(SEPARATOR);
        if split.next() != Some(view) {
            return Err(bad());
        }
        let key: Vec<String> = split.map(String::from).collect();
        if key.len() != parts || key.iter().any(|k| k.len() > 200) {
            return Err(bad());
        }
        Ok(Some(PageToken { key }))
    }
}

/// One page of rows in the order of `key` (text parts, numbers zero-padded with [`num`]): the rows
/// after `after`, at most `limit`, and the token of the next page (empty on the last page).
pub(crate) fn page_in_memory<T>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> Vec<String>,
    view: &str,
    after: Option<PageToken>,
    limit: i64,
) -> (Vec<T>, String) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| key(r));
    let mut rest: Vec<T> = match after {
        Some(after) => rows.into_iter().filter(|r| key(r) > after.key).collect(),
        None => rows,
    };
    cut(&mut rest, limit, |r| PageToken::encode(view, &key(r)))
}

/// A number as a key part that sorts as text in numeric order (non-negative values).
pub(crate) fn num(n: i64) -> String {
    format!("{n:020}")
}

/// Truncates rows read with `limit + 1` to `limit`, returning the next page's token.
pub(crate) fn cut<T>(
    rows: &mut Vec<T>,
    limit: usize,
    token: impl Fn(&T) -> String,
) -> (Vec<T>, String) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(&token).unwrap_or_default();
        (std::mem::take(rows), next)
    } else {
        (std::mem::take(rows), String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_tied_to_their_view() {
        let key = vec!["2024-03-01".to_string(), "p:1".to_string()];
        let token = PageToken::encode("queue", &key);
        assert_eq!(
            PageToken::parse(&token, "queue", 2).unwrap(),
            Some(PageToken { key })
        );
        assert!(PageToken::parse(&token, "lost", 2).is_err());
        assert!(PageToken::parse(&token, "queue", 3).is_err());
        assert!(PageToken::parse("zz", "queue", 2).is_err());
        assert_eq!(PageToken::parse("", "queue", 2).unwrap(), None);
    }

    #[test]
    fn in_memory_pages() {
        let rows: Vec<i64> = (1..=5).collect();
        let key = |n: &i64| vec![format!("{n:03}")];
        let (first, next) = page_in_memory(rows.clone(), key, "v", None, 2);
        assert_eq!(first, [1, 2]);
        let after = PageToken::parse(&next, "v", 1).unwrap();
        let (second, _) = page_in_memory(rows.clone(), key, "v", after, 2);
        assert_eq!(second, [3, 4]);
        let (all, last) = page_in_memory(rows, key, "v", None, 10);
        assert_eq!((all.len(), last.as_str()), (5, ""));
    }
}
