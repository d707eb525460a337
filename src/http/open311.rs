//! Open311 GeoReport v2 (JSON): `services.json`, `services/{code}.json`, `requests.json`
//! (GET with its filters, POST with an `api_key` that maps to an integration principal) and
//! `requests/{id}.json`, with the spec's field names and error bodies (`[{code,
//! description}]`). Services are our categories; a request's id is the complaint number;
//! `jurisdiction_id` names the municipality. Reads act as the public role: public complaints,
//! personal data masked, no submitter fields.
use crate::{
    auth::{NoteScope, Principal, Role},
    domain::masking::mask,
    service::ingest::{self, Outcome, Submission},
    state::AppState,
    store::{
        self,
        complaints::{ComplaintFilter, Shape},
        directory::Snapshot,
        pagination::{Order, PageRequest},
        scope::Scoped,
    },
};
use axum::{
    Json,
    extract::{Form, Path, Query, State, rejection::FormRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use entity::{Category, ComplaintStatus, Source, complaint};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Longest description the spec allows.
const MAX_DESCRIPTION: usize = 4_000;
/// Widest date window and most records of one `GET requests.json`.
const MAX_WINDOW_DAYS: i64 = 90;
const MAX_RECORDS: u64 = 1_000;

/// (service_code, category, service_name, keywords)
const SERVICES: &[(&str, Category, &str, &str)] = &[
    ("healthcare", Category::Healthcare, "Здравоохранение", "больница,поликлиника,врач,лекарства"),
    ("social_protection", Category::SocialProtection, "Социальная защита", "пособие,пенсия,льготы"),
    ("housing_utilities", Category::HousingUtilities, "ЖКХ", "отопление,вода,лифт,крыша,мусор"),
    ("transport", Category::Transport, "Общественный транспорт", "автобус,маршрут,остановка"),
    ("roads", Category::Roads, "Дороги", "яма,дорога,светофор,тротуар"),
    ("education", Category::Education, "Образование", "школа,детский сад"),
    ("ecology", Category::Ecology, "Экология", "свалка,загрязнение,животные"),
    ("safety", Category::Safety, "Безопасность", "люк,сосульки,заброшенное здание"),
    ("other", Category::Other, "Прочее", "благоустройство,предложение"),
];

fn service_of(code: &str) -> Option<&'static (&'static str, Category, &'static str, &'static str)> {
    SERVICES.iter().find(|s| s.0 == code)
}

fn service_by_category(
    c: Category,
) -> &'static (&'static str, Category, &'static str, &'static str) {
    SERVICES.iter().find(|s| s.1 == c).unwrap_or(&SERVICES[SERVICES.len() - 1])
}

/// An error body of the spec: `[{"code": …, "description": …}]`.
fn error(status: StatusCode, description: impl Into<String>) -> Response {
    let body = json!([{ "code": status.as_u16(), "description": description.into() }]);
    (status, Json(body)).into_response()
}

