//! The complaint generator: each complaint gets a consistent life — registration, routing,
//! work, answers, resolution or rejection — that never runs past `until`.
use super::reference::person_name;
use super::rng::{Rng, chance, pick, rng, weighted};
use super::texts;
use crate::domain::sla::{self, Calendar, Policy};
use crate::store::{actor::Actor, complaints::search_text};
use chrono::{DateTime, Duration, Utc};
use entity::{
    Category, ComplaintStatus as S, Priority, Source, assignment, complaint, complaint_search,
    department, municipality, response, status_event,
};
use rand::Rng as _;
use std::collections::HashMap;

/// Rows generated for a run of complaints.
#[derive(Debug, Default)]
pub struct Batch {
    /// Complaints.
    pub complaints: Vec<complaint::Model>,
    /// Their assignments.
    pub assignments: Vec<assignment::Model>,
    /// Their status events.
    pub events: Vec<status_event::Model>,
    /// Their responses and notes.
    pub responses: Vec<response::Model>,
    /// Their search texts.
    pub searches: Vec<complaint_search::Model>,
}

/// What the generator routes into.
pub struct Region {
    munis: Vec<municipality::Model>,
    /// (index into `munis`, weight by population in thousands)
    muni_weights: Vec<(usize, u32)>,
    admin_of_muni: HashMap<i32, i32>,
    by_code: HashMap<String, i32>,
    staff_by_dept: HashMap<i32, Vec<i64>>,
    policies: Vec<Policy>,
    calendar: Calendar,
}

impl Region {
    /// The region from its reference rows.
    pub fn new(
        munis: Vec<municipality::Model>,
        depts: &[department::Model],
        staff: &[(i64, i32)],
    ) -> Self {
        let mut staff_by_dept: HashMap<i32, Vec<i64>> = HashMap::new();
        for (id, dept) in staff {
            staff_by_dept.entry(*dept).or_default().push(*id);
        }
        for ids in staff_by_dept.values_mut() {
            ids.sort_unstable();
        }
        Region {
            muni_weights: munis
                .iter()
                .enumerate()
                .map(|(i, m)| (i, (m.population.unwrap_or(45_000) / 1000).max(1) as u32))
                .collect(),
            munis,
            admin_of_muni: depts
                .iter()
                .filter_map(|d| d.municipality_id.map(|m| (m, d.id)))
                .collect(),
            by_code: depts.iter().map(|d| (d.code.clone(), d.id)).collect(),
            staff_by_dept,
            policies: sla::default_policies(),
            calendar: Calendar::default(),
        }
    }

    fn code(&self, code: &str) -> i32 {
        self.by_code[code]
    }

    /// The responsible department "по подведомственности": regional topics go to the
    /// department, local ones mostly to the municipal administration.
    fn route(&self, rng: &mut Rng, category: Category, muni: i32) -> i32 {
        if category == Category::HousingUtilities && chance(rng, 0.15) {
            return self.code("housing-supervision");
        }
        let admin_share = match category {
            Category::Healthcare => 0.0,
            Category::SocialProtection => 0.05,
            Category::Education => 0.3,
            Category::Ecology => 0.4,
            Category::HousingUtilities => 0.7,
            Category::Roads => 0.65,
            Category::Transport => 0.5,
            Category::Safety => 0.8,
            Category::Other => 0.7,
        };
        if chance(rng, admin_share) {
            self.admin_of_muni[&muni]
        } else {
            self.code(super::reference::regional_code(category))
        }
    }

    /// Where a wrongly routed complaint goes: the administration if a regional body had it,
    /// the regional body otherwise.
    fn reroute(&self, category: Category, muni: i32, current: i32) -> i32 {
        let admin = self.admin_of_muni[&muni];
        if current == admin { self.code(super::reference::regional_code(category)) } else { admin }
    }
}

