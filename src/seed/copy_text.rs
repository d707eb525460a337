//! Encoding rows in Postgres COPY text format (tab-separated, `\N` for NULL).
use chrono::{DateTime, Utc};
use entity::{assignment, complaint, complaint_search, response, status_event};
use sea_orm::ActiveEnum;
use std::{collections::HashMap, io::Write};

/// A COPY text buffer being filled row by row.
#[derive(Default)]
pub struct CopyText {
    buf: Vec<u8>,
    fresh_row: bool,
}

impl CopyText {
    fn sep(&mut self) {
        if !self.fresh_row {
            self.buf.push(b'\t');
        }
        self.fresh_row = false;
    }

    fn row(&mut self) {
        self.fresh_row = true;
    }

    fn end(&mut self) {
        self.buf.push(b'\n');
    }

    fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    fn int(&mut self, v: i64) {
        self.sep();
        let _ = write!(self.buf, "{v}");
    }

    fn float(&mut self, v: Option<f64>) {
        match v {
            Some(v) => {
                self.sep();
                let _ = write!(self.buf, "{v}");
            }
            None => self.null(),
        }
    }

    fn boolean(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { b't' } else { b'f' });
    }

    fn text(&mut self, s: &str) {
        self.sep();
        for b in s.bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// An integer array literal (`{3,7}`), sorted and without repeats.
    fn int_set(&mut self, mut v: Vec<i32>) {
        self.sep();
        v.sort_unstable();
        v.dedup();
        self.buf.push(b'{');
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            let _ = write!(self.buf, "{x}");
        }
        self.buf.push(b'}');
    }

    fn time(&mut self, t: DateTime<Utc>) {
        self.sep();
        let _ = write!(self.buf, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
    }

    fn opt_time(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => self.time(t),
            None => self.null(),
        }
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Column list matching [`complaints`].
pub const COMPLAINT_COLUMNS: &str = "id, number, source, external_id, category, municipality_id, \
    text, address, lat, lon, author_name, author_phone, author_email, \
    author_profile_url, received_at, status, priority, department_id, assignee_id, \
    first_response_due_at, resolution_due_at, first_response_at, resolved_at, is_public, \
    version, updated_at, assigned_departments";

/// Complaints as COPY text, each with the departments `assignments` send it to (what the
/// trigger on `assignment` would fold in: written here, the COPY of assignments finds every
/// complaint up to date and rewrites none).
pub fn complaints(rows: &[complaint::Model], assignments: &[assignment::Model]) -> Vec<u8> {
    let mut departments: HashMap<i64, Vec<i32>> = HashMap::new();
    for a in assignments {
        departments.entry(a.complaint_id).or_default().push(a.department_id);
    }
    let mut w = CopyText::default();
    for c in rows {
        w.row();
        w.int(c.id);
        w.text(&c.number);
        w.text(&c.source.to_value());
        w.text(&c.external_id);
        w.text(&c.category.to_value());
        w.int(c.municipality_id.into());
        w.text(&c.text);
        w.opt_text(c.address.as_deref());
        w.float(c.lat);
        w.float(c.lon);
        w.opt_text(c.author_name.as_deref());
        w.opt_text(c.author_phone.as_deref());
        w.opt_text(c.author_email.as_deref());
        w.opt_text(c.author_profile_url.as_deref());
        w.time(c.received_at);
        w.text(&c.status.to_value());
        w.text(&c.priority.to_value());
        w.opt_int(c.department_id.map(i64::from));
        w.opt_int(c.assignee_id);
        w.time(c.first_response_due_at);
        w.time(c.resolution_due_at);
        w.opt_time(c.first_response_at);
        w.opt_time(c.resolved_at);
        w.boolean(c.is_public);
        w.int(c.version.into());
        w.time(c.updated_at);
        w.int_set(departments.remove(&c.id).unwrap_or_default());
        w.end();
    }
    w.into_bytes()
}

/// Column list matching [`searches`].
pub const SEARCH_COLUMNS: &str = "complaint_id, text";

/// Search texts as COPY text.
pub fn searches(rows: &[complaint_search::Model]) -> Vec<u8> {
    let mut w = CopyText::default();
    for s in rows {
        w.row();
        w.int(s.complaint_id);
        w.text(&s.text);
        w.end();
    }
    w.into_bytes()
}

/// Column list matching [`assignments`].
pub const ASSIGNMENT_COLUMNS: &str = "id, complaint_id, department_id, staff_id, assigned_by, actor_department_id, assigned_at, reason";

/// Assignments as COPY text.
pub fn assignments(rows: &[assignment::Model]) -> Vec<u8> {
    let mut w = CopyText::default();
    for a in rows {
        w.row();
        w.int(a.id);
        w.int(a.complaint_id);
        w.int(a.department_id.into());
        w.opt_int(a.staff_id);
        w.text(&a.assigned_by);
        w.opt_int(a.actor_department_id.map(i64::from));
        w.time(a.assigned_at);
        w.opt_text(a.reason.as_deref());
        w.end();
    }
    w.into_bytes()
}

/// Column list matching [`events`].
pub const EVENT_COLUMNS: &str =
    "id, complaint_id, from_status, to_status, actor, actor_department_id, comment, at";

/// Status events as COPY text.
pub fn events(rows: &[status_event::Model]) -> Vec<u8> {
    let mut w = CopyText::default();
    for e in rows {
        w.row();
        w.int(e.id);
        w.int(e.complaint_id);
        w.opt_text(e.from_status.map(|s| s.to_value()).as_deref());
        w.text(&e.to_status.to_value());
        w.text(&e.actor);
        w.opt_int(e.actor_department_id.map(i64::from));
        w.opt_text(e.comment.as_deref());
        w.time(e.at);
        w.end();
    }
    w.into_bytes()
}

/// Column list matching [`responses`].
pub const RESPONSE_COLUMNS: &str = "id, complaint_id, department_id, staff_id, text, is_public, at";

/// Responses as COPY text.
pub fn responses(rows: &[response::Model]) -> Vec<u8> {
    let mut w = CopyText::default();
    for r in rows {
        w.row();
        w.int(r.id);
        w.int(r.complaint_id);
        w.opt_int(r.department_id.map(i64::from));
        w.opt_int(r.staff_id);
        w.text(&r.text);
        w.boolean(r.is_public);
        w.time(r.at);
        w.end();
    }
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_copy_specials() {
        let mut w = CopyText::default();
        w.row();
        w.text("a\tb\\c\nd");
        w.null();
        w.end();
        assert_eq!(w.into_bytes(), b"a\\tb\\\\c\\nd\t\\N\n");
    }

    #[test]
    fn department_sets_are_sorted_array_literals() {
        let mut w = CopyText::default();
        w.row();
        w.int_set(vec![7, 3, 7]);
        w.int_set(vec![]);
        w.end();
        assert_eq!(w.into_bytes(), b"{3,7}\t{}\n");
    }
}
