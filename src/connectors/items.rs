//! A source's items as submissions to the ingest, each on its own: an item with a missing or
//! mistyped field, or a time from the future, is that item's rejection with the reason, and
//! the rest of the page goes on.
use super::config::{FieldMap, Open311, parse_category};
use crate::service::ingest::{Author, Submission};
use chrono::{DateTime, Duration, Utc};
use entity::Source;
use serde_json::Value;
use std::collections::HashMap;

/// How far ahead of our clock a source's time may be (its clock may run a little fast); a
/// time further ahead is refused, not moved.
const CLOCK_SKEW: Duration = Duration::minutes(10);

/// Municipalities by lowercase id and names ([`crate::service::import::municipality_names`]),
/// to read a source's municipality field.
pub type Towns = HashMap<String, i32>;

/// One item read: its submission, or why it cannot be one.
pub type Item = Result<Submission, String>;

/// The items of an Open311 `requests.json` answer.
pub fn open311_items(
    answer: &Value,
    source: Source,
    cfg: &Open311,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, String> {
    let list = answer.as_array().ok_or("requests.json is not a list of requests")?;
    Ok(list.iter().map(|r| open311_item(r, source, cfg, now)).collect())
}

fn open311_item(r: &Value, source: Source, cfg: &Open311, now: DateTime<Utc>) -> Item {
    let external_id =
        id_text(r.get("service_request_id")).ok_or("service_request_id is missing")?;
    let text = text_of(r.get("description")).ok_or("description is missing or empty")?;
    let received_at = match r.get("requested_datetime") {
        None | Some(Value::Null) => None,
        Some(t) => Some(time_of(t, now).map_err(|e| format!("requested_datetime: {e}"))?),
    };
    let municipality_id = match r.get("jurisdiction_id").and_then(|j| id_text(Some(j))) {
        Some(j) => *cfg
            .jurisdictions
            .get(&j)
            .ok_or_else(|| format!("jurisdiction_id {j:?} is not mapped"))?,
        None => cfg
            .municipality_id
            .ok_or("no jurisdiction_id, and the connector names no municipality_id")?,
    };
    let category = r
        .get("service_code")
        .and_then(|c| id_text(Some(c)))
        .and_then(|code| cfg.service_codes.get(&code).copied().or_else(|| parse_category(&code)));
    let number = |key: &str| r.get(key).and_then(Value::as_f64);
    Ok(Submission {
        source,
        external_id,
        text,
        municipality_id,
        category,
        received_at,
        author: Author::default(),
        address: text_of(r.get("address")),
        lat: number("lat"),
        lon: number("long"),
    })
}

/// The items of a JSON feed's answer, by its field map.
pub fn feed_items(
    answer: &Value,
    list: &str,
    fields: &FieldMap,
    municipality_id: Option<i32>,
    source: Source,
    towns: &Towns,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, String> {
    let items = answer
        .pointer(list)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no list at {list:?}"))?;
    Ok(items
        .iter()
        .map(|item| feed_item(item, fields, municipality_id, source, towns, now))
        .collect())
}

fn feed_item(
    item: &Value,
    f: &FieldMap,
    municipality_id: Option<i32>,
    source: Source,
    towns: &Towns,
    now: DateTime<Utc>,
) -> Item {
    let at =
        |p: &Option<String>| p.as_deref().and_then(|p| item.pointer(p)).filter(|v| !v.is_null());
    let external_id =
        id_text(item.pointer(&f.id)).ok_or_else(|| format!("{} is missing or not an id", f.id))?;
    let text = text_of(item.pointer(&f.text))
        .ok_or_else(|| format!("{} is missing or not text", f.text))?;
    let received_at = match at(&f.time) {
        None => None,
        Some(t) => Some(
            time_of(t, now)
                .map_err(|e| format!("{}: {e}", f.time.as_deref().unwrap_or_default()))?,
        ),
    };
    let municipality_id = match at(&f.municipality) {
        Some(m) => town_of(m, towns).ok_or_else(|| format!("unknown municipality {m}"))?,
        None => municipality_id.ok_or("no municipality")?,
    };
    let category = at(&f.category).and_then(Value::as_str).and_then(parse_category);
    let author = Author { name: at(&f.author).and_then(|v| text_of(Some(v))), ..Author::default() };
    Ok(Submission {
        source,
        external_id,
        text,
        municipality_id,
        category,
        received_at,
        author,
        address: None,
        lat: None,
        lon: None,
    })
}

/// A string or an integer as an id.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A non-empty string.
fn text_of(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// RFC 3339 text or Unix seconds, at most `CLOCK_SKEW` ahead of `now`.
fn time_of(v: &Value, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("{s:?} is not an RFC 3339 time"))?,
        Value::Number(n) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| format!("{n} is not a Unix time"))?,
        other => return Err(format!("{other} is not a time")),
    };
    if t > now + CLOCK_SKEW {
        return Err(format!(
            "{} is in the future (our clock: {})",
            t.to_rfc3339(),
            now.to_rfc3339()
        ));
    }
    Ok(t)
}