const CATEGORIES: &[(Category, u32)] = &[
    (Category::HousingUtilities, 28),
    (Category::Roads, 16),
    (Category::Healthcare, 14),
    (Category::Transport, 9),
    (Category::SocialProtection, 9),
    (Category::Education, 8),
    (Category::Ecology, 6),
    (Category::Safety, 4),
    (Category::Other, 6),
];

/// Roughly the mix of a regional center: social networks dominate, then Gosuslugi.
const SOURCES: &[(Source, u32)] = &[
    (Source::Vk, 34),
    (Source::Telegram, 14),
    (Source::Ok, 9),
    (Source::GosuslugiPos, 22),
    (Source::Hotline122, 11),
    (Source::Email, 6),
    (Source::Open311, 2),
    (Source::Other, 2),
];

const PRIORITIES: &[(Priority, u32)] =
    &[(Priority::Low, 10), (Priority::Normal, 83), (Priority::High, 6), (Priority::Critical, 1)];

/// Next ids of each table (a seed appends after what is there).
#[derive(Debug, Clone, Copy)]
pub struct NextIds {
    /// complaint.id
    pub complaint: i64,
    /// assignment.id
    pub assignment: i64,
    /// status_event.id
    pub event: i64,
    /// response.id
    pub response: i64,
}

/// Deterministic complaint stream: same seed, region, ids and `until`, same rows.
pub struct Generator {
    rng: Rng,
    region: Region,
    until: DateTime<Utc>,
    seed: u64,
    next: NextIds,
}

fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

impl Generator {
    /// A generator of complaints received within the 365 days before `until`.
    pub fn new(seed: u64, region: Region, until: DateTime<Utc>, next: NextIds) -> Self {
        Generator { rng: rng(seed ^ 0x5EED_C0DE), region, until, seed, next }
    }

    /// The next `n` complaints with their histories.
    pub fn batch(&mut self, n: usize) -> Batch {
        let mut out = Batch {
            complaints: Vec::with_capacity(n),
            assignments: Vec::with_capacity(n + n / 8),
            events: Vec::with_capacity(n * 5),
            responses: Vec::with_capacity(n * 2),
            searches: Vec::with_capacity(n),
        };
        for _ in 0..n {
            self.one(&mut out);
        }
        out
    }

    fn one(&mut self, out: &mut Batch) {
        let id = self.next.complaint;
        self.next.complaint += 1;
        let rng = &mut self.rng;
        let region = &self.region;
        let year_secs = 365 * 24 * 3600;
        let received = self.until - Duration::seconds(rng.random_range(1..year_secs));
        let muni = &region.munis[weighted(rng, &region.muni_weights)];
        let category = weighted(rng, CATEGORIES);
        let source = weighted(rng, SOURCES);
        let priority = weighted(rng, PRIORITIES);
        let policy = sla::policy_for(&region.policies, source, priority);
        let first_due = region.calendar.due_at(received, policy.first_response);
        let resolution_due = region.calendar.due_at(received, policy.resolution).max(first_due);
        let number = format!("86-{}-{id:07}", received.format("%Y"));
        let text = texts::complaint_text(rng, category);
        let address = chance(rng, 0.6).then(|| {
            format!(
                "г. {}, ул. {}, д. {}",
                muni.name,
                texts::street(rng),
                rng.random_range(1..=120)
            )
        });
        let social = matches!(source, Source::Vk | Source::Telegram | Source::Ok);
        let profile = match source {
            Source::Vk => {
                Some(format!("https://vk.com/id{}", rng.random_range(10_000..900_000_000)))
            }
            Source::Telegram => {
                Some(format!("https://t.me/user{}", rng.random_range(1_000..9_999_999)))
            }
            Source::Ok => {
                Some(format!("https://ok.ru/profile/{}", rng.random_range(10_000..900_000_000_u64)))
            }
            _ => None,
        };
        let (lat, lon) = if chance(rng, 0.3) {
            (Some(rng.random_range(59.0..63.5)), Some(rng.random_range(62.0..82.0)))
        } else {
            (None, None)
        };
        out.searches.push(complaint_search::Model {
            complaint_id: id,
            text: search_text(&number, &text, address.as_deref()),
        });
        let mut c = complaint::Model {
            id,
            number,
            source,
            external_id: format!("{}-{}-{id}", source_prefix(source), self.seed),
            category,
            municipality_id: muni.id,
            text,
            address,
            lat,
            lon,
            author_name: chance(rng, 0.85).then(|| person_name(rng)),
            author_phone: chance(rng, if social { 0.2 } else { 0.7 }).then(|| {
                format!(
                    "+7 9{:02} {:03}-{:02}-{:02}",
                    rng.random_range(0..100),
                    rng.random_range(0..1000),
                    rng.random_range(0..100),
                    rng.random_range(0..100)
                )
            }),
            author_email: (source == Source::Email || chance(rng, 0.2))
                .then(|| format!("citizen{}@mail.ru", rng.random_range(1000..9_999_999))),
            author_profile_url: profile,
            received_at: received,
            status: S::New,
            priority,
            department_id: None,
            assignee_id: None,
            first_response_due_at: first_due,
            resolution_due_at: resolution_due,
            first_response_at: None,
            resolved_at: None,
            is_public: social || (source == Source::GosuslugiPos && chance(rng, 0.3)),
            version: 1,
            updated_at: received,
        };
        let mut life = Life { c: &mut c, out, until: self.until, next: &mut self.next };
        life.event(None, S::New, received, &Actor::center("system"), None);
        live(rng, region, &mut life, category);
        out.complaints.push(c);
    }
}

