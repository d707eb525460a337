//! Keyset pagination: page-size checks and opaque cursors. A cursor holds the sort key of one
//! row (the order field's value and the id), so the next page is an index range scan.
use crate::{Error, Result};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};

/// The column a list is ordered by; `id` always breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    /// When the complaint was received.
    ReceivedAt,
    /// The resolution deadline.
    ResolutionDueAt,
    /// Creation order (the complaint number follows it).
    Id,
}

impl OrderField {
    fn tag(self) -> &'static str {
        match self {
            OrderField::ReceivedAt => "r",
            OrderField::ResolutionDueAt => "d",
            OrderField::Id => "i",
        }
    }
}

/// Order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The sort column.
    pub field: OrderField,
    /// Ascending when true.
    pub ascending: bool,
}

impl Default for Order {
    /// Newest first.
    fn default() -> Self {
        Order { field: OrderField::ReceivedAt, ascending: false }
    }
}

/// The sort key of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Value of the order field (timestamps as microseconds since the epoch; ids as is).
    pub value: i64,
    /// Row id (tie-breaker).
    pub id: i64,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(self, order: Order) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}:{}", order.field.tag(), self.value, self.id))
    }

    /// Parses a client's cursor, which must belong to the same order.
    pub fn decode(text: &str, order: Order) -> Result<Self> {
        let bad = || Error::bad_input(format!("malformed cursor {text:?}"));
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.split(':');
        let (Some("v1"), Some(tag), Some(value), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if tag != order.field.tag() {
            return Err(Error::bad_input(
                "cursor was issued for a different orderBy; restart pagination",
            ));
        }
        Ok(Cursor { value: value.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }

    /// The cursor of a timestamp-keyed row.
    pub fn at(time: DateTime<Utc>, id: i64) -> Self {
        Cursor { value: time.timestamp_micros(), id }
    }

    /// The timestamp held by a timestamp-keyed cursor.
    pub fn time(self) -> Result<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.value)
            .ok_or_else(|| Error::bad_input("cursor time out of range"))
    }
}

/// Which slice of a list to return, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows wanted.
    pub limit: u64,
    /// Walking backwards (`last`/`before`).
    pub backward: bool,
    /// Start after (forward) or before (backward) this row.
    pub cursor: Option<Cursor>,
}

/// Default page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

impl PageRequest {
    /// Checks Relay arguments: one direction at a time, sizes within `0..=max`.
    pub fn new(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        max: u32,
        order: Order,
    ) -> Result<Self> {
        if (first.is_some() || after.is_some()) && (last.is_some() || before.is_some()) {
            return Err(Error::bad_input("use either first/after or last/before, not both"));
        }
        let check = |name: &str, n: i32| -> Result<u64> {
            if n < 0 || n as u32 > max {
                return Err(Error::bad_input(format!(
                    "`{name}` must be between 0 and {max}, got {n}"
                )));
            }
            Ok(n as u64)
        };
        let backward = last.is_some() || before.is_some();
        let limit = match (first, last) {
            (Some(n), _) => check("first", n)?,
            (_, Some(n)) => check("last", n)?,
            _ => DEFAULT_PAGE_SIZE.min(u64::from(max)),
        };
        let cursor = after.or(before).map(|text| Cursor::decode(text, order)).transpose()?;
        Ok(PageRequest { limit, backward, cursor })
    }
}

/// One page of rows, in the requested order, with Relay's neighbour flags.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// More rows follow the last one.
    pub has_next_page: bool,
    /// Rows precede the first one.
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// The page of `rows`, read in walking order with one row past `req.limit` to learn
    /// whether more follow.
    pub fn from_overfetched(mut rows: Vec<T>, req: PageRequest) -> Self {
        let has_more = rows.len() as u64 > req.limit;
        rows.truncate(req.limit as usize);
        if req.backward {
            rows.reverse();
        }
        let from_cursor = req.cursor.is_some();
        Page {
            rows,
            has_next_page: if req.backward { from_cursor } else { has_more },
            has_previous_page: if req.backward { has_more } else { from_cursor },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let order = Order::default();
        let c = Cursor { value: 1_700_000_000_000_000, id: 42 };
        assert_eq!(Cursor::decode(&c.encode(order), order).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor", order).is_err());
        let other = Order { field: OrderField::Id, ascending: true };
        assert!(Cursor::decode(&c.encode(order), other).is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let o = Order::default();
        assert!(PageRequest::new(Some(-1), None, None, None, 100, o).is_err());
        assert!(PageRequest::new(Some(100_000), None, None, None, 100, o).is_err());
        assert!(PageRequest::new(Some(1), None, Some(1), None, 100, o).is_err());
        assert_eq!(PageRequest::new(None, None, None, None, 100, o).unwrap().limit, 20);
    }
}