/// A failure of ours, or an outage (503: the client retries).
fn internal(err: crate::Error) -> Response {
    match err {
        crate::Error::Unavailable(msg) => error(StatusCode::SERVICE_UNAVAILABLE, msg),
        crate::Error::Timeout(msg) => error(StatusCode::GATEWAY_TIMEOUT, msg),
        err => {
            tracing::error!(%err, "open311 request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// GET services.json.
pub async fn services() -> Json<Value> {
    Json(Value::Array(
        SERVICES
            .iter()
            .map(|(code, _, name, keywords)| {
                json!({ "service_code": code, "service_name": name, "description": name,
                        "metadata": false, "type": "realtime", "keywords": keywords,
                        "group": "ЦУР Югры" })
            })
            .collect(),
    ))
}

/// GET services/{code}.json: our services have no extra attributes.
pub async fn service_definition(Path(file): Path<String>) -> Response {
    let code = file.strip_suffix(".json").unwrap_or(&file);
    match service_of(code) {
        Some((code, ..)) => Json(json!({ "service_code": code, "attributes": [] })).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown service_code {code:?}")),
    }
}

/// The municipality a `jurisdiction_id` names: its id or its English name.
fn jurisdiction(directory: &Snapshot, value: &str) -> Option<i32> {
    let value = value.trim();
    directory
        .municipalities
        .iter()
        .find(|m| m.id.to_string() == value || m.name_en.eq_ignore_ascii_case(value))
        .map(|m| m.id)
}

/// The integration principal of an API key.
fn principal_of(state: &AppState, key: Option<&String>) -> Option<Principal> {
    let name = state.open311_keys.get(key?.as_str())?;
    Some(Principal {
        sub: name.clone(),
        role: Role::Integration,
        department_id: None,
        municipality_id: None,
    })
}

/// The identity of a POSTed request: the client's `external_id` extension, or a digest of
/// what it sent, so re-posting the same request returns the same complaint.
fn external_id(p: &Principal, f: &HashMap<String, String>) -> String {
    if let Some(id) = f.get("external_id").filter(|v| !v.trim().is_empty()) {
        return id.trim().to_owned();
    }
    let mut digest = Sha256::new();
    for key in [
        "service_code",
        "jurisdiction_id",
        "description",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "device_id",
        "media_url",
    ] {
        digest.update(key.as_bytes());
        digest.update([0]);
        digest.update(f.get(key).map_or("", |v| v.trim()).as_bytes());
        digest.update([0]);
    }
    digest.update(p.sub.as_bytes());
    let hex: String = digest.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("o311-{hex}")
}

fn number_param(f: &HashMap<String, String>, key: &str) -> Result<Option<f64>, String> {
    match f.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| format!("{key} must be a number")),
    }
}

/// The complaint a GeoReport POST describes, or why it cannot be one (the spec's required
/// fields: a known service, a jurisdiction, a location, a description).
fn submission_of(
    f: &HashMap<String, String>,
    principal: &Principal,
    directory: &Snapshot,
) -> Result<Submission, String> {
    let Some((_, category, ..)) = f.get("service_code").and_then(|c| service_of(c.trim())) else {
        return Err("service_code is missing or unknown (see services.json)".into());
    };
    let Some(municipality_id) = f.get("jurisdiction_id").and_then(|j| jurisdiction(directory, j))
    else {
        return Err("jurisdiction_id must name a municipality of Yugra (id or English name)".into());
    };
    let (lat, lon) = (number_param(f, "lat")?, number_param(f, "long")?);
    let address = f.get("address_string").map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if (lat.is_none() || lon.is_none()) && address.is_none() && !f.contains_key("address_id") {
        return Err("a location is required: lat and long, or address_string, or address_id".into());
    }
    let description = f.get("description").map(|d| d.trim().to_owned()).unwrap_or_default();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(format!("description must be 1 to {MAX_DESCRIPTION} characters"));
    }
    let name = [f.get("first_name"), f.get("last_name")]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Submission {
        source: Source::Open311,
        external_id: external_id(principal, f),
        text: description,
        municipality_id,
        category: Some(*category),
        received_at: None,
        author: ingest::Author {
            name: Some(name).filter(|n| !n.is_empty()),
            phone: f.get("phone").cloned(),
            email: f.get("email").cloned(),
            profile_url: None,
        },
        address,
        lat,
        lon,
    })
}

/// POST requests.json (form-urlencoded): a thin adapter of the ingest service.
pub async fn post_request(
    State(state): State<AppState>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error(
            StatusCode::BAD_REQUEST,
            "the body must be application/x-www-form-urlencoded",
        );
    };
    let Some(principal) = principal_of(&state, f.get("api_key")) else {
        return error(StatusCode::FORBIDDEN, "invalid or missing api_key");
    };
    let directory = match state.directory.snapshot().await {
        Ok(d) => d,
        Err(e) => return internal(e),
    };
    let submission = match submission_of(&f, &principal, &directory) {
        Ok(s) => s,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    let delivered =
        ingest::submit(&state.db, &state.notifier, &principal, vec![Ok(submission)], Utc::now());
    let outcome = match delivered.await {
        Ok(mut o) => o.pop(),
        Err(e) => return internal(e),
    };
    let (status, number, notice) = match outcome {
        Some(Outcome::Created { number, .. }) => {
            (StatusCode::CREATED, number, "Обращение зарегистрировано")
        }
        Some(Outcome::Duplicate { number, .. }) => {
            (StatusCode::OK, number, "Обращение уже зарегистрировано")
        }
        Some(Outcome::Rejected(reason)) => return error(StatusCode::BAD_REQUEST, reason),
        None => return internal(crate::Error::Internal("no outcome".into())),
    };
    let body =
        json!([{ "service_request_id": number, "service_notice": notice, "account_id": null }]);
    (status, Json(body)).into_response()
}

/// A complaint as a GeoReport request (public view: masked text, no submitter);
/// `status_notes` is the latest public answer to it, else what its closing means.
fn request_json(c: &complaint::Model, answer: Option<&str>, directory: &Snapshot) -> Value {
    let (code, _, name, _) = service_by_category(c.category);
    let closed = matches!(c.status, ComplaintStatus::Resolved | ComplaintStatus::Rejected);
    let notes = match (answer, c.status) {
        (Some(text), _) => Some(mask(text).into_owned()),
        (None, ComplaintStatus::Resolved) => Some("Решено".to_owned()),
        (None, ComplaintStatus::Rejected) => Some("Отклонено".to_owned()),
        _ => None,
    };
    json!({
        "service_request_id": c.number,
        "status": if closed { "closed" } else { "open" },
        "status_notes": notes,
        "service_name": name,
        "service_code": code,
        "description": mask(&c.text),
        "agency_responsible": c.department_id.and_then(|d| directory.department(d)).map(|d| d.name.clone()),
        "service_notice": null,
        "requested_datetime": time(c.received_at),
        "updated_datetime": time(c.updated_at),
        "expected_datetime": time(c.resolution_due_at),
        "address": c.address.as_deref().map(mask),
        "address_id": null,
        "zipcode": null,
        "lat": c.lat,
        "long": c.lon,
        "media_url": null,
    })
}