fn source_prefix(s: Source) -> &'static str {
    match s {
        Source::Vk => "vk",
        Source::Telegram => "tg",
        Source::Ok => "ok",
        Source::GosuslugiPos => "pos",
        Source::Hotline122 => "122",
        Source::Email => "mail",
        Source::Open311 => "o311",
        Source::Other => "other",
    }
}

/// One complaint's life being written.
struct Life<'a> {
    c: &'a mut complaint::Model,
    out: &'a mut Batch,
    until: DateTime<Utc>,
    next: &'a mut NextIds,
}

impl Life<'_> {
    fn event(
        &mut self,
        from: Option<S>,
        to: S,
        at: DateTime<Utc>,
        actor: &Actor,
        comment: Option<&str>,
    ) {
        let id = self.next.event;
        self.next.event += 1;
        self.out.events.push(status_event::Model {
            id,
            complaint_id: self.c.id,
            from_status: from,
            to_status: to,
            actor: actor.login.clone(),
            actor_department_id: actor.department_id,
            comment: comment.map(str::to_owned),
            at,
        });
        self.c.updated_at = at;
    }

    /// A transition at `at`, unless that lies in the future of the data set.
    fn step(&mut self, to: S, at: DateTime<Utc>, actor: &Actor, comment: Option<&str>) -> bool {
        if at >= self.until {
            return false;
        }
        let from = self.c.status;
        self.event(Some(from), to, at, actor, comment);
        self.c.status = to;
        self.c.version += 1;
        true
    }

    fn assign(&mut self, dept: i32, at: DateTime<Utc>, by: &Actor, reason: Option<&str>) {
        let id = self.next.assignment;
        self.next.assignment += 1;
        self.out.assignments.push(assignment::Model {
            id,
            complaint_id: self.c.id,
            department_id: dept,
            staff_id: None,
            assigned_by: by.login.clone(),
            actor_department_id: by.department_id,
            assigned_at: at,
            reason: reason.map(str::to_owned),
        });
        self.c.department_id = Some(dept);
        self.c.assignee_id = None;
    }

    fn respond(&mut self, text: &str, public: bool, staff: Option<i64>, at: DateTime<Utc>) {
        let id = self.next.response;
        self.next.response += 1;
        self.out.responses.push(response::Model {
            id,
            complaint_id: self.c.id,
            department_id: self.c.department_id,
            staff_id: staff,
            text: text.to_owned(),
            is_public: public,
            at,
        });
        if public && self.c.first_response_at.is_none() {
            self.c.first_response_at = Some(at);
        }
    }
}