/// A municipality by our id (number or numeric text) or by name.
fn town_of(v: &Value, towns: &Towns) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|id| i32::try_from(id).ok()),
        Value::String(s) => {
            s.trim().parse().ok().or_else(|| towns.get(&s.trim().to_lowercase()).copied())
        }
        _ => None,
    }
    .filter(|id| towns.is_empty() || towns.values().any(|t| t == id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::config::{Connectors, Kind};
    use entity::Category;
    use serde_json::json;

    fn open311() -> Open311 {
        let text = r#"[[connector]]
name = "o"
kind = "open311"
url = "http://h/v2"
municipality_id = 3
service_codes = { "001" = "ROADS" }
jurisdictions = { "surgut" = 1 }"#;
        let Kind::Open311(o) = Connectors::parse(text).unwrap().0.remove(0).kind else { panic!() };
        o
    }

    #[test]
    fn open311_requests_map_item_by_item() {
        let now = Utc::now();
        let answer = json!([
            { "service_request_id": "A-1", "description": "Яма на дороге", "service_code": "001",
              "requested_datetime": "2026-11-30T10:00:00+05:00", "lat": 61.25, "long": 73.4 },
            { "service_request_id": 17, "description": "Нет света", "service_code": "housing_utilities",
              "jurisdiction_id": "surgut" },
            { "service_request_id": "A-3", "description": "Шум", "service_code": "zz" },
            { "description": "без номера" },
            { "service_request_id": "A-5", "description": "  " },
            { "service_request_id": "A-6", "description": "x", "jurisdiction_id": "mars" },
            { "service_request_id": "A-7", "description": "x", "requested_datetime": "вчера" },
            { "service_request_id": "A-8", "description": "x", "requested_datetime": (now + Duration::hours(2)).to_rfc3339() },
        ]);
        let items = open311_items(&answer, Source::Open311, &open311(), now).unwrap();
        let a = items[0].as_ref().unwrap();
        assert_eq!(
            (a.external_id.as_str(), a.municipality_id, a.category),
            ("A-1", 3, Some(Category::Roads))
        );
        assert_eq!(a.received_at.unwrap().to_rfc3339(), "2026-11-30T05:00:00+00:00");
        assert_eq!((a.lat, a.lon), (Some(61.25), Some(73.4)));
        let b = items[1].as_ref().unwrap();
        assert_eq!(
            (b.external_id.as_str(), b.municipality_id, b.category),
            ("17", 1, Some(Category::HousingUtilities))
        );
        assert_eq!(
            items[2].as_ref().unwrap().category,
            None,
            "an unknown code: classified from the text"
        );
        let reasons: Vec<&str> =
            items[3..].iter().map(|i| i.as_ref().unwrap_err().as_str()).collect();
        assert!(reasons[0].contains("service_request_id"), "{reasons:?}");
        assert!(reasons[1].contains("description"));
        assert!(reasons[2].contains("\"mars\" is not mapped"));
        assert!(reasons[3].contains("not an RFC 3339 time"));
        assert!(reasons[4].contains("in the future"));
        assert!(open311_items(&json!({"error": 1}), Source::Open311, &open311(), now).is_err());
    }

    #[test]
    fn feed_items_follow_the_field_map() {
        let fields = FieldMap {
            id: "/id".into(),
            text: "/body/text".into(),
            time: Some("/ts".into()),
            municipality: Some("/town".into()),
            category: Some("/topic".into()),
            author: Some("/from/name".into()),
        };
        let towns: Towns = [("сургут".to_owned(), 1), ("нефтеюганск".to_owned(), 2)].into();
        let now = Utc::now();
        let answer = json!({ "data": { "items": [
            { "id": 5, "body": { "text": "Не убран снег" }, "ts": 1_764_000_000, "town": "Сургут",
              "topic": "roads", "from": { "name": "Иван" } },
            { "id": "x-2", "body": { "text": "Грязь" }, "town": 2 },
            { "id": "x-3", "body": { "text": 42 }, "town": 2 },
            { "id": "x-4", "body": { "text": "Шум" }, "town": "Москва" },
            { "id": [1], "body": { "text": "Шум" }, "town": 2 },
        ] } });
        let items =
            feed_items(&answer, "/data/items", &fields, None, Source::Vk, &towns, now).unwrap();
        let a = items[0].as_ref().unwrap();
        assert_eq!(
            (a.external_id.as_str(), a.municipality_id, a.category),
            ("5", 1, Some(Category::Roads))
        );
        assert_eq!(a.author.name.as_deref(), Some("Иван"));
        assert_eq!(a.received_at.unwrap().timestamp(), 1_764_000_000);
        assert_eq!(items[1].as_ref().unwrap().municipality_id, 2);
        assert!(items[2].as_ref().unwrap_err().contains("/body/text"));
        assert!(items[3].as_ref().unwrap_err().contains("unknown municipality"));
        assert!(items[4].as_ref().unwrap_err().contains("/id"));
        assert!(feed_items(&answer, "/nope", &fields, None, Source::Vk, &towns, now).is_err());
    }
}