fn date_param(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{key} must be an ISO 8601 time with zone")),
    }
}

/// GET requests.json with `service_request_id` (comma list), `service_code`, `start_date`,
/// `end_date` (at most 90 days apart; default the last 90 days), `status` (open|closed),
/// `jurisdiction_id`; at most 1,000 records, newest first.
pub async fn list_requests(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let directory = match state.directory.snapshot().await {
        Ok(d) => d,
        Err(e) => return internal(e),
    };
    let (start, end) = match (date_param(&q, "start_date"), date_param(&q, "end_date")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(r), _) | (_, Err(r)) => return error(StatusCode::BAD_REQUEST, r),
    };
    let window = Duration::days(MAX_WINDOW_DAYS);
    let now = Utc::now();
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + window),
        (None, Some(e)) => (e - window, e),
        (None, None) => (now - window, now),
    };
    if end < start || end - start > window {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "start_date and end_date must be at most {MAX_WINDOW_DAYS} days apart, in order"
            ),
        );
    }
    let mut filter = ComplaintFilter {
        received_from: Some(start),
        received_to: Some(end),
        ..Default::default()
    };
    if let Some(ids) = q.get("service_request_id").filter(|v| !v.is_empty()) {
        filter.numbers = Some(ids.split(',').map(|s| s.trim().to_owned()).collect());
        // Ids name their requests whatever their dates.
        (filter.received_from, filter.received_to) = (None, None);
    }
    if let Some(code) = q.get("service_code").filter(|v| !v.is_empty()) {
        match service_of(code) {
            Some((_, c, ..)) => filter.category = Some(*c),
            None => {
                return error(StatusCode::BAD_REQUEST, format!("unknown service_code {code:?}"));
            }
        }
    }
    match q.get("status").map(String::as_str) {
        None | Some("") => {}
        Some("open") => {
            filter.status = Some(
                crate::domain::lifecycle::ALL
                    .into_iter()
                    .filter(|s| crate::domain::lifecycle::is_open(*s))
                    .collect(),
            )
        }
        Some("closed") => {
            filter.status = Some(vec![ComplaintStatus::Resolved, ComplaintStatus::Rejected])
        }
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("status must be open or closed, not {other:?}"),
            );
        }
    }
    if let Some(j) = q.get("jurisdiction_id").filter(|v| !v.is_empty()) {
        match jurisdiction(&directory, j) {
            Some(m) => filter.municipality_id = Some(m),
            None => {
                return error(StatusCode::BAD_REQUEST, format!("unknown jurisdiction_id {j:?}"));
            }
        }
    }
    match public_requests(&state, &directory, &filter, MAX_RECORDS, now).await {
        Ok(requests) => Json(Value::Array(requests)).into_response(),
        Err(crate::Error::BadUserInput(msg)) => error(StatusCode::BAD_REQUEST, msg),
        Err(e) => internal(e),
    }
}

/// Up to `limit` public complaints matching `filter`, newest first, as GeoReport requests.
async fn public_requests(
    state: &AppState,
    directory: &Snapshot,
    filter: &ComplaintFilter,
    limit: u64,
    now: DateTime<Utc>,
) -> crate::Result<Vec<Value>> {
    let page = PageRequest { limit, backward: false, cursor: None };
    let order = Order::default();
    let shape = Shape::default();
    // GeoReport reads act as the public, whoever calls.
    let listed = store::complaints::list(
        state.db.read(),
        Scoped::of(&Principal::public()),
        filter,
        order,
        page,
        now,
        shape,
    )
    .await?;
    let ids: Vec<i64> = listed.rows.iter().map(|l| l.complaint.id).collect();
    let answers = store::history::responses(
        state.db.read(),
        Scoped::of(&Principal::public()),
        &ids,
        NoteScope::PublicOnly,
    )
    .await?;
    Ok(listed
        .rows
        .iter()
        .map(|l| {
            let latest = answers.get(&l.complaint.id).and_then(|r| r.last());
            request_json(&l.complaint, latest.map(|r| r.text.as_str()), directory)
        })
        .collect())
}

/// GET requests/{id}.json: one request, as a one-element array.
pub async fn get_request(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let number = file.strip_suffix(".json").unwrap_or(&file).to_owned();
    let directory = match state.directory.snapshot().await {
        Ok(d) => d,
        Err(e) => return internal(e),
    };
    let filter = ComplaintFilter { numbers: Some(vec![number.clone()]), ..Default::default() };
    match public_requests(&state, &directory, &filter, 1, Utc::now()).await {
        Ok(found) if !found.is_empty() => Json(Value::Array(found)).into_response(),
        Ok(_) => error(StatusCode::NOT_FOUND, format!("no service request {number}")),
        Err(e) => internal(e),
    }
}