/// Scales a deadline window by `factor`.
fn within(start: DateTime<Utc>, due: DateTime<Utc>, factor: f64) -> DateTime<Utc> {
    let window = (due - start).num_seconds().max(3600) as f64;
    start + Duration::seconds((window * factor) as i64)
}

fn live(rng: &mut Rng, region: &Region, life: &mut Life<'_>, category: Category) {
    let received = life.c.received_at;
    let operator = Actor::center(format!("operator-{}", rng.random_range(1..=25)));
    // Spam, duplicates and out-of-scope messages are rejected at triage.
    if chance(rng, 0.025) {
        let at = received + minutes(rng.random_range(10..180));
        let reason = pick(rng, &["Спам", "Дубликат обращения", "Вне компетенции органов власти"]);
        life.step(S::Rejected, at, &operator, Some(reason));
        return;
    }
    let mut at = received + minutes(rng.random_range(5..240));
    if at >= life.until {
        return;
    }
    let dept = region.route(rng, category, life.c.municipality_id);
    life.assign(dept, at, &operator, None);
    life.step(S::Assigned, at, &operator, None);
    if chance(rng, 0.07) {
        at += minutes(rng.random_range(60..720));
        let other = region.reroute(category, life.c.municipality_id, dept);
        if at < life.until && other != dept {
            life.assign(other, at, &operator, Some("Не по подведомственности"));
            life.event(Some(S::Assigned), S::Assigned, at, &operator, Some("Переназначено"));
            life.c.version += 1;
        }
    }
    let dept = life.c.department_id.unwrap_or(dept);
    let staff = region.staff_by_dept.get(&dept).map(|ids| pick(rng, ids));
    let login = staff.map_or_else(|| format!("dept-{dept}"), |s| format!("staff-{s}"));
    let actor = Actor { login, department_id: Some(dept) };
    at += minutes(rng.random_range(30..1440));
    if !life.step(S::InProgress, at, &actor, None) {
        return;
    }
    life.c.assignee_id = staff;
    if let Some(a) = life.out.assignments.iter_mut().rev().find(|a| a.complaint_id == life.c.id) {
        a.staff_id = staff;
    }
    if chance(rng, 0.3) {
        at += minutes(rng.random_range(60..720));
        if at < life.until {
            life.respond(texts::note_text(rng), false, staff, at);
        }
    }
    // Most answers come in time; some late; a few never (they stay overdue).
    let roll: f64 = rng.random();
    let factor = if roll < 0.82 {
        rng.random_range(0.05..0.95)
    } else if roll < 0.96 {
        rng.random_range(1.05..3.0)
    } else {
        return;
    };
    at = within(received, life.c.first_response_due_at, factor).max(at + minutes(10));
    if at >= life.until {
        return;
    }
    life.respond(texts::answer_text(rng), true, staff, at);
    life.step(S::Answered, at, &actor, None);
    if chance(rng, 0.07) {
        return; // waits for the citizen's confirmation
    }
    at += minutes(rng.random_range(120..8640));
    if !life.step(S::Resolved, at, &actor, None) {
        return;
    }
    life.c.resolved_at = Some(at);
    if chance(rng, 0.06) {
        at += minutes(rng.random_range(1440..14400));
        if !life.step(S::Reopened, at, &Actor::center("citizen"), Some("Проблема не решена"))
        {
            return;
        }
        life.c.resolved_at = None;
        at += minutes(rng.random_range(60..1440));
        if !life.step(S::InProgress, at, &actor, None) {
            return;
        }
        at += minutes(rng.random_range(1440..7200));
        if at >= life.until {
            return;
        }
        life.respond(texts::answer_text(rng), true, staff, at);
        life.step(S::Answered, at, &actor, None);
        at += minutes(rng.random_range(1440..7200));
        if life.step(S::Resolved, at, &actor, None) {
            life.c.resolved_at = Some(at);
        }
    }
}
